"""Which runner executes a project's custom actions, as the project declares them.

`make_action_runner(project, mode=..., python=...)`; every runner it returns has a
`label` for headers, `problems` (messages for the header, e.g. a module the actions
import that their Python lacks), `run(name, tracker, project)`, `close()` and
`aclose()` (which stop a server the workbench started).

`mode="auto"` (the default), as Rasa chooses:
- ``actions_module`` (it wins over ``url``, as in Rasa): in-process; on a server with
  the project's `.venv`/`--actions-python` interpreter when that is another Python;
- ``url``: the server answering there, else one the workbench starts (and restarts on
  every save, and stops on exit) from the project's actions package;
- only an ``actions/`` package: like ``actions_module``.
`inprocess`, `server` and `off` override the choice.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from workbench.actions.managed import ManagedServerActions
from workbench.actions.package import PackageLocation, locate
from workbench.actions.process import START_TIMEOUT
from workbench.actions.protocol import ActionResult, ProjectActions
from workbench.actions.python import PythonActions
from workbench.actions.server import DEFAULT_TIMEOUT, ActionServerClient
from workbench.engine.tracker import Tracker
from workbench.project.actions_python import (
    ActionsPython,
    ActionsPythonError,
    choose_actions_python,
    current_python,
    describe,
    has_rasa_sdk,
    install_hint,
    missing_module_problems,
)
from workbench.project.model import Project

MODES = ("auto", "inprocess", "server", "off")
HEALTH_TIMEOUT = 1.0


class NoActions:
    """No custom actions run; every call is an error that says why and what to do."""

    def __init__(self, label: str, reason: str, problems: list[str] | None = None) -> None:
        self.label = label
        self.reason = reason
        self.problems = list(problems or [])

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        return ActionResult(kind="none", error=f"custom action '{name}' did not run: {self.reason}")

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def make_action_runner(
    project: Project,
    *,
    mode: str = "auto",
    python: str | Path | None = None,
    server_timeout: float = DEFAULT_TIMEOUT,
    use_rasa_sdk: bool | None = None,
    start_timeout: float = START_TIMEOUT,
    watch: bool = True,
) -> ProjectActions:
    """The runner for `project`'s custom actions (see the module doc). `python`: the
    `--actions-python` interpreter (or virtualenv folder); `server_timeout`: per call;
    `start_timeout`: for a started server to answer /health; `watch`: restart a started
    server as soon as a file is saved (else at the next call)."""
    if mode not in MODES:
        raise ValueError(f"actions mode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "off":
        return NoActions("actions off", "custom actions are off (--actions off)")
    endpoints = project.endpoints
    location = locate(project.root, endpoints.actions_module)
    try:
        chosen, notes = choose_actions_python(project.root, python)
    except ActionsPythonError as exc:
        return NoActions("actions not running (bad --actions-python)", str(exc), [str(exc)])

    def in_process(problems: list[str]) -> PythonActions:
        runner = PythonActions(use_rasa_sdk=use_rasa_sdk)
        runner.problems = notes + problems + _missing(project, chosen)
        return runner

    url = endpoints.action_endpoint_url
    if mode == "inprocess":
        problems = []
        if not chosen.is_current:
            problems.append(
                f"--actions inprocess runs the actions on the workbench's Python, not on "
                f"{describe(chosen)}"
            )
            chosen = current_python()  # the modules they lack are this Python's
        return in_process(problems)
    if mode == "auto" and (endpoints.actions_module or (not url and location)):
        if chosen.is_current:
            return in_process([])
        # another interpreter can only run them in a process of its own
        runner = _started(project, location, chosen, server_timeout, start_timeout, watch)
        runner.problems[:0] = notes
        return runner
    if mode == "auto" and not url:
        return NoActions(
            "no custom actions",
            "the project has no actions package and endpoints.yml no action_endpoint",
        )
    if url and _answers(url):
        return ActionServerClient(
            url, timeout=server_timeout, label=f"actions on server {url} (already running)"
        )
    runner = _started(project, location, chosen, server_timeout, start_timeout, watch, url)
    runner.problems[:0] = notes
    return runner


def _started(
    project: Project,
    location: PackageLocation | None,
    python: ActionsPython,
    timeout: float,
    start_timeout: float,
    watch: bool,
    url: str | None = None,
) -> ProjectActions:
    if location is None:
        module = project.endpoints.actions_module or "actions"
        reason = f"there is no actions package '{module}' in {project.root} to start a server from"
        if url:
            reason = f"nothing answers at {url}, and {reason}; start the action server"
        return NoActions("actions not running", reason, [reason])
    if not has_rasa_sdk(python):
        reason = (
            f"{describe(python)} has no rasa_sdk, which runs the action server: install it "
            f"with `{python.path} -m pip install rasa-sdk`"
        )
        return NoActions("actions not running (no rasa_sdk)", reason, [reason])
    problems = _missing(project, python)
    return ManagedServerActions(
        location,
        python,
        timeout=timeout,
        start_timeout=start_timeout,
        watch=watch,
        problems=problems,
    )


def _missing(project: Project, python: ActionsPython) -> list[str]:
    return [
        f"{message} ({install_hint(module)})"
        for _, module, message in missing_module_problems(project, python)
    ]


def _answers(url: str) -> bool:
    """Whether an action server answers `GET /health` beside `url`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    import httpx

    try:
        response = httpx.get(
            f"{parts.scheme}://{parts.netloc}/health", timeout=HEALTH_TIMEOUT, trust_env=False
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200
