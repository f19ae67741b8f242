"""Layout a user sees: the chat keeps the newest line in view; maximize keeps the chat
where it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button
from tui_helpers import copy_sample, send, settle, start, turn_items

from workbench.tui.app import make_app

MESSAGES = [
    "where is my order A1001",
    "I want to cancel order A1002",
    "no",
    "where is my order A1003",
    "I want to change my address",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def newest_line_visible(app) -> bool:
    """The last turn, down to its last button, is inside the chat's visible region."""
    log = app.main.chat.chat_log
    last = turn_items(app)[-1]
    widgets = [last, *last.query(Button)]
    bottom = max(w.region.bottom for w in widgets)
    return bottom <= log.content_region.bottom and all(w.region.height > 0 for w in widgets)


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_the_chat_shows_the_newest_line_after_every_turn(project, size):
    app = make_app(project, offline=True)
    async with app.run_test(size=size) as pilot:
        await start(pilot)
        for text in MESSAGES:
            await send(pilot, text)
            await settle(pilot)
            log = app.main.chat.chat_log
            assert log.scroll_y == log.max_scroll_y, text
            assert newest_line_visible(app), text
        assert any(item.query(Button) for item in turn_items(app))  # buttons were offered


async def test_maximize_and_restore_keep_the_chats_scroll_position(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        for text in MESSAGES:
            await send(pilot, text)
        log = app.main.chat.chat_log
        log.scroll_to(y=3, animate=False)
        await settle(pilot)
        top = turn_at_top(app)
        log.focus()
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.screen.maximized is not None
        assert turn_at_top(app) == top
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.screen.maximized is None
        assert turn_at_top(app) == top


def turn_at_top(app) -> int:
    """The index of the first turn whose bottom is below the chat's top edge."""
    log = app.main.chat.chat_log
    items = turn_items(app)
    return next(i for i, item in enumerate(items) if item.region.bottom > log.content_region.y)


async def test_the_flow_tab_is_reachable_from_the_keyboard_at_80_columns(project):
    from textual.widgets import Tab, Tabs

    from workbench.tui.widgets.flow_panel import FlowPanel
    from workbench.tui.widgets.panel_area import PanelTabs

    app = make_app(project, offline=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await send(pilot, "I want to cancel order A1002")
        bar = app.query_one(PanelTabs).query_one(Tabs)
        bar.focus()
        for _ in range(12):  # right arrow along the bar until the Flow tab is active
            if str(bar.active_tab.label) == "Flow":
                break
            await pilot.press("right")
        await settle(pilot)
        tab = next(t for t in bar.query(Tab) if str(t.label) == "Flow")
        assert bar.active_tab is tab
        # scrolled into view, and its panel shown
        visible = bar.scrollable_content_region
        assert tab.region.x >= visible.x and tab.region.right <= visible.right
        assert app.query_one(FlowPanel).region.width > 0
