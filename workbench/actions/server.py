"""Custom actions on an action server: the rasa_sdk webhook protocol over HTTP.

One POST per action: ``{next_action, sender_id, tracker, version, domain_digest}``,
without the domain; an HTTP 449 asks for it, and the call is repeated once with
``domain``. A 400 ``{action_name, error}`` is the action declining to run (an
``action_execution_rejected`` event, not an error); anything else that is not a 200
with ``{events, responses}`` is an error with a message that says what happened.
"""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workbench.actions.domain_dict import domain_dict, domain_digest
from workbench.actions.protocol import ACTION_TIMEOUT, ActionResult
from workbench.actions.results import rejected_event, response_shape_problem
from workbench.actions.tracker_state import plain, tracker_state_json
from workbench.calm.values import JSONObject
from workbench.engine.tracker import Tracker
from workbench.project.model import Project

if TYPE_CHECKING:
    import httpx

KIND = "server"
DEFAULT_TIMEOUT = ACTION_TIMEOUT
# the Rasa Pro release whose protocol this speaks (rasa_sdk compares major.minor)
RASA_VERSION = "3.21.0"
BODY_PREVIEW = 300


class ActionServerClient:
    """A `CustomActionRunner` posting to an action server's webhook URL."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, label: str = "") -> None:
        self.url = url
        self.timeout = timeout
        self.label = label or f"actions on server {url}"
        self.problems: list[str] = []
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._domain: tuple[Project, JSONObject, str] | None = None

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        try:
            return await self._run(name, tracker, project)
        except Exception as exc:  # a bug of ours must not end the conversation
            return self._error(
                f"calling the action server at {self.url} for '{name}' failed: {exc!r}",
                traceback.format_exc(),
            )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def close(self) -> None:
        # its connections belong to an event loop that may be gone; they close with it
        self._http = None

    def http(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop (also for /health checks)."""
        return self._client()

    async def _run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        scheme = urlsplit(self.url).scheme.lower()
        if scheme not in ("http", "https"):
            return self._error(
                f"action server URL {self.url!r} is not supported: only http(s) is, not "
                f"{scheme or 'a URL without a scheme'}"
            )
        domain, digest = self._domain_for(project)
        payload: JSONObject = {
            "next_action": name,
            "sender_id": tracker.sender_id,
            "version": RASA_VERSION,
            "domain_digest": digest,
        }
        # the tracker goes in as text: its events are encoded once, not on every call
        state = tracker_state_json(tracker, running=name)
        try:
            response = await self._post(name, _body(payload, state))
            if response.status_code == 449:
                response = await self._post(name, _body({**payload, "domain": domain}, state))
        except _Unreachable as failed:
            return failed.result
        if response.status_code == 449:
            return self._error(
                f"action server at {self.url} asked for the domain again after it was sent"
                f" (action '{name}')",
                response.text,
            )
        return self._result(name, response)

    async def _post(self, name: str, body: str) -> httpx.Response:
        import httpx  # imported here: ~30 ms that in-process actions never need

        try:
            # httpx's timeout bounds each read, so a server that trickles its answer byte
            # by byte would never time out: the call as a whole gets the timeout too
            return await asyncio.wait_for(
                self._client().post(
                    self.url, content=body, headers={"Content-Type": "application/json"}
                ),
                self.timeout,
            )
        except httpx.ConnectTimeout:
            reason = f"no connection within {self.timeout:g} s"
            message = f"action server at {self.url} is not reachable: {reason}"
            raise _Unreachable(self._error(message)) from None
        except (httpx.TimeoutException, asyncio.TimeoutError):
            raise _Unreachable(
                self._error(
                    f"action server at {self.url} did not answer within {self.timeout:g} s"
                    f" (action '{name}')"
                )
            ) from None
        except httpx.ConnectError as exc:
            message = f"action server at {self.url} is not reachable: {_reason(exc)}"
            raise _Unreachable(self._error(message, traceback.format_exc())) from None
        except httpx.TransportError as exc:  # connected, but the exchange broke off
            message = f"action server at {self.url} broke off the call for '{name}': {_reason(exc)}"
            raise _Unreachable(self._error(message, traceback.format_exc())) from None

    def _result(self, name: str, response: httpx.Response) -> ActionResult:
        status = response.status_code
        text = response.text
        try:
            body = response.json() if text.strip() else None
        except ValueError:
            body = _INVALID
        if status == 400 and isinstance(body, dict):
            message = body.get("error")
            rejected = str(body.get("action_name") or name)
            return ActionResult(kind=KIND, events=[rejected_event(rejected, message)])
        if status == 404:
            detail = (body.get("error") if isinstance(body, dict) else None) or _preview(text)
            return self._error(
                f"action server at {self.url} has no action '{name}' (HTTP 404: {detail})", text
            )
        if status != 200:
            detail = body.get("error") if isinstance(body, dict) else None
            return self._error(
                f"action server at {self.url} failed to run '{name}' "
                f"(HTTP {status}: {detail or _preview(text) or response.reason_phrase})",
                text,
            )
        if body is _INVALID:
            return self._error(
                f"action server at {self.url} returned invalid JSON for '{name}': {_preview(text)}",
                text,
            )
        body = {} if body is None else body  # rasa_sdk answers `null` for no action
        problem = response_shape_problem(body)
        if problem:
            return self._error(
                f"action server at {self.url} returned an invalid reply for '{name}': {problem}",
                text,
            )
        return ActionResult(
            kind=KIND,
            events=plain(body.get("events", [])),
            messages=plain(body.get("responses", [])),
        )

    def _client(self) -> httpx.AsyncClient:
        import httpx  # imported here: ~30 ms that in-process actions never need

        # an AsyncClient's connections belong to the event loop that opened them
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            self._http = httpx.AsyncClient(
                timeout=self.timeout,
                # like Rasa (aiohttp): no HTTP(S)_PROXY, which would catch localhost calls
                trust_env=False,
            )
            self._loop = loop
        return self._http

    def _domain_for(self, project: Project) -> tuple[JSONObject, str]:
        if self._domain is None or self._domain[0] is not project:
            domain = domain_dict(project)
            self._domain = (project, domain, domain_digest(domain))
        return self._domain[1], self._domain[2]

    def _error(self, message: str, details: str | None = None) -> ActionResult:
        return ActionResult(kind=KIND, error=message, traceback=details or None)


_INVALID = object()


def _body(payload: JSONObject, tracker_json: str) -> str:
    """The request: `payload` with the tracker state (already JSON) under "tracker"."""
    # default=str: slot values may hold things JSON has no type for (dates, sets)
    head = json.dumps(payload, default=str)
    return f'{head[:-1]}, "tracker": {tracker_json}}}'


class _Unreachable(Exception):
    """The request got no HTTP answer; `result` says why."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__(result.error)
        self.result = result


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_PREVIEW else text[:BODY_PREVIEW] + "…"


def _reason(exc: BaseException) -> str:
    """The root cause in a few words: 'connection refused', 'unknown host ...'."""
    cause: BaseException | None = exc
    for _ in range(10):  # chains are short; a cyclic one must not hang us
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"unknown host ({cause.strerror or cause})"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    return text or type(exc).__name__
