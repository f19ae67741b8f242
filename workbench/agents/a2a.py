"""Runs one turn of a remote sub-agent over the Agent-to-Agent protocol (`protocol: a2a`),
as Rasa Pro 3.21's A2A client does, with the official `a2a-sdk` (1.x, imported lazily:
without it the turn is a fatal error that says how to install it).

`configuration.agent_card` is the agent card's URL (fetched with the SDK's card resolver)
or a JSON file (relative to the project folder). The user's turn is sent as one message
whose context id is the conversation's sender id: the whole transcript while no task is
open (or when the agent is resumed after an interruption, since the remote side may
have forgotten it), else only the latest user message, plus a data part
`{"slots": {name: value}}` with the slots that have a value. While the remote task waits
for input its id is kept per (sender, agent), so the next turn continues that task.

The task's final state (streamed or returned whole; polled while it is still submitted
or working) becomes the outcome:

- completed -> COMPLETED: the message is the status message's text, then the text of
  the artifacts (each text once);
- input-required, or a plain message instead of a task -> INPUT_REQUIRED: the status
  message's text is the agent's question;
- failed, rejected, canceled, auth-required (and an empty answer, or the server's
  JSON-RPC internal error): Rasa counts these as recoverable and sends the turn again,
  up to `configuration.max_retries` times (default 5, waiting 1, 2, 4, 5 s between
  tries), then ends it with a fatal error; so does this (FATAL_ERROR, the reason names
  the state and the agent's own words). A remote `canceled` is not Rasa's CANCELLED:
  that status only comes from cancelling the turn on Rasa's side.

A task still submitted or working when the answer ends is asked about again
(`configuration.max_polling_time`, default 60 s, first after `polling_initial_delay`,
0.5 s). Data parts set no slots: Rasa's A2A client never turns them into slots, it keeps
them as the turn's structured results; here they are in each exchange's
`AgentStep.result` (`data`), for the Agent panel. The other errors (the server cannot be
reached, the card is bad, no answer within `configuration.timeout`, default 30 s, any
other JSON-RPC error) end the turn at once with a fatal error that says which.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workbench.calm.external import (
    COMPLETED,
    FATAL_ERROR,
    INPUT_REQUIRED,
    RECOVERABLE_ERROR,
    AgentInput,
    AgentOutcome,
    AgentStep,
)
from workbench.calm.values import JSONObject, JSONValue
from workbench.project.model import SubAgent

if TYPE_CHECKING:
    import httpx
    from a2a.client import Client
    from a2a.types import AgentCard, Message, Part, StreamResponse, Task

INSTALL = "pip install 'calm-workbench[agents]'"
# Rasa's AGENT_DEFAULT_TIMEOUT_SECONDS, AGENT_DEFAULT_MAX_RETRIES, MAX_AGENT_RETRY_DELAY_SECONDS
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 5
MAX_RETRY_DELAY_S = 5.0
# Rasa's A2A_TASK_POLLING_MAX_WAIT and A2A_TASK_POLLING_INITIAL_DELAY
POLL_FOR_S = 60.0
POLL_DELAY_S = 0.5
OUTPUT_MODES = ["text", "text/plain", "application/json"]

# the remote task each (sender id, agent name) is answering while it waits for input
_open_tasks: dict[tuple[str, str], str] = {}

# task states as the A2A wire spells them
_SETTLED = {"completed", "input-required", "failed", "rejected", "canceled", "auth-required"}
_STILL_RUNNING = {"submitted", "working"}


class _Unreachable(Exception):
    """The turn cannot be had: the reason is the whole story (no retry)."""


@dataclass
class _Reply:
    """What one message exchange came to."""

    status: str
    text: str = ""
    error: str | None = None
    state: str = ""
    task_id: str = ""
    data: list[JSONValue] = field(default_factory=list)


async def run_a2a_agent(
    agent: SubAgent, given: AgentInput, root: Path | None = None
) -> AgentOutcome:
    """One turn of the remote agent: never raises, every failure is an outcome."""
    started = time.perf_counter()
    key = (given.sender_id, agent.name)
    if given.restarted:
        _open_tasks.pop(key, None)
    timeout = _number(agent.configuration.get("timeout"), DEFAULT_TIMEOUT_S)
    tries = max(1, int(_number(agent.configuration.get("max_retries"), DEFAULT_MAX_RETRIES)))
    steps: list[AgentStep] = []
    try:
        import a2a.client  # noqa: F401  (optional: missing, the turn says how to install it)
        import httpx
    except ImportError:
        return _outcome(
            FATAL_ERROR, started, steps, error=f"{_who(agent)}: needs the A2A SDK ({INSTALL})"
        )
    async with httpx.AsyncClient(timeout=timeout) as http:
        try:
            card = await _agent_card(agent, root, http, timeout)
            url = _message_url(card)
            client = await _client(card, http)
        except _Unreachable as error:
            steps.append(AgentStep(kind="a2a", name=agent.name, error=str(error)))
            return _outcome(FATAL_ERROR, started, steps, error=f"{_who(agent)}: {error}")
        reply = _Reply(RECOVERABLE_ERROR)
        for attempt in range(tries):
            if attempt:
                await asyncio.sleep(min(2 ** (attempt - 1), MAX_RETRY_DELAY_S))
            reply = await _exchange(client, agent, given, url, timeout, steps)
            if reply.status != RECOVERABLE_ERROR:
                break
    if reply.status == INPUT_REQUIRED and reply.task_id:
        _open_tasks[key] = reply.task_id
    else:
        _open_tasks.pop(key, None)
    if reply.status in (FATAL_ERROR, RECOVERABLE_ERROR):
        again = f" (tried {tries} times)" if reply.status == RECOVERABLE_ERROR and tries > 1 else ""
        reason = f"{_who(agent)}: {reply.error}{again}"
        return _outcome(FATAL_ERROR, started, steps, error=reason, text=reply.text)
    return _outcome(reply.status, started, steps, text=reply.text)


# --- the agent card --------------------------------------------------------------------------


async def _agent_card(
    agent: SubAgent, root: Path | None, http: httpx.AsyncClient, timeout: float
) -> AgentCard:
    where = agent.configuration.get("agent_card")
    if not isinstance(where, str) or not where.strip():
        raise _Unreachable(
            f"no `configuration.agent_card` (its URL or JSON file) in "
            f"sub_agents/{agent.folder or agent.name}/config.yml"
        )
    where = where.strip()
    if urlsplit(where).scheme in ("http", "https"):
        return await _fetched_card(where, http, timeout)
    return _card_file(Path(where) if root is None else root / where)


async def _fetched_card(url: str, http: httpx.AsyncClient, timeout: float) -> AgentCard:
    from a2a.client import A2ACardResolver, A2AClientError

    parts = urlsplit(url)
    resolver = A2ACardResolver(
        http, base_url=f"{parts.scheme}://{parts.netloc}", agent_card_path=parts.path
    )
    try:
        return await resolver.get_agent_card()
    except A2AClientError as error:
        status = getattr(error, "status_code", None)
        if status is not None:
            raise _Unreachable(f"cannot fetch the agent card {url} (HTTP {status})") from error
        cause = _network_cause(error, timeout)
        if cause is not None:
            raise _Unreachable(f"cannot reach {url} ({cause})") from error
        raise _Unreachable(f"the agent card {url} is not valid: {error}") from error


def _card_file(path: Path) -> AgentCard:
    from a2a.client.card_resolver import parse_agent_card
    from google.protobuf.json_format import ParseError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise _Unreachable(f"agent card file not found: {path}") from error
    except OSError as error:
        raise _Unreachable(f"cannot read the agent card file {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise _Unreachable(f"the agent card file {path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise _Unreachable(f"the agent card file {path} holds no JSON object")
    try:
        return parse_agent_card(data)
    except (ParseError, ValueError, TypeError) as error:
        raise _Unreachable(f"the agent card file {path} is not an agent card: {error}") from error


async def _client(card: AgentCard, http: httpx.AsyncClient) -> Client:
    from a2a.client import ClientConfig, create_client

    config = ClientConfig(streaming=True, httpx_client=http, accepted_output_modes=OUTPUT_MODES)
    try:
        return await create_client(card, client_config=config)
    except ValueError as error:  # no transport both sides speak
        raise _Unreachable(f"cannot talk to the agent its card describes: {error}") from error


def _message_url(card: AgentCard) -> str:
    """Where messages go: the card's JSON-RPC interface, else its first one."""
    urls = [(i.protocol_binding, i.url) for i in card.supported_interfaces if i.url]
    for binding, url in urls:
        if binding == "JSONRPC":
            return str(url)
    if not urls:
        raise _Unreachable("the agent card names no URL to send messages to")
    return str(urls[0][1])


# --- one message, one reply ------------------------------------------------------------------


async def _exchange(
    client: Client,
    agent: SubAgent,
    given: AgentInput,
    url: str,
    timeout: float,
    steps: list[AgentStep],
) -> _Reply:
    from a2a.client import A2AClientError, A2AClientTimeoutError
    from a2a.types import Message, Role, SendMessageRequest
    from a2a.utils.errors import A2AError, InternalError, InvalidAgentResponseError

    started = time.perf_counter()
    task_id = _open_tasks.get((given.sender_id, agent.name), "")
    whole = not task_id or given.resumed
    text = (given.conversation if whole else "") or given.user_message
    parts = [_text_part(text)]
    slots: JSONObject = {s.name: s.value for s in given.slots if s.value is not None}
    if given.slots:
        parts.append(_data_part({"slots": slots}))
    message = Message(
        role=Role.ROLE_USER,
        parts=parts,
        message_id=uuid.uuid4().hex,
        context_id=given.sender_id,
        task_id=task_id,
    )
    try:
        reply = await _consume(client.send_message(SendMessageRequest(message=message)))
        reply = await _settle(client, reply, _polling(agent))
    except A2AClientTimeoutError:
        reply = _Reply(FATAL_ERROR, error=f"no answer from {url} within {timeout:g} s (timeout)")
    except A2AClientError as error:
        cause = _network_cause(error, timeout)
        reason = (
            f"cannot reach {url} ({cause})" if cause else f"sending the message failed: {error}"
        )
        reply = _Reply(FATAL_ERROR, error=reason)
    except (InternalError, InvalidAgentResponseError) as error:
        reply = _Reply(RECOVERABLE_ERROR, error=f"the agent answered with an error: {error}")
    except A2AError as error:
        reply = _Reply(FATAL_ERROR, error=f"the agent answered with an error: {error}")
    except (ValueError, TypeError) as error:  # an answer the SDK could not read
        reply = _Reply(FATAL_ERROR, error=f"the agent's answer could not be read: {error}")
    sent: JSONObject = {"url": url, "context_id": given.sender_id, "text": text}
    if task_id:
        sent["task_id"] = task_id
    if given.slots:
        sent["slots"] = slots
    result: JSONObject = {"state": reply.state} if reply.state else {}
    if reply.task_id:
        result["task_id"] = reply.task_id
    if reply.data:
        result["data"] = list(reply.data)
    latency = (time.perf_counter() - started) * 1000
    steps.append(
        AgentStep(
            kind="a2a",
            name=agent.name,
            arguments=sent,
            result=result or None,
            error=reply.error,
            text=reply.text or None,
            latency_ms=latency,
        )
    )
    return reply


async def _consume(stream: AsyncIterator[StreamResponse]) -> _Reply:
    """Fold the stream (one item when the agent cannot stream) into a reply; a task
    still running when the stream ends is returned as such, for polling."""
    from a2a.types import Task

    task = Task()
    async with aclosing(stream):  # type: ignore[type-var]
        async for event in stream:
            if event.HasField("message"):
                return _message_reply(event.message)
            if event.HasField("task"):
                task.CopyFrom(event.task)
            elif event.HasField("status_update"):
                update = event.status_update
                task.id = update.task_id or task.id
                task.status.CopyFrom(update.status)
            elif event.HasField("artifact_update"):
                _add_artifact(task, event)
            if _state(task) in _SETTLED:
                break
    return _task_reply(task)


async def _settle(client: Client, reply: _Reply, polling: tuple[float, float]) -> _Reply:
    """Ask again about a task that is still submitted or working, as Rasa does: for up
    to `polling[0]` seconds, first after `polling[1]`, then twice as long each time."""
    from a2a.types import GetTaskRequest

    deadline = time.monotonic() + polling[0]
    delay = polling[1]
    while reply.state in _STILL_RUNNING:
        if not reply.task_id:
            return _Reply(FATAL_ERROR, error="the agent's task has no id to ask about")
        if time.monotonic() + delay > deadline:
            return _Reply(
                FATAL_ERROR,
                error=f"the task was still {reply.state} after {polling[0]:g} s (polling timeout)",
                state=reply.state,
                task_id=reply.task_id,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY_S)
        reply = _task_reply(await client.get_task(GetTaskRequest(id=reply.task_id)))
    return reply


def _add_artifact(task: Task, event: StreamResponse) -> None:
    update = event.artifact_update
    artifact = update.artifact
    for stored in task.artifacts:
        if stored.artifact_id == artifact.artifact_id:
            if update.append:
                stored.parts.extend(artifact.parts)
            else:
                stored.CopyFrom(artifact)
            return
    task.artifacts.append(artifact)


def _message_reply(message: Message) -> _Reply:
    text, data = _read_parts(message.parts)
    return _Reply(INPUT_REQUIRED, text=text, data=data, task_id=message.task_id)


def _task_reply(task: Task) -> _Reply:
    state = _state(task)
    status_text, data = _read_parts(task.status.message.parts)
    if state == "input-required":
        return _Reply(INPUT_REQUIRED, status_text, state=state, task_id=task.id, data=data)
    if state == "completed":
        texts = [status_text] if status_text else []
        for artifact in task.artifacts:
            text, artifact_data = _read_parts(artifact.parts)
            data.extend(artifact_data)
            if text and text not in texts:
                texts.append(text)
        return _Reply(COMPLETED, "\n".join(texts), state=state, task_id=task.id, data=data)
    if state in _STILL_RUNNING:
        return _Reply(RECOVERABLE_ERROR, state=state, task_id=task.id, data=data)
    if state in _SETTLED:
        said = f": {status_text}" if status_text else ""
        reason = f"the task ended {state}{said}"
        return _Reply(RECOVERABLE_ERROR, error=reason, state=state, task_id=task.id, data=data)
    if not task.id:  # Rasa tries again when nothing came back
        return _Reply(RECOVERABLE_ERROR, error="the agent sent nothing back")
    reason = f"unexpected task state '{state}'"
    return _Reply(FATAL_ERROR, error=reason, state=state, task_id=task.id, data=data)


def _state(task: Task) -> str:
    """The task's state as the A2A wire spells it: `input-required`, `canceled`, ..."""
    from a2a.types import TaskState

    name = str(TaskState.Name(task.status.state))
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _read_parts(parts: list[Part]) -> tuple[str, list[JSONValue]]:
    """The text the user is shown (a file is named by its URL) and the data parts."""
    from google.protobuf.json_format import MessageToDict

    lines: list[str] = []
    data: list[JSONValue] = []
    for part in parts:
        if part.HasField("text"):
            if part.text.strip():
                lines.append(part.text.strip())
        elif part.HasField("data"):
            data.append(MessageToDict(part.data))
        elif part.HasField("url"):
            lines.append(f"File: {part.url}")
    return "\n".join(lines), data


def _text_part(text: str) -> Part:
    from a2a.types import Part

    return Part(text=text)


def _data_part(data: JSONObject) -> Part:
    from a2a.types import Part
    from google.protobuf import struct_pb2
    from google.protobuf.json_format import ParseDict

    return Part(data=ParseDict(data, struct_pb2.Value()))


# --- helpers ---------------------------------------------------------------------------------


def _network_cause(error: BaseException, timeout: float) -> str | None:
    """Why the connection failed, in a few words, or None when it did not."""
    import httpx

    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    # the innermost error says most ("All connection attempts failed" wraps the refusal)
    for cause in reversed(chain):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, (httpx.TimeoutException, TimeoutError)):
            return f"timed out after {timeout:g} s"
    connect = next((c for c in chain if isinstance(c, httpx.ConnectError)), None)
    if connect is not None:
        return f"cannot connect: {connect}" if str(connect) else "cannot connect"
    return None


def _polling(agent: SubAgent) -> tuple[float, float]:
    """How long to ask about a running task, and how soon first (Rasa's settings)."""
    settings = agent.configuration
    return (
        _number(settings.get("max_polling_time"), POLL_FOR_S),
        _number(settings.get("polling_initial_delay"), POLL_DELAY_S),
    )


def _who(agent: SubAgent) -> str:
    return f"A2A agent '{agent.name}'"


def _number(value: JSONValue, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def _outcome(
    status: str, started: float, steps: list[AgentStep], error: str | None = None, text: str = ""
) -> AgentOutcome:
    return AgentOutcome(
        status,
        message=text or None,
        error=error,
        steps=tuple(steps),
        duration_ms=(time.perf_counter() - started) * 1000,
    )
