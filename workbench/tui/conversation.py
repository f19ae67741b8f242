"""The live conversation behind the TUI: a `Session`, the recorder that saves its turns,
and the ways to start over (restart, rewind to a turn, resume a stored session).

No Textual here, and no dialogue logic: text goes to `Session.handle`, every trace goes
to the store before the caller shows it, and replays feed recorded model output back
through the same pipeline.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.project.model import Project
from workbench.session import Session
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator
from workbench.wiring import Options

SESSION_START = "/session_start"
# how many projects (by fingerprint) a conversation keeps to draw older turns against
PROJECTS_KEPT = 20
UNKNOWN_PROJECT = "drawn against the current project: the one this turn was made with is gone"


def new_sender_id() -> str:
    """A fresh conversation id: custom actions keep per-conversation state by sender
    (the sample's orders database does), so a restart or a replay starts clean."""
    return f"tui-{secrets.token_hex(4)}"


class LazyActions:
    """The project's custom action runner, made at its first use: importing the runners
    costs ~90 ms (the HTTP client for action servers), which start-up need not wait for.
    Forwards `run`, `refresh`, `load_error`, `warnings`, `label` and `problems`;
    `close()` stops an action server the runner started."""

    def __init__(self, project: Project, options: Options | None = None) -> None:
        self.project = project
        self.options = options
        self._runner: Any = None
        self._made = False
        # the screen makes the runner in a thread while a first turn may need it too
        self._making = threading.Lock()

    @property
    def runner(self) -> Any:
        with self._making:
            if not self._made:
                from workbench.wiring import make_actions

                self._runner = make_actions(self.project, self.options)
                self._made = True
        return self._runner

    @property
    def label(self) -> str:
        return str(getattr(self.runner, "label", "") or "")

    @property
    def problems(self) -> list[str]:
        return list(getattr(self.runner, "problems", None) or [])

    @property
    def warnings(self) -> list[str]:
        return list(getattr(self._runner, "warnings", None) or []) if self._made else []

    def close(self) -> None:
        close = getattr(self._runner, "close", None)
        if callable(close):
            close()

    @property
    def load_error(self) -> str | None:
        return getattr(self._runner, "load_error", None) if self._made else None

    def refresh(self, project: Project) -> bool:
        refresh = getattr(self.runner, "refresh", None)
        return bool(refresh(project)) if callable(refresh) else False

    async def run(self, name: str, tracker: Any, project: Project) -> Any:
        runner = self.runner
        if runner is None:
            from workbench.session import ActionResult

            return ActionResult(kind="none", error=f"no custom action runner for '{name}'")
        return await runner.run(name, tracker, project)


@dataclass(frozen=True)
class ReplayOutcome:
    traces: list[TurnTrace]
    diverged_at: int | None  # the first turn whose bot messages differ from the recording


class Conversation:
    def __init__(
        self,
        project: Project,
        generator: CommandGenerator,
        label: str,
        *,
        root: Path,
        store: bool = True,
        actions: Any = None,
        seed: int = 0,
        warn: Callable[[str], None] = lambda message: None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.generator = generator
        # what the sessions time their turns with; read at each use, so a test may swap it
        self.clock = clock
        self.label = label
        self.root = root
        self.store = store
        self.actions = actions  # one runner for every conversation: it reloads itself
        self.seed = seed
        self.warn = warn
        self.recorder: Any = None
        # the projects this conversation has seen, oldest first, so that an older turn
        # is drawn against the flows it was made with after reloads
        self._projects: OrderedDict[str, Project] = OrderedDict()
        self.session = self._session(project, generator)

    # -- state ----------------------------------------------------------------------------

    @property
    def traces(self) -> list[TurnTrace]:
        return self.session.traces

    @property
    def project(self) -> Project:
        return self.session.project

    @property
    def store_session_id(self) -> str | None:
        return getattr(self.recorder, "session_id", None)

    def replace_project(self, project: Project) -> None:
        """A reloaded project; the conversation goes on (the engine notices edits to
        flows on the stack at the next message)."""
        self.session.replace_project(project)
        self.remember(project)

    def remember(self, project: Project) -> None:
        """Keep `project` to draw turns against (the last `PROJECTS_KEPT` are kept)."""
        if not project.fingerprint:
            return
        self._projects.pop(project.fingerprint, None)
        self._projects[project.fingerprint] = project
        while len(self._projects) > PROJECTS_KEPT:
            self._projects.popitem(last=False)

    def project_for(self, trace: TurnTrace | None) -> tuple[Project, str]:
        """The project `trace` was made with, and a note when that one is no longer
        known and the current project stands in for it ("" otherwise)."""
        current = self.project
        wanted = trace.project_fingerprint if trace is not None else ""
        if not wanted or wanted == current.fingerprint:
            return current, ""
        kept = self._projects.get(wanted)
        if kept is not None:
            return kept, ""
        return current, UNKNOWN_PROJECT

    # -- turns ----------------------------------------------------------------------------

    async def send(self, text: str) -> TurnTrace:
        """One turn, saved to the store before it is returned (and shown)."""
        session = self.session
        trace = await session.handle(text)
        if session is self.session:  # not restarted meanwhile
            self.save(trace)
        return trace

    def save(self, trace: TurnTrace) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder(trace)
        except Exception as exc:  # the recorder reports what it knows; anything else too
            self.warn(f"turn {trace.index} was not saved to the session store: {exc}")

    # -- starting over --------------------------------------------------------------------

    def restart(self, project: Project) -> None:
        """A new, empty conversation in a new store session."""
        self.close()
        rewind = getattr(self.generator, "rewind", None)
        if callable(rewind):  # a cassette replays from its first entry again
            rewind()
        self.session = self._session(project, self.generator)

    async def replay(
        self,
        traces: Sequence[TurnTrace],
        project: Project,
        *,
        seed: int | None = None,
        continue_store_session: str | None = None,
    ) -> ReplayOutcome:
        """Rebuild a conversation from recorded turns: a fresh Session sends the same
        user messages with the recorded model output, then goes on live.

        Without `continue_store_session` the rebuilt turns are saved as a new store
        session (rewind); with it, they are already stored and new turns are appended
        to that session (resume)."""
        from workbench.testing.replay import RecordedGenerator, compare_turn, replay_turns

        recorded = list(traces)
        self.close()
        if seed is not None:
            self.seed = seed
        generator = RecordedGenerator(recorded, fallback=self.generator)
        session = self._session(project, generator, record=False)
        self.session = session
        replayed = await replay_turns(session, recorded)
        diverged_at = next(
            (
                new.index
                for old, new in zip(recorded, replayed, strict=True)
                if not compare_turn(old, new).same
            ),
            None,
        )
        session.generator = self.generator  # from here on, live
        self.recorder = self._recorder(session)
        if self.recorder is not None:
            if continue_store_session is None:
                for trace in session.traces:
                    self.save(trace)
            else:
                self.recorder.session_id = continue_store_session
        return ReplayOutcome(list(session.traces), diverged_at)

    def close_actions(self) -> None:
        """Stop an action server the workbench started (on exit; restarts keep it)."""
        close = getattr(self.actions, "close", None)
        if callable(close):
            close()

    def close(self) -> None:
        """End the store session (a clean end) and close the store."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                recorder.close()
            except Exception as exc:
                self.warn(f"the session store could not be closed: {exc}")

    # -- export ---------------------------------------------------------------------------

    def export(self, project: Project, *, assertions: bool = False) -> Any:
        """Write the conversation as an e2e test case with its cassette beside it (never
        overwriting a file); returns the `ExportResult` (test_path, cassette_path)."""
        from workbench.testing.export import write_export

        traces = list(self.traces)
        title = _title(traces) or "conversation"
        return write_export(project, traces, name=title, title=title, assertions=assertions)

    # -- helpers --------------------------------------------------------------------------

    def _session(self, project: Project, generator: CommandGenerator, record: bool = True):
        self.remember(project)
        session = Session(
            project,
            generator,
            actions=self.actions,
            sender_id=new_sender_id(),
            seed=self.seed,
            clock=lambda: self.clock(),
        )
        if record:
            self.recorder = self._recorder(session)
        return session

    def _recorder(self, session: Session) -> Any:
        if not self.store:
            return None
        from workbench.store.recorder import SessionRecorder

        return SessionRecorder(
            self.root,
            generator=self.label,
            sender_id=session.tracker.sender_id,
            seed=session.tracker.seed,
            project_fingerprint=session.project.fingerprint,
            warn=lambda message: self.warn(message),  # looked up when it is needed
        )


def _title(traces: Sequence[TurnTrace]) -> str:
    for trace in traces:
        text = trace.user_text.strip()
        if text and text != SESSION_START:
            return text[:60]
    return ""
