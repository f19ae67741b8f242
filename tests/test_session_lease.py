"""Two writers on one stored session lose nothing: a session is written by one process at
a time (store/lease.py). Tested with real processes: a writer in a subprocess holds the
session while this process tries to resume it, in the store API and in the TUI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tui_helpers import copy_sample, send, start, turn_items, wait_until

from workbench.store import (
    SessionChangedError,
    SessionInUseError,
    SessionRecorder,
    SessionStore,
    store_path,
)
from workbench.store.lease import SessionLease, holder, lease_path
from workbench.trace.turn import TurnTrace
from workbench.tui.app import make_app
from workbench.tui.screens.main import MainScreen
from workbench.tui.screens.sessions import SessionsScreen, TranscriptScreen

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ["/session_start", "where is my order A1001", "hi", "thanks", "bye", "ok", "more"]

# a second process that writes a session turn by turn, as a shell or a TUI does: one
# command a line on stdin ("turn", "close"), one answer a line on stdout
WRITER = """
import sys
from pathlib import Path
from workbench.store.recorder import SessionRecorder
from workbench.trace.turn import TurnTrace

messages = sys.argv[2:]
recorder = SessionRecorder(
    Path(sys.argv[1]), generator="offline", sender_id="other", seed=0,
    project_fingerprint="", warn=lambda message: print("warning", message, flush=True),
)
index = 0
for line in sys.stdin:
    if line.strip() == "turn":
        recorder(TurnTrace(index=index, user_text=messages[index]))
        index += 1
        print("saved", recorder.session_id, index, flush=True)
    elif line.strip() == "close":
        recorder.close()
        print("closed", flush=True)
"""


class Writer:
    """The other process."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), *MESSAGES],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.pid = self.process.pid
        self.session_id = ""

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer and not answer.startswith("warning"), answer
        return answer

    def turns(self, count: int) -> None:
        for _ in range(count):
            _, self.session_id, _ = self.ask("turn").split()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def root(tmp_path: Path):
    return copy_sample(tmp_path)


@pytest.fixture
def writer(root: Path):
    other = Writer(root)
    yield other
    other.stop()


def recorder(root: Path, warnings: list[str] | None = None) -> SessionRecorder:
    sink = warnings if warnings is not None else []
    return SessionRecorder(
        root, generator="offline", sender_id="me", seed=0, project_fingerprint="", warn=sink.append
    )


def stored(root: Path, session_id: str) -> list[tuple[int, str]]:
    with SessionStore(root) as store:
        return [(t.index, t.user_text) for t in store.get_turns(session_id)]


def test_a_session_another_process_writes_is_refused_with_its_pid(root, writer):
    writer.turns(3)
    session_id = writer.session_id
    assert holder(store_path(root), session_id) == writer.pid

    mine = recorder(root)
    with pytest.raises(SessionInUseError) as refused:
        mine.resume(session_id, 3)
    assert refused.value.pid == writer.pid
    assert str(refused.value) == (
        f"session {session_id} is open in another window (pid {writer.pid}): "
        "open it read-only, or fork it into a new session"
    )
    assert mine.session_id is None and mine.lease is None
    with SessionStore(root) as store, pytest.raises(SessionInUseError):
        store.delete_session(session_id)  # its next turns would have nowhere to go

    # the first writer goes on, untouched; a fork copies what is there
    writer.turns(2)
    assert stored(root, session_id) == list(enumerate(MESSAGES[:5]))
    with SessionStore(root) as store:
        fork_id = store.fork_session(session_id, before=5)
    assert stored(root, fork_id) == list(enumerate(MESSAGES[:5]))

    # once it closes, the session is free to resume, and goes on where it ended
    assert writer.ask("close") == "closed"
    assert holder(store_path(root), session_id) is None
    assert not lease_path(store_path(root), session_id).exists()
    mine.resume(session_id, 5)
    mine(TurnTrace(index=5, user_text=MESSAGES[5]))
    assert holder(store_path(root), session_id) == os.getpid()
    mine.close()
    assert stored(root, session_id) == list(enumerate(MESSAGES[:6]))
    with SessionStore(root) as store:
        assert store.get_session(session_id).status == "ended"


def test_a_killed_writer_leaves_no_stuck_lock(root, writer):
    writer.turns(2)
    session_id = writer.session_id
    writer.kill()  # kill -9: no clean-up ran
    assert lease_path(store_path(root), session_id).exists()  # the file stays behind...
    assert holder(store_path(root), session_id) is None  # ...but nobody holds it

    warnings: list[str] = []
    mine = recorder(root, warnings)
    mine.resume(session_id, 2)
    mine(TurnTrace(index=2, user_text=MESSAGES[2]))
    mine.close()
    assert warnings == []
    assert stored(root, session_id) == list(enumerate(MESSAGES[:3]))


def test_a_session_that_grew_since_it_was_read_is_not_resumed(root, writer):
    writer.turns(2)
    writer.ask("close")
    mine = recorder(root)
    with pytest.raises(SessionChangedError, match="has 2 turns now, not the 1 read"):
        mine.resume(writer.session_id, 1)
    assert holder(store_path(root), writer.session_id) is None  # the lease went back


def test_a_taken_turn_index_forks_instead_of_failing(root):
    """A writer that takes no lease (an older calm-tui) wrote turn 2 first: the
    conversation goes on in a fork, and every turn of both is kept."""
    warnings: list[str] = []
    mine = recorder(root, warnings)
    for index in range(2):
        mine(TurnTrace(index=index, user_text=MESSAGES[index]))
    session_id = mine.session_id
    assert session_id is not None
    with SessionStore(root) as store:
        store.add_turn(session_id, TurnTrace(index=2, user_text="theirs"))
    mine(TurnTrace(index=2, user_text=MESSAGES[2]))
    mine(TurnTrace(index=3, user_text=MESSAGES[3]))
    fork_id = mine.session_id
    mine.close()
    assert fork_id != session_id
    assert warnings == [
        f"session {session_id} was written by another process meanwhile; "
        f"this conversation goes on as session {fork_id}"
    ]
    assert stored(root, session_id) == [(0, MESSAGES[0]), (1, MESSAGES[1]), (2, "theirs")]
    assert stored(root, fork_id) == list(enumerate(MESSAGES[:4]))


def test_a_lease_is_one_holder_at_a_time_even_in_one_process(tmp_path):
    path = tmp_path / "sessions.db"
    first = SessionLease.acquire(path, "s")
    with pytest.raises(SessionInUseError):
        SessionLease.acquire(path, "s")
    first.release()
    first.release()  # twice is harmless
    second = SessionLease.acquire(path, "s")
    assert second.held
    second.release()
    assert lease_path(path, "../../odd id").parent == lease_path(path, "s").parent


async def test_the_tui_refuses_to_resume_and_forks_instead(root, writer):
    writer.turns(3)
    held = writer.session_id
    app = make_app(root, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "hello")
        mine = app.conversation.store_session_id

        # the store API refuses too, and leaves this window's conversation as it was
        traces = [TurnTrace(index=i, user_text=m) for i, m in enumerate(MESSAGES[:3])]
        with pytest.raises(SessionInUseError):
            await app.conversation.replay(
                traces, app.conversation.project, continue_store_session=held
            )
        assert app.conversation.store_session_id == mine
        assert app.conversation.recorder.lease is not None

        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        table = app.screen.query_one("DataTable")
        row = table.get_row_index(held)
        assert str(table.get_row_at(row)[-1]) == f"open (pid {writer.pid})"
        table.move_cursor(row=row)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)  # refused: still browsing
        toasts = [n.message for n in app._notifications]
        assert any(f"open in another window (pid {writer.pid})" in m for m in toasts), toasts

        await pilot.press("enter")  # read-only is fine
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        app._notifications.clear()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)  # refused here too
        toasts = [n.message for n in app._notifications]
        assert any(f"(pid {writer.pid}): ctrl+n forks it" in m for m in toasts), toasts
        await pilot.press("ctrl+n")  # fork: replayed into a new session this window writes
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(pilot, lambda: len(app.conversation.traces) == 3, what="the fork")
        await wait_until(pilot, lambda: len(turn_items(app)) == 3)
        fork_id = app.conversation.store_session_id
        assert fork_id not in (held, mine)
        await send(pilot, "thanks")
        writer.turns(1)  # the other window never noticed
    assert stored(root, held) == list(enumerate(MESSAGES[:4]))
    assert [text for _, text in stored(root, fork_id)] == [*MESSAGES[:3], "thanks"]
