"""The palette's "Compare with ...": the conversation replayed under another generator,
each turn that behaves differently shown (the A/B of one session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from tui_helpers import copy_sample, send, settle, start, wait_until

from workbench.tui.app import make_app
from workbench.tui.screens.comparison import ComparisonScreen
from workbench.tui.screens.main import OFFLINE_LABEL
from workbench.understanding.base import ScriptedGenerator

# a model that takes a cancellation for a status question
WRONG = {
    "I want to cancel my order A1002": "start flow check_order_status\nset slot order_id A1002"
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


async def test_a_conversation_is_compared_with_the_offline_generator(project):
    app = make_app(project, generator=ScriptedGenerator(WRONG), store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "I want to cancel my order A1002")
        assert app.main.comparison_choice() == OFFLINE_LABEL
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"Compare with")
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ComparisonScreen), what="the comparison"
        )
        text = app.screen.text
        assert "with offline" in text and "1 behave differently" in text
        assert "turn 1 · I want to cancel my order A1002" in text
        assert "commands, recorded: start flow check_order_status | set slot order_id A1002" in text
        assert "commands, now:      start flow cancel_order | set slot order_id A1002" in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ComparisonScreen)


async def test_an_offline_conversation_is_compared_with_the_projects_model(project):
    from workbench.project.loader import load_project
    from workbench.understanding.models import command_generator_model

    model = command_generator_model(load_project(project).project)
    app = make_app(project, offline=True, store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "where is my order")
        assert app.main.comparison_choice() == model.model
