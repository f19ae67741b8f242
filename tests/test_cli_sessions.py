"""`calm-tui sessions list|show|delete`, and `calm-tui shell` saving into the store."""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.store import SessionStore
from workbench.store import sessions as sessions_module
from workbench.trace.turn import TurnTrace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
FIRST, SECOND = "20261124-0601-a3f9", "20261124-0602-b001"


def trace(index: int, user_text: str, *bot_texts: str, **fields) -> TurnTrace:
    return TurnTrace.from_dict(
        dict(
            index=index,
            user_text=user_text,
            source=fields.pop("source", "user"),
            bot_messages=[{"text": t, "response": None, "buttons": []} for t in bot_texts],
            timings_ms={"total": 3.0},
            **fields,
        )
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with two stored sessions (the sessions verbs never load the project)."""
    ids = iter([FIRST, SECOND])
    monkeypatch.setattr(sessions_module, "new_session_id", lambda at=None: next(ids))
    root = tmp_path / "shop"
    root.mkdir()
    with SessionStore(root) as store:
        first = store.create_session("offline", "default", 0, "fp")
        store.add_turn(first, trace(0, "/session_start", "Welcome to the shop!", source="intent"))
        store.add_turn(
            first,
            trace(
                1,
                "where is my parcel?",
                "Which order number?",
                commands=[{"command": "start flow", "flow": "check_order_status"}],
                dropped=[
                    {
                        "reason": "slot 'colour' is not in the domain",
                        "command": {"command": "set slot", "name": "colour", "value": "red"},
                        "line": None,
                    }
                ],
            ),
        )
        second = store.create_session("gpt-4o-mini", "default", 3, "fp")
        store.add_turn(second, trace(0, "do you take PayPal?", "We accept PayPal."))
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- list ---------------------------------------------------------------------------------


def test_list_shows_a_table_newest_first(project: Path, capsys):
    code, out, _ = run(capsys, "list", str(project))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "title", "turns"]
    assert SECOND in lines[1] and "do you take PayPal?" in lines[1] and "gpt-4o-mini" in lines[1]
    assert FIRST in lines[2] and "where is my parcel?" in lines[2]
    assert lines[2].split()[5] == "2"  # turns


def test_list_searches_and_limits_and_speaks_json(project: Path, capsys):
    code, out, _ = run(capsys, "list", str(project), "--search", "which ORDER", "--format", "json")
    assert code == 0
    (found,) = json.loads(out)
    assert found["id"] == FIRST and found["turn_count"] == 2 and found["generator"] == "offline"
    _, out, _ = run(capsys, "list", str(project), "--limit", "1", "--format", "json")
    assert [s["id"] for s in json.loads(out)] == [SECOND]
    code, out, _ = run(capsys, "list", str(project), "--search", "weather")
    assert code == 0 and "no sessions match 'weather'" in out


def test_list_defaults_to_the_current_folder(project: Path, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "list")
    assert code == 0 and FIRST in out and SECOND in out


def test_reading_a_project_without_sessions_creates_nothing(tmp_path: Path, capsys):
    code, out, _ = run(capsys, "list", str(tmp_path))
    assert code == 0 and "no sessions yet" in out
    code, _, err = run(capsys, "show", "2026", str(tmp_path))
    assert code == 1 and "no session '2026'" in err
    assert not (tmp_path / ".calm").exists()


def test_usage_errors_exit_2(tmp_path: Path, capsys):
    code, _, err = run(capsys, "list", str(tmp_path / "missing"))
    assert code == 2 and "is not a folder" in err
    for argv in (["sessions"], ["sessions", "list", "--limit", "0"], ["sessions", "nope"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    capsys.readouterr()


# -- show ---------------------------------------------------------------------------------


def test_show_prints_the_conversation_commands_and_dropped(project: Path, capsys):
    code, out, _ = run(capsys, "show", FIRST[:-2], str(project))
    assert code == 0
    assert FIRST in out and "where is my parcel?" in out.splitlines()[0]
    assert "(session start)" in out
    assert "bot> Welcome to the shop!" in out
    assert "you> where is my parcel?" in out
    assert "bot> Which order number?" in out
    assert "commands start flow(flow='check_order_status')" in out
    assert (
        "dropped  set slot(name='colour', value='red'): slot 'colour' is not in the domain" in out
    )
    assert out.index("Welcome") < out.index("you> where") < out.index("Which order")


def test_show_reads_a_damaged_row_the_long_way_and_shows_the_others(project: Path, capsys):
    with SessionStore(project) as store:
        store.db.execute(
            "UPDATE turns SET trace_json = '{not json' WHERE session_id = ? AND idx = 0",
            (FIRST,),
        )
        store.db.conn.commit()
    code, out, _ = run(capsys, "show", FIRST, str(project))
    assert code == 0
    assert "the stored trace of this turn is unreadable" in out
    assert "you> where is my parcel?" in out and "bot> Which order number?" in out


def test_show_prints_markup_like_text_as_it_was_said(project: Path, capsys):
    with SessionStore(project) as store:
        store.add_turn(SECOND, trace(5, "is [bold]this[/] \\[x] literal?", "[red]yes[/red]"))
    code, out, _ = run(capsys, "show", SECOND, str(project))
    assert code == 0
    assert "you> is [bold]this[/] \\[x] literal?" in out
    assert "bot> [red]yes[/red]" in out


def test_show_verbose_and_json(project: Path, capsys):
    code, out, _ = run(capsys, "show", SECOND, str(project), "--verbose")
    assert code == 0 and "turn 0 · user" in out and "We accept PayPal." in out
    code, out, _ = run(capsys, "show", SECOND, str(project), "--format", "json")
    data = json.loads(out)
    assert data["session"]["id"] == SECOND
    assert TurnTrace.from_dict(data["turns"][0]).bot_texts == ["We accept PayPal."]


def test_show_unknown_is_1_and_ambiguous_is_2(project: Path, capsys):
    code, _, err = run(capsys, "show", "19990101", str(project))
    assert code == 1 and "no session '19990101'" in err
    code, _, err = run(capsys, "show", "20261124", str(project))
    assert code == 2 and "ambiguous" in err and FIRST in err and SECOND in err


# -- delete -------------------------------------------------------------------------------


def remaining(project: Path) -> list[str]:
    with SessionStore(project) as store:
        return [s.id for s in store.list_sessions()]


def test_delete_with_yes(project: Path, capsys):
    code, out, _ = run(capsys, "delete", FIRST[:15], str(project), "--yes")
    assert code == 0 and f"deleted session {FIRST}" in out
    assert remaining(project) == [SECOND]
    code, _, _ = run(capsys, "delete", FIRST, str(project), "--yes")
    assert code == 1


def test_delete_refuses_without_yes_when_stdin_is_not_a_terminal(project: Path, capsys):
    code, _, err = run(capsys, "delete", FIRST, str(project))
    assert code == 2 and "--yes" in err
    assert remaining(project) == [SECOND, FIRST]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "left"), [("y\n", 0, [SECOND]), ("\n", 1, None)])
def test_delete_asks_at_a_terminal(project: Path, capsys, monkeypatch, answer, code, left):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    got, out, _ = run(capsys, "delete", FIRST, str(project))
    assert got == code
    assert f"Delete session {FIRST} 'where is my parcel?' (2 turns)? [y/N]" in out
    assert remaining(project) == (left or [SECOND, FIRST])


# -- the shell saves into the store --------------------------------------------------------


def copy_sample(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return root


def test_shell_saves_the_conversation(tmp_path: Path, capsys, monkeypatch):
    root = copy_sample(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("/start flow store_info\n/exit\n"))
    assert main(["shell", str(root)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "show", "2", str(root))
    assert code == 0
    assert "Hello and welcome" in out and "you> /start flow store_info" in out
    assert "What would you like to know about?" in out
    with SessionStore(root) as store:
        (summary,) = store.list_sessions()
    assert (summary.turn_count, summary.status) == (2, "ended")


@pytest.mark.parametrize(
    ("argv", "lines"),
    [(["--no-store"], "/start flow store_info\n"), ([], ""), ([], "/help\n/exit\n")],
    ids=["no-store", "greeting-then-eof", "greeting-then-exit"],
)
def test_shell_leaves_no_store_behind(tmp_path: Path, capsys, monkeypatch, argv, lines):
    root = copy_sample(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["shell", str(root), *argv]) == 0
    capsys.readouterr()
    assert not (root / ".calm").exists()


REPLIES = {  # turn index -> text only that turn's reply contains
    0: "Hello and welcome",
    1: "What would you like to know about?",
    2: "We accept Visa",
    3: "How would you rate",
}


def test_a_killed_shell_keeps_every_turn_it_printed(tmp_path: Path):
    root = copy_sample(tmp_path)
    shell = subprocess.Popen(
        [sys.executable, "-m", "workbench", "shell", str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in shell.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        shell.stdin.write("/start flow store_info\n/SetSlots(faq_topic=payment)\n")
        shell.stdin.flush()
        deadline = time.monotonic() + 60
        while not any(REPLIES[2] in line for line in seen):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            assert line is not None, f"the shell ended early:\n{''.join(seen)}"
            seen.append(line)
        # one more turn, killed at once: saved or not, the database must be sound
        shell.stdin.write("/start flow leave_feedback\n")
        shell.stdin.flush()
        shell.send_signal(signal.SIGKILL)
        shell.wait(timeout=30)
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
    while (line := lines.get(timeout=30)) is not None:
        seen.append(line)
    output = "".join(seen)
    printed = {index for index, text in REPLIES.items() if text in output}
    assert {0, 1, 2} <= printed

    path = root / ".calm" / "sessions.db"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = dict(conn.execute("SELECT idx, bot_text FROM turns").fetchall())
        (status,) = conn.execute("SELECT status FROM sessions").fetchone()
    finally:
        conn.close()
    assert printed <= set(stored)
    for index in printed:
        assert REPLIES[index] in stored[index]
    assert status == "active"  # killed, so never marked ended
