"""SVG snapshots of the Flow tab's chart in the middle of a flow, at 100x30 and 160x45
(pytest-textual-snapshot; see test_tui_snapshots.py for how to update them)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.pilot import Pilot
from tui_helpers import copy_sample, freeze_times, send, start

from workbench.tui.app import make_app
from workbench.tui.widgets.flow_chart import FlowChart
from workbench.tui.widgets.panel_area import PanelTabs
from workbench.understanding.base import ScriptedGenerator

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc).timestamp()
SCRIPT = {
    "I want to return an item": "start flow return_item",
    "A1003": "set slot order_id A1003",
}


async def _on_the_flow_tab(pilot: Pilot) -> None:
    await start(pilot)
    await send(pilot, "I want to return an item")
    await send(pilot, "A1003")
    pilot.app.main.query_one(PanelTabs).active = "tab-flow"
    await pilot.pause()
    pilot.app.main.query_one(FlowChart).focus()
    pilot.app.main.chat.input.cursor_blink = False
    # the chart scrolls to the waiting step once laid out: let a busy machine get there
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):
        await pilot.pause()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(100, 30), (160, 45)], ids=["100x30", "160x45"])
def test_flow_chart_in_the_middle_of_a_flow(tmp_path, snap_compare, size):
    app = make_app(
        copy_sample(tmp_path),
        generator=ScriptedGenerator(SCRIPT),
        clock=lambda: NOW,
        watch=False,
        store=False,
    )
    freeze_times(app)
    assert snap_compare(app, terminal_size=size, run_before=_on_the_flow_tab)
