"""Offline, the Prompt panel shows the prompt a model would be sent for each message (a
user without a key tunes flow and slot descriptions there); test runs render none."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import Chat, load
from tui_helpers import copy_sample, send, settle, start

from workbench.tui.app import make_app
from workbench.tui.widgets.panel_area import PanelArea
from workbench.tui.widgets.panels import PromptPanel

ORDER = "where is my order A1001"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


async def test_a_session_renders_the_preview_only_when_asked(project):
    chat = Chat(load(project))
    plain = await chat.say(ORDER)
    assert plain.prompt is None and plain.prompt_preview is None
    chat.session.preview_prompt = True
    trace = await chat.say("I want to cancel order A1002")
    assert trace.prompt is None  # nothing was sent
    preview = trace.prompt_preview
    assert preview is not None and "I want to cancel order A1002" in preview
    flow = chat.session.project.flow("cancel_order")
    assert flow.description in preview  # the flows the model would choose from
    assert "order_id" in preview  # with their slots
    assert trace.to_dict().get("prompt_preview") is None  # never stored


async def test_the_prompt_panel_shows_the_unsent_prompt_offline(project):
    app = make_app(project, offline=True, store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        app.main.query_one(PanelArea).reveal("prompt")
        await settle(pilot)
        body = str(app.main.query_one(PromptPanel).body.render())
        assert body.startswith("no model call")
        assert "The prompt a model would be sent (not sent)" in body
        assert ORDER in body
        assert app.conversation.traces[-1].prompt_preview in body.replace("\n", "\n")
