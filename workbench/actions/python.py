"""Custom actions run in-process from the project's actions package, hot-reloaded.

Before every call the package's .py files are checked (mtime and size); after an edit
the whole package is imported afresh. An edit that does not import (a syntax error, a
failing import) keeps the last good actions running and shows up as `load_error`.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import os
import traceback
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.actions.domain_dict import domain_dict
from workbench.actions.importer import forget
from workbench.actions.package import (
    CustomAction,
    Fingerprint,
    LoadedPackage,
    PackageLoadError,
    PackageLocation,
    fingerprint,
    load_package,
    locate,
    where,
)
from workbench.actions.protocol import ACTION_TIMEOUT, ActionResult
from workbench.actions.results import action_events, is_rejection, rejected_event
from workbench.actions.tracker_state import TrackerState, active_flow, plain, tracker_state
from workbench.calm.values import JSONObject
from workbench.engine.tracker import Tracker
from workbench.project.model import Project

if TYPE_CHECKING:
    from workbench.sdk import CollectingDispatcher as _SdkDispatcher
    from workbench.sdk import Tracker as _SdkTracker

    # the Tracker and CollectingDispatcher classes an action is handed: rasa_sdk's when it
    # imports, else workbench.sdk's (the same interface)
    _SdkClasses = tuple[type[_SdkTracker], type[_SdkDispatcher]]

KIND = "python"


class PythonActions:
    """A `CustomActionRunner` for the package named by endpoints' ``actions_module``
    (default ``actions``) under the project root.

    `use_rasa_sdk`: None hands actions real ``rasa_sdk`` Tracker and CollectingDispatcher
    objects when rasa_sdk imports, else workbench.sdk's; True/False forces the choice."""

    label = "actions in-process"

    def __init__(
        self, *, use_rasa_sdk: bool | None = None, timeout: float = ACTION_TIMEOUT
    ) -> None:
        self.use_rasa_sdk = use_rasa_sdk
        self.timeout = timeout
        self.problems: list[str] = []  # for the header: e.g. modules the actions lack
        # `file:line: Error: message` while the package on disk does not import
        self.load_error: str | None = None
        self.load_traceback: str | None = None
        # notes on the last load (classes skipped) and the last call (events dropped)
        self.warnings: list[str] = []
        self._loaded: LoadedPackage | None = None
        self._attempt: tuple[PackageLocation | None, Fingerprint] | None = None
        self._domain: tuple[Project, JSONObject] | None = None
        self._sdk: _SdkClasses | None = None

    @property
    def action_names(self) -> list[str]:
        return sorted(self._loaded.actions) if self._loaded else []

    def refresh(self, project: Project) -> bool:
        """Import the package if it changed since the last attempt; True if it did."""
        location = locate(project.root, project.endpoints.actions_module)
        current = (location, fingerprint(location) if location else ())
        if current == self._attempt:
            return False
        self._attempt = current
        if location is None:
            module = project.endpoints.actions_module or "actions"
            self.load_error = f"no actions package '{module}' in {project.root}"
            self.load_traceback = None
            return True
        try:
            loaded = load_package(location)
        except PackageLoadError as exc:
            self.load_error, self.load_traceback = exc.message, exc.details
            return True
        previous, self._loaded = self._loaded, loaded
        self.load_error = self.load_traceback = None
        self.warnings = list(loaded.notes)
        if previous is not None:
            forget(previous.name)
        return True

    def prepare(self, project: Project) -> None:
        """Import the package and what runs it now (not at the first call): processes
        forked from this one then start with them imported."""
        self.refresh(project)
        self._sdk_classes()
        self._domain_dict(project)

    def close(self) -> None:
        if self._loaded is not None:
            forget(self._loaded.name)
            self._loaded = None
        self._attempt = None

    async def aclose(self) -> None:
        self.close()

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        try:
            return await self._run(name, tracker, project)
        except Exception as exc:  # a bug of ours must not end the conversation either
            return ActionResult(
                kind=KIND,
                error=f"running action '{name}' failed: {type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(),
            )

    async def _run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        self.refresh(project)
        loaded = self._loaded  # a call awaiting its action may see a reload meanwhile
        if loaded is None:
            return ActionResult(
                kind=KIND,
                error=f"custom actions could not be loaded: {self.load_error}",
                traceback=self.load_traceback,
            )
        action = loaded.actions.get(name)
        if action is None:
            known = ", ".join(self.action_names) or "none"
            error = f"unknown custom action '{name}' (known: {known})"
            if self.load_error:  # the action may be in the edit that does not import
                error += f"; the actions package does not import: {self.load_error}"
            return ActionResult(kind=KIND, error=error)
        state = tracker_state(tracker, running=name)
        view, dispatcher = self._view(state)
        domain = copy.deepcopy(self._domain_dict(project))
        try:
            # actions open files relative to the project folder, where an action server
            # would have been started
            with _working_directory(project.root):
                # in a thread of its own, so a slow action never freezes the event loop
                # (the TUI); after the timeout it is left to finish, unheard
                returned = await asyncio.wait_for(
                    asyncio.to_thread(_call, action, dispatcher, view, domain), self.timeout
                )
        except asyncio.TimeoutError:
            return ActionResult(
                kind=KIND,
                error=f"action '{name}' did not finish within {self.timeout:g} s; it was "
                "abandoned (it may still be running)",
            )
        except (asyncio.CancelledError, KeyboardInterrupt, _Interrupted):
            # Ctrl-C while an action runs ends that action, not the shell
            uncancel = getattr(asyncio.current_task(), "uncancel", None)
            if uncancel is not None:  # the turn goes on (Python 3.11+ counts cancels)
                uncancel()
            return ActionResult(kind=KIND, error=f"action '{name}' was interrupted (Ctrl-C)")
        except (Exception, SystemExit) as exc:
            if is_rejection(exc):
                return ActionResult(kind=KIND, events=[rejected_event(name, str(exc))])
            at = where(exc, loaded.location)
            place = f" ({at})" if at else ""
            return ActionResult(
                kind=KIND,
                error=f"action '{name}' raised {type(exc).__name__}: {exc}{place}",
                traceback=traceback.format_exc(),
            )
        try:
            events, notes = action_events(returned, name)
        except TypeError as exc:
            return ActionResult(kind=KIND, error=str(exc))
        self.warnings = [*loaded.notes, *notes]
        return ActionResult(kind=KIND, events=events, messages=plain(dispatcher.messages))

    # -- helpers ------------------------------------------------------------------------

    def _view(self, state: TrackerState) -> tuple[_SdkTracker, _SdkDispatcher]:
        tracker_class, dispatcher_class = self._sdk_classes()
        view = tracker_class.from_dict(state)
        if tracker_class.__module__.startswith("rasa_sdk"):
            # rasa_sdk's is a plain attribute; ours is a property
            view.active_flow = active_flow(state["stack"])  # type: ignore[misc]
        return view, dispatcher_class()

    def _sdk_classes(self) -> _SdkClasses:
        if self._sdk is None:
            self._sdk = _rasa_sdk_classes() if self.use_rasa_sdk is not False else None
            if self._sdk is None:
                if self.use_rasa_sdk:
                    raise RuntimeError("use_rasa_sdk=True, but rasa_sdk does not import")
                from workbench.sdk import CollectingDispatcher, Tracker

                self._sdk = (Tracker, CollectingDispatcher)
        return self._sdk

    def _domain_dict(self, project: Project) -> JSONObject:
        if self._domain is None or self._domain[0] is not project:
            self._domain = (project, domain_dict(project))
        return self._domain[1]


def _rasa_sdk_classes() -> _SdkClasses | None:
    try:
        from rasa_sdk import Tracker
        from rasa_sdk.executor import CollectingDispatcher
    except Exception:  # not installed, or broken (e.g. a pydantic it cannot use)
        return None
    return Tracker, CollectingDispatcher


def _call(action: CustomAction, dispatcher: object, view: object, domain: JSONObject) -> object:
    """Run an action in a worker thread; an async one on an event loop of its own."""
    try:
        returned = action.run(dispatcher, view, domain)
        if inspect.isawaitable(returned):
            return asyncio.run(_awaited(returned))
        return returned
    except KeyboardInterrupt:
        # asyncio re-raises a KeyboardInterrupt out of its loop: hand on an ordinary error
        raise _Interrupted from None


class _Interrupted(Exception):
    """The action was stopped with Ctrl-C (KeyboardInterrupt)."""


async def _awaited(awaitable: Awaitable[object]) -> object:
    return await awaitable


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
