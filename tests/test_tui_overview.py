"""The workbench screen on a project folder (run headless with Textual's Pilot)."""

from pathlib import Path

from textual.widgets import Static

from workbench.tui.app import WorkbenchApp

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


async def test_screen_lists_flows_and_validation_result():
    app = WorkbenchApp(SAMPLE)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        flows = str(app.query_one("#flow-list", Static).render())
        assert "check_order_status" in flows
        assert "Validation: 0 error(s)" in str(app.query_one("#issues").border_title)


async def test_reload_key_picks_up_a_broken_file(make_project):
    root = make_project()
    app = WorkbenchApp(root)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        (root / "data" / "flows.yml").write_text("flows:\n  greet: [unclosed\n")
        await pilot.press("r")
        await pilot.pause()
        assert "Validation: 1 error(s)" in str(app.query_one("#issues").border_title)
        assert "data/flows.yml:2" in str(app.query_one("#issue-list", Static).render())
