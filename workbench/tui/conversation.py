"""The live conversation behind the TUI: a `Session`, the recorder that saves its turns,
and the ways to start over (restart, rewind to a turn, resume a stored session).

No Textual here, and no dialogue logic: text goes to `Session.handle`, every trace goes
to the store before the caller shows it, and replays feed recorded model output back
through the same pipeline. Sessions and recorders are made by `wiring`, as the shell's,
the e2e runner's and replay's are.

Turns run, and are saved, on a thread of their own (`TurnThread`): the engine, the
offline generator and SQLite then never hold up the TUI's event loop, and the store's
connection is only ever used from the thread that opened it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from workbench import wiring
from workbench.calm.names import is_session_start
from workbench.errors import WorkbenchError
from workbench.project.model import Project
from workbench.session import FlowEdit, Session
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator
from workbench.wiring import Parts

if TYPE_CHECKING:
    from workbench.store.lease import SessionLease
    from workbench.store.recorder import SessionRecorder
    from workbench.testing.export import ExportResult

# how many projects (by fingerprint) a conversation keeps to draw older turns against
PROJECTS_KEPT = 20
T = TypeVar("T")
UNKNOWN_PROJECT = "drawn against the current project: the one this turn was made with is gone"


def new_sender_id() -> str:
    return wiring.new_sender_id("tui")


class TurnThread:
    """A thread with an event loop of its own, started on first use, where coroutines
    (turns) and calls (store writes) run one after another."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="calm-tui turns", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def run(self, coroutine: Coroutine[object, object, T]) -> T:
        """Await `coroutine` run on the thread (cancelling this cancels it there)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        return await asyncio.wrap_future(future)

    def call(self, func: Callable[[], T]) -> T:
        """Call `func` on the thread and wait for it (at once when already there)."""
        if threading.current_thread() is self._thread:
            return func()

        async def called() -> T:
            return func()

        return asyncio.run_coroutine_threadsafe(called(), self._running_loop()).result()


@dataclass(frozen=True)
class ReplayOutcome:
    traces: list[TurnTrace]
    diverged_at: int | None  # the first turn whose bot messages differ from the recording


class Conversation:
    def __init__(
        self,
        project: Project,
        parts: Parts,
        *,
        root: Path,
        store: bool = True,
        seed: int = 0,
        warn: Callable[[str], None] = lambda message: None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.parts = parts
        self.generator = parts.generator
        self.label = parts.label
        # what the sessions time their turns with; read at each use, so a test may swap it
        self.clock = clock
        self.root = root
        self.store = store
        self.actions = parts.actions  # one runner for every conversation: it reloads itself
        self.seed = seed
        self.warn = warn
        self.recorder: SessionRecorder | None = None
        self.turns = TurnThread()
        # the projects this conversation has seen, oldest first, so that an older turn
        # is drawn against the flows it was made with after reloads
        self._projects: OrderedDict[str, Project] = OrderedDict()
        self.session = self._session(project, self.generator)

    # -- state ----------------------------------------------------------------------------

    @property
    def traces(self) -> Sequence[TurnTrace]:
        return self.session.traces

    @property
    def project(self) -> Project:
        return self.session.project

    @property
    def sender_id(self) -> str:
        return self.session.tracker.sender_id

    @property
    def store_session_id(self) -> str | None:
        return getattr(self.recorder, "session_id", None)

    def replace_project(self, project: Project) -> list[FlowEdit]:
        """A reloaded project; the conversation goes on. Returns what became of the
        running flows it changed (continued at a matching step, or left to the
        code-change pattern)."""
        edits = self.session.replace_project(project)
        self.remember(project)
        return edits

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
        """One turn, saved to the store before it is returned (and shown); both happen
        on the turn thread."""
        return await self.turns.run(self._send(text))

    async def _send(self, text: str) -> TurnTrace:
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
        title: str | None = None,
    ) -> ReplayOutcome:
        """Rebuild a conversation from recorded turns: a fresh Session sends the same
        user messages with the recorded model output, then goes on live.

        Without `continue_store_session` the rebuilt turns are saved as a new store
        session (rewind, fork); with it, they are already stored and new turns are
        appended to that session (resume). A new store session is titled `title` (with
        none, after its first message). A session another process writes is not resumed:
        SessionInUseError, before anything changes here."""
        recorded = list(traces)
        lease = self._lease(continue_store_session)
        try:
            return await self.turns.run(
                self._replay(recorded, project, seed, continue_store_session, lease, title)
            )
        except BaseException:
            if lease is not None:  # not adopted: adopting it is the last thing done
                lease.release()
            raise

    def _lease(self, session_id: str | None) -> SessionLease | None:
        """The lease to write `session_id` (None: nothing to resume, or no store):
        this conversation's own, or taken from the store (SessionInUseError)."""
        if session_id is None or not self.store:
            return None
        if self.recorder is not None and session_id == self.store_session_id:
            return self.recorder.take_lease()
        from workbench.store.lease import SessionLease
        from workbench.store.sessions import store_path

        return SessionLease.acquire(store_path(self.root), session_id)

    async def _replay(
        self,
        recorded: list[TurnTrace],
        project: Project,
        seed: int | None,
        continue_store_session: str | None,
        lease: SessionLease | None,
        title: str | None,
    ) -> ReplayOutcome:
        from workbench.knowledge.recorded import RecordedKnowledge
        from workbench.testing.replay import RecordedGenerator, compare_turn, replay_turns
        from workbench.understanding.rephrase import recorded_rephraser

        self.close()
        if seed is not None:
            self.seed = seed
        generator = RecordedGenerator(recorded, fallback=self.generator)
        session = self._session(project, generator, record=False)
        self.session = session
        live, session.rephraser = session.rephraser, recorded_rephraser(recorded)
        knowledge = session.knowledge
        session.knowledge = RecordedKnowledge(recorded, knowledge)
        replayed = await replay_turns(session, recorded)
        session.rephraser, session.knowledge = live, knowledge
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
                self.recorder.title = title
                for trace in session.traces:
                    self.save(trace)
            else:
                try:
                    self.recorder.resume(continue_store_session, len(recorded), lease=lease)
                except (WorkbenchError, sqlite3.Error, OSError) as exc:
                    # the stored session stays as it is; this conversation is kept whole
                    self.warn(f"{exc}; this conversation goes on as a new session")
                    for trace in session.traces:
                        self.save(trace)
        return ReplayOutcome(list(session.traces), diverged_at)

    def close_actions(self) -> None:
        """Stop an action server the workbench started (on exit; restarts keep it)."""
        self.parts.close()

    def close(self) -> None:
        """End the store session (a clean end) and close the store."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                self.turns.call(recorder.close)  # where its store was opened
            except Exception as exc:
                self.warn(f"the session store could not be closed: {exc}")

    # -- export ---------------------------------------------------------------------------

    def export(self, project: Project, *, assertions: bool = False) -> ExportResult:
        """Write the conversation as an e2e test case with its cassette beside it (never
        overwriting a file); returns the `ExportResult` (test_path, cassette_path)."""
        from workbench.testing.export import export_comment, write_export

        traces = list(self.traces)
        comment = export_comment(self.store_session_id, self.label, self.started_at)
        return write_export(
            project,
            traces,
            title=conversation_title(traces) or "conversation",
            assertions=assertions,
            comment=comment,
        )

    # -- helpers --------------------------------------------------------------------------

    def _session(self, project: Project, generator: CommandGenerator, record: bool = True):
        self.remember(project)
        self.started_at = datetime.now(timezone.utc)
        session = wiring.new_session(
            project,
            generator,
            actions=self.actions,
            sender_id=new_sender_id(),
            seed=self.seed,
            clock=lambda: self.clock(),
            tape=self.parts.tape,
            offline=self.parts.offline,
            knowledge=self.parts.knowledge,
        )
        session.preview_prompt = True  # the Prompt panel shows it offline
        if record:
            self.recorder = self._recorder(session)
        return session

    def _recorder(self, session: Session) -> SessionRecorder | None:
        if not self.store:
            return None
        # `self.warn` is looked up when a warning comes: the app sets it after this
        return wiring.new_recorder(
            self.root,
            session,
            self.label,
            warn=lambda message: self.warn(message),
            scrubber=self.parts.scrubber,
        )


def conversation_title(traces: Sequence[TurnTrace]) -> str:
    """The first thing the user said ("" before they said anything)."""
    for trace in traces:
        text = trace.user_text.strip()
        if text and not is_session_start(text):
            return text[:60]
    return ""
