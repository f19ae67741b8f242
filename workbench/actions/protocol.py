"""What a custom action runner promises the session: run an action, return its result.

The session depends on this protocol, the runners (in-process, action server, stubs)
implement it; keeping it here means `actions/` never imports the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from workbench.calm.values import JSONObject
from workbench.engine.tracker import Tracker
from workbench.project.model import Project

# how long one custom action call may take, in-process or on an action server (Rasa
# waits 300 s; a workbench user waiting at a prompt wants to hear sooner)
ACTION_TIMEOUT = 30.0


@dataclass
class ActionResult:
    """What a custom action did: Rasa event dicts and dispatcher messages."""

    events: list[JSONObject] = field(default_factory=list)
    messages: list[JSONObject] = field(default_factory=list)
    kind: str = "python"
    error: str | None = None
    traceback: str | None = None
    log_lines: list[str] = field(default_factory=list)  # the action server's output


class CustomActionRunner(Protocol):
    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult: ...


class ProjectActions(CustomActionRunner, Protocol):
    """The runner a project's endpoints choose (in-process, a server, none): what the
    headers show about it, and the server it may have started to stop."""

    @property
    def label(self) -> str: ...

    @property
    def problems(self) -> list[str]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
