"""Terminal escapes in text the TUI shows (a bot message, a user message, a stored
session) are drawn as visible characters, never sent to the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import copy_sample, send, start, text_of, turn_items

from workbench.trace.records import (
    ActionRun,
    BotMessage,
    CommandRecord,
    DroppedRecord,
    Event,
    StackFrame,
)
from workbench.trace.turn import ModelUsage, RetrievedFlow, TurnTrace
from workbench.tui.app import make_app
from workbench.tui.widgets import PANELS, TracePanel

SIZE = (120, 40)
# YAML double-quoted escapes: a clear screen, a colour, a hyperlink, a title, a clipboard
# write, a bell, a backspace and carriage-return overwrite, and a one-byte C1 CSI
HOSTILE_YAML = (
    r'"Hi \e[2J\e[31mred\e[0m \e]8;;https://evil.example\alink\e]8;;\a'
    r' \e]0;pwned\a \e]52;c;ZXZpbA==\a bell\a back\bX over\rY c1\x9b2J"'
)


def _screen_text(app) -> str:
    """Every character the compositor would send for the whole screen, styles aside."""
    update = app.screen._compositor.render_full_update()
    return "\n".join(
        "".join(segment.text for strip in line for segment in strip) for line in update.strips
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_sample(tmp_path)
    general = root / "domain" / "responses" / "general.yml"
    text = general.read_text(encoding="utf-8")
    start_at = text.index("  utter_greet:")
    end_at = text.index("\n\n", start_at)
    general.write_text(
        text[:start_at] + f"  utter_greet:\n    - text: {HOSTILE_YAML}" + text[end_at:],
        encoding="utf-8",
    )
    return root


async def test_a_clear_screen_in_a_bot_message_is_shown_not_obeyed(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "where is my order \x1b[2J\x9b31m A1001")
        screen = _screen_text(app)
        for control in ("\x1b", "\x07", "\x08", "\r", "\x9b"):
            assert control not in screen
        assert "␛[2J" in screen
        chat = "\n".join(text_of(item) for item in turn_items(app))
        assert "Hi ␛[2J␛[31mred␛[0m ␛]8;;https://evil.example␇link" in chat
        assert "back␈X over␍Y c1<U+009B>2J" in chat
        assert "where is my order ␛[2J<U+009B>31m A1001" in chat


# -- every panel, fed a trace whose every text field is hostile ---------------------------------

X = "\x1b[2J\x9b"  # what each field carries
SHOWN_X = "␛[2J<U+009B>"


def _hostile_trace(project) -> TurnTrace:
    frame = StackFrame(frame_id="f1", type="flow", flow_id="store_info", step_id=f"s{X}")
    pattern = StackFrame(
        frame_id="f2", type="pattern_collect_information", context={"collect": f"slot{X}"}
    )
    slot = next(iter(project.domain.slots))
    return TurnTrace(
        index=1,
        user_text=f"hi{X}",
        generator=f"gen{X}",
        retrieved_flows=[RetrievedFlow(flow_id=f"flow{X}", score=1.0, reason=f"why{X}")],
        prompt=f"prompt{X}",
        raw_output=f"start flow store_info{X}",
        usage=ModelUsage(model=f"model{X}", error=f"provider said{X}"),
        commands=[CommandRecord(name="set slot", fields={"name": slot, "value": f"v{X}"})],
        dropped=[DroppedRecord(reason=f"dropped{X}", line=f"line{X}")],
        events=[
            Event.from_dict({"event": "user", "text": f"hi{X}"}),
            Event.from_dict({"event": "slot", "name": slot, "value": f"v{X}"}),
            Event.from_dict({"event": "action", "name": "action_x"}),
            Event.from_dict({"event": "bot", "text": f"bot{X}"}),
        ],
        actions=[ActionRun(name="action_x", kind="server", log_lines=(f"log{X}",), error=f"e{X}")],
        bot_messages=[BotMessage(text=f"bot{X}")],
        slots_after={slot: f"v{X}", f"extra{X}": f"w{X}"},
        stack_after=[frame, pattern],
        errors=[f"error{X}"],
        notices=[f"notice{X}"],
    )


async def test_every_panel_shows_controls_as_text(project):
    from textual.app import App

    app = make_app(project, offline=True)
    trace = _hostile_trace(app.conversation.project)

    class Panels(App):
        def compose(self):
            for cls in PANELS:
                yield cls()

    panels_app = Panels()
    async with panels_app.run_test(size=(200, 400)) as pilot:
        for panel in panels_app.query(TracePanel):
            panel.show_trace(trace, app.conversation.project)
        await pilot.pause()
        for panel in panels_app.query(TracePanel):
            shown = text_of(panel)
            for control in ("\x1b", "\x9b"):
                assert control not in shown, (type(panel).__name__, shown)
        everything = "\n".join(text_of(p) for p in panels_app.query(TracePanel))
        for field in ("flow", "why", "prompt", "model", "provider said", "v", "log", "error"):
            assert f"{field}{SHOWN_X}" in everything, field
        screen = _screen_text(panels_app)
        assert "\x1b" not in screen and "\x9b" not in screen
