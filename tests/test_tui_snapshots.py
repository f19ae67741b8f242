"""SVG snapshots of the workbench at 100x30 (pytest-textual-snapshot).

Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the report. Everything time-dependent is frozen: the clock the app reads
(header "loaded just now", session ages), the turn timings, the cursor blink; the model
output is scripted.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from history_helpers import SCRIPT as HISTORY_SCRIPT
from history_helpers import TEXTS as HISTORY_TEXTS
from textual.pilot import Pilot
from tui_helpers import copy_sample, freeze_times, send, start, wait_until

from workbench.errors import WorkbenchError
from workbench.store.sessions import SessionStore
from workbench.trace.turn import TurnTrace
from workbench.tui.app import WorkbenchApp, make_app
from workbench.tui.message_input import HistoryInput
from workbench.tui.screens.sessions import SessionsScreen
from workbench.tui.widgets import HistoryPanel
from workbench.tui.widgets.status import ErrorBanner
from workbench.understanding.base import ScriptedGenerator

SIZE = (100, 30)
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc).timestamp()
SCRIPT = {
    "where is my order A1001": "start flow check_order_status\nset slot order_id A1001",
    "and book me a flight": "start flow book_flight",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def app_on(project: Path, **options):
    app = make_app(
        project,
        generator=ScriptedGenerator(SCRIPT),
        clock=lambda: NOW,
        watch=False,
        **options,
    )
    freeze_times(app)
    return app


async def _still(pilot: Pilot) -> None:
    pilot.app.main.chat.input.cursor_blink = False
    await pilot.pause()


def test_main_screen_after_a_conversation(project, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        await send(pilot, "and book me a flight")
        await _still(pilot)

    assert snap_compare(app_on(project, store=False), terminal_size=SIZE, run_before=run_before)


def test_first_screen_while_the_project_loads(project, snap_compare):
    """What `calm-tui` draws before the project is loaded: a message sent and one being
    typed (at 80x24, the smallest size)."""
    gate = threading.Event()

    def loading():
        gate.wait(10)
        raise WorkbenchError("the test ended")

    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()  # the screen is up, as a user first sees it
        await pilot.press(*"where is my order", "enter", *"and my points")
        pilot.app.screen.query_one(HistoryInput).cursor_blink = False
        await pilot.pause()

    app = WorkbenchApp(loading=loading, root=project, watch=False)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    finally:
        gate.set()


def test_main_screen_with_the_error_banner(project, snap_compare):
    flows = project / "data" / "flows" / "orders.yml"

    async def run_before(pilot: Pilot) -> None:
        await start(pilot)
        flows.write_text(flows.read_text() + "\n  broken_flow:\n    steps: [unclosed\n")
        pilot.app.main.reload_now()
        await wait_until(pilot, lambda: pilot.app.query_one(ErrorBanner).display)
        pilot.app.clear_notifications()
        await _still(pilot)

    assert snap_compare(app_on(project, store=False), terminal_size=SIZE, run_before=run_before)


def _stored_session(store: SessionStore, session_id: str, title: str, turns: int, age_s: int):
    stamp = datetime.fromtimestamp(NOW - age_s, tz=timezone.utc)
    iso = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    store.db["sessions"].insert(
        {
            "id": session_id,
            "title": "",
            "started_at": iso,
            "updated_at": iso,
            "project_fingerprint": "0",
            "generator": "offline",
            "sender_id": "default",
            "seed": 0,
            "turn_count": 0,
            "status": "ended",
        }
    )
    for index in range(turns):
        text = "/session_start" if index == 0 else (title if index == 1 else f"message {index}")
        store.add_turn(session_id, TurnTrace(index=index, user_text=text))
    store.db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (iso, session_id))
    store.db.conn.commit()


def test_session_browser(project, snap_compare):
    with SessionStore(project) as store:
        _stored_session(store, "20250602-1155-a1b2", "where is my order A1001", 4, 300)
        _stored_session(store, "20250601-0930-c3d4", "I want to return the scarf", 7, 95_000)
        _stored_session(store, "20250528-1600-e5f6", "how many points do I have", 2, 400_000)

    async def run_before(pilot: Pilot) -> None:
        await start(pilot)
        pilot.app.main.action_sessions()
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen))
        await pilot.pause()

    assert snap_compare(app_on(project), terminal_size=SIZE, run_before=run_before)


def _history_app(project: Path):
    app = make_app(
        project,
        generator=ScriptedGenerator(HISTORY_SCRIPT),
        clock=lambda: NOW,
        watch=False,
        store=False,
    )
    freeze_times(app)
    return app


async def _interrupted_conversation(pilot: Pilot) -> None:
    await start(pilot)
    for text in HISTORY_TEXTS[1:]:
        await send(pilot, text)
    pilot.app.main.panels.reveal("history")
    await pilot.pause()


def test_history_timeline(project, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await _interrupted_conversation(pilot)
        pilot.app.query_one(HistoryPanel).set_mode("timeline")
        await _still(pilot)

    assert snap_compare(_history_app(project), terminal_size=SIZE, run_before=run_before)


def test_history_log_on_an_earlier_turn_wide(project, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await _interrupted_conversation(pilot)
        pilot.app.main.show_turn(2)
        await pilot.pause()
        await _still(pilot)

    assert snap_compare(_history_app(project), terminal_size=(160, 45), run_before=run_before)


def _flow_turn(index: int, text: str, *events: tuple[str, str], dropped: str = "") -> TurnTrace:
    return TurnTrace.from_dict(
        {
            "index": index,
            "user_text": text,
            "events": [{"event": kind, "flow_id": flow} for kind, flow in events],
            "dropped": [{"reason": dropped, "command": None, "line": text}] if dropped else [],
        }
    )


def test_session_statistics(project, snap_compare):
    """The Statistics view of the browser, on its Dropped tab at 80x24."""
    with SessionStore(project) as store:
        for number, turns in enumerate(
            [
                [
                    _flow_turn(1, "where is my order", ("flow_started", "check_order_status")),
                    _flow_turn(2, "stop", ("flow_started", "pattern_cancel_flow")),
                    _flow_turn(3, "colour red", dropped="slot 'colour' is not in the domain"),
                ],
                [
                    _flow_turn(1, "blorp", ("flow_started", "pattern_cannot_handle")),
                    _flow_turn(2, "paint it", dropped="slot 'colour' is not in the domain"),
                ],
            ]
        ):
            session_id = f"20250601-093{number}-c3d{number}"
            _stored_session(store, session_id, "", 0, 95_000 - number * 60)
            at = datetime.fromtimestamp(NOW - 95_000 + number * 60, tz=timezone.utc)
            for trace in turns:
                store.add_turn(session_id, trace, finished_at=at)

    async def run_before(pilot: Pilot) -> None:
        from workbench.tui.screens.stats import StatsScreen

        await start(pilot)
        pilot.app.main.action_sessions()
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "stats", None) is not None)
        assert isinstance(pilot.app.screen, StatsScreen)
        await pilot.press("right", "right", "down")
        await pilot.pause()

    assert snap_compare(app_on(project), terminal_size=(80, 24), run_before=run_before)
