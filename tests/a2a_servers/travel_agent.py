"""A real A2A server, built with the a2a-sdk server classes, for the A2A sub-agent tests.

The agent books flights. A first message opens a task and asks where to fly
(input-required), greeting the passenger named in the `slots` data part it is sent; the
answer on the same task completes it with a text reply, a data part and a ticket artifact.
A message that mentions "fail" fails its task; one that mentions "cancel" is cancelled;
one that mentions "later" is answered after the request has returned (working); one
that mentions "stall" is answered after a second.

Two cards describe the same JSON-RPC endpoint: the well-known one can stream, the one
under /plain/ cannot (so the client sends `message/send` and gets the task back whole).

Run on its own: `python tests/a2a_servers/travel_agent.py PORT`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Message,
    Part,
    Task,
    TaskState,
    TaskStatus,
)
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict, ParseDict
from starlette.applications import Starlette

PLAIN_CARD_PATH = "/plain/agent-card.json"


def _data_part(data: dict[str, object]) -> Part:
    return Part(data=ParseDict(data, struct_pb2.Value()))


def _slots(message: Message | None) -> dict[str, object]:
    for part in message.parts if message is not None else ():
        if part.HasField("data"):
            data = MessageToDict(part.data)
            if isinstance(data, dict) and isinstance(data.get("slots"), dict):
                return data["slots"]
    return {}


class TravelAgent(AgentExecutor):
    """Asks for the destination, then books it."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()

    @staticmethod
    async def _answer_later(updater: TaskUpdater) -> None:
        await asyncio.sleep(0.3)
        await updater.complete(updater.new_agent_message([Part(text="All flights are full.")]))

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input().strip()
        task = context.current_task
        if task is None:
            task = Task(
                id=context.task_id,
                context_id=context.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[context.message] if context.message is not None else [],
            )
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        if "fail" in text.lower():
            reason = Part(text="the booking system is down")
            await updater.failed(updater.new_agent_message([reason]))
            return
        if "cancel" in text.lower():
            await updater.cancel(updater.new_agent_message([Part(text="Booking withdrawn.")]))
            return
        if "stall" in text.lower():
            await updater.start_work(updater.new_agent_message([Part(text="Thinking…")]))
            await asyncio.sleep(1.0)
            await updater.complete(updater.new_agent_message([Part(text="Too late.")]))
            return
        if "later" in text.lower():
            # the answer comes after `execute` has returned: the client must ask again
            await updater.start_work(updater.new_agent_message([Part(text="Checking…")]))
            self._pending.add(asyncio.create_task(self._answer_later(updater)))
            return
        if task.status.state == TaskState.TASK_STATE_SUBMITTED:
            name = _slots(context.message).get("passenger_name", "traveller")
            question = Part(text=f"Where would you like to fly, {name}?")
            await updater.requires_input(updater.new_agent_message([question]))
            return
        await updater.start_work(updater.new_agent_message([Part(text="Looking for seats…")]))
        await updater.add_artifact([Part(text="Ticket TK-42")], name="ticket")
        booking = {"booking": {"destination": text, "context": task.context_id}}
        answer = [Part(text=f"Your flight to {text} is booked."), _data_part(booking)]
        await updater.complete(updater.new_agent_message(answer))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def agent_card(base_url: str, streaming: bool) -> AgentCard:
    return AgentCard(
        name="travel_agent",
        description="Books flights",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=f"{base_url}/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text"],
        default_output_modes=["text"],
        skills=[
            AgentSkill(
                id="book", name="Book a flight", description="Books flights", tags=["travel"]
            )
        ],
    )


def build_app(base_url: str) -> Starlette:
    card = agent_card(base_url, streaming=True)
    handler = DefaultRequestHandler(
        agent_executor=TravelAgent(), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = [
        *create_agent_card_routes(card),
        *create_agent_card_routes(agent_card(base_url, streaming=False), card_url=PLAIN_CARD_PATH),
        *create_jsonrpc_routes(handler, "/"),
    ]
    return Starlette(routes=routes)


@contextmanager
def serving() -> Iterator[str]:
    """Serve the agent on a free 127.0.0.1 port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(build_app(base_url), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the A2A test server did not start")
            threading.Event().wait(0.01)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
    uvicorn.run(build_app(f"http://127.0.0.1:{port}"), host="127.0.0.1", port=port)
