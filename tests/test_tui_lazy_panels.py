"""The main screen mounts the panel of a tab only once the tab is shown: the first paint
and the model's preparation are not slowed by panels nobody looks at, and nothing a user
asks of a panel is lost meanwhile."""

from __future__ import annotations

import threading
import time

import pytest
from tui_helpers import copy_sample, panels_up, send, settle, text_of, turn_items, wait_until

from workbench.tui.app import make_app
from workbench.tui.widgets import FlowPanel, HistoryPanel, SlotsPanel
from workbench.tui.widgets.panel_area import PanelTabs
from workbench.understanding import warmup
from workbench.understanding.base import ScriptedGenerator

SIZE = (100, 30)
SCRIPT = {"where is my order A1001": "start flow check_order_status\nset slot order_id A1001"}


@pytest.fixture
def project(tmp_path):
    return copy_sample(tmp_path)


@pytest.fixture
def preparing():
    """A model preparation that runs until the test ends."""
    done = threading.Event()
    state = warmup.start(lambda: done.wait(30), name="test preparation")
    yield
    done.set()
    assert state.wait(10)


async def test_quitting_while_the_model_is_prepared_does_not_wait_for_it(project, preparing):
    app = make_app(project, generator=ScriptedGenerator(SCRIPT), store=False, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: turn_items(app), what="the greeting")
        started = time.monotonic()
    assert time.monotonic() - started < 5  # the action runner's start stopped waiting


async def test_a_tab_s_panel_is_mounted_when_the_tab_is_first_shown(project):
    app = make_app(project, generator=ScriptedGenerator(SCRIPT), store=False, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: turn_items(app), what="the greeting")
        await settle(pilot)
        area = app.main.panels
        assert "tab-slots" in area.pending and not app.main.query(SlotsPanel)
        await send(pilot, "where is my order A1001")
        assert not app.main.query(SlotsPanel)  # still nobody looked

        area.query_one(PanelTabs).active = "tab-slots"  # the user opens the Slots tab
        await wait_until(pilot, lambda: app.main.query(SlotsPanel), what="the slots panel")
        assert "A1001" in text_of(app.main.query_one(SlotsPanel))  # the turn shown
        assert "tab-history" in area.pending and "tab-slots" not in area.pending

        # the palette's "Copy tracker state" needs the History panel: it is mounted first
        await app.main.run_action("copy_tracker")
        assert app.main.query(HistoryPanel) and not area.pending


async def test_wide_the_pinned_panels_are_there_from_the_start(project):
    app = make_app(project, generator=ScriptedGenerator(SCRIPT), store=False, watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: turn_items(app), what="the greeting")
        await send(pilot, "where is my order A1001")
        assert "A1001" in text_of(app.main.query_one(SlotsPanel))
        assert "tab-flow" in app.main.panels.pending
        await panels_up(pilot)
        assert app.main.query_one(FlowPanel).shown_flow == "check_order_status"


async def test_a_flow_picked_before_its_panel_is_mounted_is_shown(project):
    app = make_app(project, generator=ScriptedGenerator(SCRIPT), store=False, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: turn_items(app), what="the greeting")
        area = app.main.panels
        assert "tab-flow" in area.pending
        area.select_flow("cancel_order")
        area.reveal("flow")
        await wait_until(pilot, lambda: app.main.query(FlowPanel), what="the flow panel")
        await pilot.pause()
        assert app.main.query_one(FlowPanel).shown_flow == "cancel_order"
        assert app.screen.focused is not None and app.main.query_one(FlowPanel) in (
            app.screen.focused,
            *app.screen.focused.ancestors,
        )
