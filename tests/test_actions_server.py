"""The action server client: the rasa_sdk webhook protocol against a fake server on
127.0.0.1, every failure mode with a clear message, and one real rasa_sdk server."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from workbench.actions.server import RASA_VERSION, ActionServerClient
from workbench.engine import events as ev
from workbench.engine.stack import Frame
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.understanding.base import ScriptedGenerator

FIXTURES = Path(__file__).parent / "fixtures" / "actions"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


class Reply:
    def __init__(self, status: int = 200, body: Any = None, raw: bytes | None = None, delay=0.0):
        self.status = status
        self.raw = raw if raw is not None else json.dumps(body).encode()
        self.delay = delay


class FakeActionServer:
    """Answers POSTs with queued replies (the last one repeats) and records requests."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply(body={"events": [], "responses": []})]
        self.requests: list[dict[str, Any]] = []
        self.client_ports: list[int] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(json.loads(self.rfile.read(length)))
                fake.client_ports.append(self.client_address[1])
                reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.raw)))
                    self.end_headers()
                    self.wfile.write(reply.raw)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def reply(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> FakeActionServer:
    server = FakeActionServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    return load_project(tmp_path / "shop").project


def conversation(project: Project, running: str) -> Tracker:
    tracker = Tracker(project, sender_id="bob")
    tracker.add(ev.session_started())
    tracker.add(ev.action("action_listen"))
    tracker.add(ev.user("where is A1", [{"command": "start flow", "flow": "check_order"}]))
    tracker.stack.push(Frame("F1", "flow", "check_order", "1_action_shout", "regular"))
    tracker.set_slot("order_id", "A1")
    tracker.add(ev.action(running))
    return tracker


async def call(client: ActionServerClient, project: Project, name: str = "action_shout"):
    return await client.run(name, conversation(project, name), project)


async def call_once(url: str, project: Project, timeout: float = 5.0):
    """One call with a client of its own, closed afterwards."""
    client = ActionServerClient(url, timeout=timeout)
    try:
        return await call(client, project)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the protocol ---------------------------------------------------------------------------


async def test_events_and_responses_come_back_and_the_request_is_rasas(fake, shop):
    fake.reply(
        Reply(
            body={
                "events": [{"event": "slot", "name": "greeting", "value": "hi", "timestamp": None}],
                "responses": [
                    {"response": "utter_greet", "template": "utter_greet", "name": "Ada"},
                    {"text": "Pick", "buttons": [{"title": "Red", "payload": "/x"}]},
                ],
            }
        )
    )
    client = ActionServerClient(fake.url)
    result = await call(client, shop)
    await client.aclose()
    assert result.error is None
    assert result.kind == "server"
    assert result.events == [
        {"event": "slot", "name": "greeting", "value": "hi", "timestamp": None}
    ]
    assert result.messages[0] == {
        "response": "utter_greet",
        "template": "utter_greet",
        "name": "Ada",
    }
    assert result.messages[1]["buttons"] == [{"title": "Red", "payload": "/x"}]

    (request,) = fake.requests
    assert request["next_action"] == "action_shout"
    assert request["sender_id"] == "bob"
    assert request["version"] == RASA_VERSION
    assert "domain" not in request  # only after a 449
    assert len(request["domain_digest"]) == 64
    tracker = request["tracker"]
    for key in (
        "sender_id",
        "slots",
        "latest_message",
        "latest_event_time",
        "followup_action",
        "paused",
        "events",
        "latest_input_channel",
        "active_loop",
        "latest_action",
        "latest_action_name",
        "stack",
    ):
        assert key in tracker, key
    assert tracker["slots"]["order_id"] == "A1"
    assert tracker["latest_message"]["text"] == "where is A1"
    assert tracker["latest_action_name"] == "action_listen"
    assert tracker["events"][-1]["event"] == "slot"
    assert tracker["stack"][0]["flow_id"] == "check_order"


async def test_449_is_answered_once_with_the_domain(fake, shop):
    fake.reply(
        Reply(449, {"action_name": "action_shout", "error": "domain missing"}),
        Reply(body={"events": [{"event": "slot", "name": "greeting", "value": "ok"}]}),
    )
    client = ActionServerClient(fake.url)
    result = await call(client, shop)
    assert result.error is None
    assert result.events == [{"event": "slot", "name": "greeting", "value": "ok"}]
    first, second = fake.requests
    assert "domain" not in first
    domain = second["domain"]
    assert second["domain_digest"] == first["domain_digest"]
    assert domain["slots"]["color"]["values"] == ["red", "green"]
    assert domain["slots"]["counter"]["type"] == "float"
    assert domain["responses"]["utter_greet"] == [{"text": "Hello {name}!"}]
    assert "action_shout" in domain["actions"]
    assert domain["session_config"]["session_expiration_time"] == 60
    assert {"intents", "entities"} <= set(domain)
    # the connection is kept alive and reused
    await call(client, shop)
    await client.aclose()
    assert len(set(fake.client_ports)) == 1


async def test_a_second_449_is_an_error(fake, shop):
    fake.reply(Reply(449, {"error": "domain missing"}))
    result = await call_once(fake.url, shop)
    assert "asked for the domain again" in result.error
    assert len(fake.requests) == 2


async def test_400_is_a_rejection_not_an_error(fake, shop):
    fake.reply(Reply(400, {"action_name": "action_shout", "error": "not now"}))
    result = await call_once(fake.url, shop)
    assert result.error is None
    assert result.events == [
        {
            "event": "action_execution_rejected",
            "name": "action_shout",
            "policy": None,
            "confidence": None,
            "metadata": {"message": "not now"},
        }
    ]


async def test_404_names_the_missing_action(fake, shop):
    fake.reply(Reply(404, {"action_name": "action_shout", "error": "No registered action"}))
    result = await call_once(fake.url, shop)
    assert result.kind == "server"
    assert result.error == (
        f"action server at {fake.url} has no action 'action_shout' (HTTP 404: No registered action)"
    )


async def test_500_reports_the_servers_error(fake, shop):
    fake.reply(Reply(500, {"error": "KeyError: 'order'", "request_body": {}}))
    result = await call_once(fake.url, shop)
    assert result.error == (
        f"action server at {fake.url} failed to run 'action_shout' (HTTP 500: KeyError: 'order')"
    )
    assert "request_body" in result.traceback


async def test_garbage_json_is_an_error(fake, shop):
    fake.reply(Reply(raw=b"<html>oops</html>"))
    result = await call_once(fake.url, shop)
    assert result.error == (
        f"action server at {fake.url} returned invalid JSON for 'action_shout': <html>oops</html>"
    )


async def test_a_reply_of_the_wrong_shape_is_an_error(fake, shop):
    fake.reply(Reply(body={"events": [{"name": "greeting"}]}))
    result = await call_once(fake.url, shop)
    assert "returned an invalid reply for 'action_shout'" in result.error
    assert "'events' must be a list" in result.error


async def test_a_null_reply_means_nothing_happened(fake, shop):
    fake.reply(Reply(raw=b"null"))
    result = await call_once(fake.url, shop)
    assert (result.error, result.events, result.messages) == (None, [], [])


async def test_a_slow_server_times_out(fake, shop):
    fake.reply(Reply(body={"events": []}, delay=1.5))
    started = time.perf_counter()
    result = await call_once(fake.url, shop, timeout=0.2)
    assert time.perf_counter() - started < 1.2
    assert result.error == (
        f"action server at {fake.url} did not answer within 0.2 s (action 'action_shout')"
    )


async def test_a_server_that_is_down(shop):
    url = f"http://127.0.0.1:{free_port()}/webhook"
    result = await call_once(url, shop)
    assert result.kind == "server"
    assert result.error == f"action server at {url} is not reachable: connection refused"


async def test_only_http_urls_are_supported(shop):
    result = await call_once("grpc://127.0.0.1:5055", shop)
    assert "only http(s) is, not grpc" in result.error


async def test_values_json_cannot_hold_are_sent_as_text(fake, shop):
    tracker = conversation(shop, "action_shout")
    tracker.set_slot("report", {"placed_on": datetime.date(2025, 5, 2)})
    client = ActionServerClient(fake.url)
    result = await client.run("action_shout", tracker, shop)
    await client.aclose()
    assert result.error is None
    assert fake.requests[0]["tracker"]["slots"]["report"] == {"placed_on": "2025-05-02"}


# --- a real rasa_sdk action server ------------------------------------------------------------


@pytest.fixture
def rasa_action_server(tmp_path: Path):
    """`python -m rasa_sdk --actions actions` serving a copy of the sample project."""
    pytest.importorskip("rasa_sdk", reason="rasa_sdk is not installed (pip install rasa-sdk)")
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    port = free_port()
    log = (tmp_path / "action_server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its workers can be ended too
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the action server exited: {_log(tmp_path)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the action server did not answer /health in 60 s: {_log(tmp_path)}")
            time.sleep(0.2)
        yield load_project(root).project, f"http://127.0.0.1:{port}/webhook"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        try:
            os.killpg(process.pid, signal.SIGKILL)  # workers it may have left behind
        except (ProcessLookupError, PermissionError):
            pass
        log.close()


def _log(tmp_path: Path) -> str:
    return (tmp_path / "action_server.log").read_text(errors="replace")[-2000:]


async def test_a_real_rasa_sdk_action_server(rasa_action_server):
    project, url = rasa_action_server
    # the server really asks for the domain first (HTTP 449), as the protocol says
    bare = {
        "next_action": "action_check_order",
        "sender_id": "x",
        "tracker": {"sender_id": "x", "slots": {}, "events": []},
        "version": RASA_VERSION,
    }
    assert httpx.post(url, json=bare, timeout=10).status_code == 449

    client = ActionServerClient(url, timeout=10)
    tracker = Tracker(project, sender_id="real")
    tracker.set_slot("order_id", "a1001")
    tracker.add(ev.action("action_check_order"))
    result = await client.run("action_check_order", tracker, project)
    assert result.error is None, result.error
    slots = {e["name"]: e["value"] for e in result.events}
    assert slots["order_id"] == "A1001"
    assert slots["order_status"] == "shipped"
    assert slots["order_items"] == ["Wool scarf", "Ceramic mug"]

    tracker.set_slot("account_email", "maya@example.com")
    points = await client.run("action_check_loyalty_points", tracker, project)
    assert points.error is None, points.error
    (message,) = points.messages
    assert message["response"] == "utter_points_balance"
    assert (message["points"], message["points_value"]) == ("1,250", "$12.50")

    missing = await client.run("action_nope", tracker, project)
    assert missing.error.startswith(f"action server at {url} has no action 'action_nope' (HTTP 404")

    generator = ScriptedGenerator(
        {"where is my order A1003": "start flow check_order_status\nset slot order_id A1003"}
    )
    session = Session(project, generator, actions=client)
    trace = await session.handle("where is my order A1003")
    (run,) = [a for a in trace.actions if a.name == "action_check_order"]
    assert run.kind == "server" and run.error is None
    assert session.tracker.get_slot("order_status") == "delivered"
    await client.aclose()
