"""The session browser's Statistics view (ctrl+s): the figures of `sessions stats` for the
sessions the browser lists, in tabs that read at 80x24, and an example turn of a
dropped-command reason opens its session at that turn."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from session_helpers import record
from textual.widgets import DataTable, TabbedContent
from tui_helpers import MessageLog, copy_sample, start, text_of, wait_until

from workbench.tui.app import make_app
from workbench.tui.screens.sessions import SessionsScreen, TranscriptScreen
from workbench.tui.screens.stats import StatsReady, StatsScreen
from workbench.tui.widgets import CommandsPanel

DAY = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
NONEXISTENT = "flow 'nonexistent' does not exist"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, list[str]]:
    root = copy_sample(tmp_path)
    ids = [
        record(root, ["/session_start", "where is my order", "/cancel flow"], at=DAY),
        record(
            root,
            ["/session_start", "/start flow nonexistent", "blorp"],
            at=DAY.replace(hour=10),
        ),
    ]
    return root, ids


def screen_text(app) -> str:
    """The characters of the whole screen as the terminal gets them."""
    update = app.screen._compositor.render_full_update()
    return "\n".join(
        "".join(segment.text for strip in line for segment in strip) for line in update.strips
    )


async def open_stats(pilot, log: MessageLog) -> StatsScreen:
    app = pilot.app
    await start(pilot)
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
    log.clear()
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: log.of(StatsReady), what="the figures")
    assert isinstance(app.screen, StatsScreen)
    await pilot.pause()
    return app.screen


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_statistics_of_the_stored_sessions(project, size):
    root, ids = project
    app = make_app(root, offline=True, store=False, watch=False)
    log = MessageLog(StatsReady)
    async with app.run_test(size=size, message_hook=log) as pilot:
        stats = await open_stats(pilot, log)
        assert log.names() == ["StatsReady"]
        (ready,) = log.of(StatsReady)
        assert ready.stats is not None and ready.stats.sessions == 2
        shown = screen_text(app)
        assert "Statistics · every session of the store" in shown
        assert "2 sessions (2 local, 0 imported) · 4 user turns" in shown
        lines = shown.splitlines()
        cancel = next(line for line in lines if line.strip().startswith("cancel "))
        assert cancel.split() == ["cancel", "1", "50.0%", "1", "25.0%", "1"]
        handle = next(line for line in lines if "cannot handle" in line)
        assert handle.split()[2:] == ["1", "50.0%", "1", "25.0%", "1"]

        # ←/→ change tabs: the flows, whole at this size
        await pilot.press("right")
        await wait_until(pilot, lambda: stats.query_one(TabbedContent).active == "stats-flows")
        flow = next(x for x in screen_text(app).splitlines() if "check_order_status" in x)
        assert flow.split() == ["check_order_status", "1", "0", "0.0%", "1", "0"]

        # the dropped reasons, each with the turns that dropped one
        await pilot.press("right")
        await wait_until(pilot, lambda: stats.query_one(TabbedContent).active == "stats-dropped")
        shown = screen_text(app)
        assert NONEXISTENT in shown
        assert f"{ids[1]} turn 1" in shown
        await pilot.press("right")
        shown = screen_text(app)
        assert "2026-12-02" in shown and "internal" in shown

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))


async def test_an_example_turn_opens_its_session_at_that_turn(project):
    root, ids = project
    app = make_app(root, offline=True, store=False, watch=False)
    log = MessageLog(StatsReady)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        stats = await open_stats(pilot, log)
        stats.query_one(TabbedContent).active = "stats-dropped"
        await pilot.pause()
        await pilot.press("down")  # from the tabs into the table
        table = stats.query_one("#stats-reasons", DataTable)
        await wait_until(pilot, lambda: table.has_focus)
        assert [str(cell) for cell in table.get_row_at(0)] == ["1", "1", NONEXISTENT]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        transcript = app.screen
        assert transcript.summary.id == ids[1]
        assert transcript.viewing == 1
        panel = transcript.query_one(CommandsPanel)
        assert panel.trace.index == 1
        assert "Dropped (1)" in text_of(panel)
        await pilot.press("escape", "escape")  # the latest turn, then back
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen))
        # Enter on the reason itself opens its latest turn
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        assert (app.screen.summary.id, app.screen.viewing) == (ids[1], 1)


async def test_the_statistics_follow_the_browser_search(project):
    root, _ = project
    app = make_app(root, offline=True, store=False, watch=False)
    log = MessageLog(StatsReady)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        browser = app.screen
        await pilot.press(*"blorp")
        table = browser.query_one("#sessions-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.click("#stats")
        await wait_until(pilot, lambda: log.of(StatsReady), what="the figures")
        (ready,) = log.of(StatsReady)
        assert ready.stats is not None
        assert (ready.stats.sessions, ready.stats.turns) == (1, 2)
        shown = screen_text(app)
        assert "the session that matches “blorp”" in shown
        assert "1 session (1 local, 0 imported) · 2 user turns" in shown
        # the palette offers the view's actions, and the browser's Statistics
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Count again" in titles
        assert "Session statistics" in {c.title for c in app.get_system_commands(browser)}


async def test_a_project_without_sessions(tmp_path):
    root = copy_sample(tmp_path)
    app = make_app(root, offline=True, store=False, watch=False)
    log = MessageLog(StatsReady)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        await open_stats(pilot, log)
        assert log.of(StatsReady)[0].stats is None
        assert "No sessions saved yet" in screen_text(app)
    assert not (root / ".calm" / "sessions.db").exists()


async def test_the_figures_meet_the_contrast_of_the_main_screen(project):
    from test_tui_contrast import low_contrast_text

    root, _ = project
    app = make_app(root, offline=True, store=False, watch=False)
    log = MessageLog(StatsReady)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        stats = await open_stats(pilot, log)
        for tab in ("stats-overview", "stats-flows", "stats-dropped", "stats-days"):
            stats.query_one(TabbedContent).active = tab
            await pilot.pause()
            assert low_contrast_text(app) == [], tab
