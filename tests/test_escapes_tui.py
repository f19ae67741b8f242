"""Terminal escapes in text the TUI shows (a bot message, a user message, a stored
session) are drawn as visible characters, never sent to the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import copy_sample, send, start, text_of, turn_items

from workbench.tui.app import make_app

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
