"""The conversation's language, as Rasa keeps it: a built-in categorical `language` slot
valued by `language` and `additional_languages` in config.yml, set like any built-in slot
(a `/SetSlots(language=de)` button works whatever the flows collect), and the responses
then sent in their translation for it — which the trace and the chat name."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import Chat, load, write_project
from textual.command import CommandPalette
from tui_helpers import MessageLog, send, settle, start, wait_until

from workbench.project.loader import load_project
from workbench.trace.text import bot_message_lines
from workbench.tui.app import make_app
from workbench.tui.screens.main import TurnDone
from workbench.tui.widgets.chat import TurnItem

CONFIG = """\
recipe: default.v1
language: en
additional_languages: [de, fr]
assistant_id: languages
"""
FLOWS = """\
flows:
  greet:
    description: Say hello to the user.
    steps:
      - action: utter_hello
"""
DOMAIN = """\
responses:
  utter_hello:
    - text: "Hello!"
      translation:
        de: "Hallo!"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", flows=FLOWS, domain=DOMAIN, config=CONFIG)


def test_the_language_slot_is_built_in_and_valued_by_the_config(project):
    slot = load(project).slot("language")
    assert slot is not None and slot.is_builtin
    assert slot.type == "categorical"
    assert slot.values == ("de", "fr", "en") and slot.initial_value == "en"


def test_a_domain_may_not_define_the_language_slot(tmp_path):
    root = write_project(
        tmp_path / "p",
        flows=FLOWS,
        domain=DOMAIN + "slots:\n  language:\n    type: text\n",
        config=CONFIG,
    )
    errors = load_project(root, with_tests=False).issues.errors
    [error] = [e for e in errors if e.code == "builtin-slot"]
    assert error.location.startswith("domain.yml:")
    assert "'language' is a built-in slot" in error.message


async def test_setting_the_language_switches_the_responses_translation(project):
    chat = Chat(load(project))
    first = await chat.say("/start flow greet")
    assert first.bot_texts[0] == "Hello!"
    assert first.bot_messages[0].translation is None
    # no flow collects `language`: set all the same, as Rasa sets built-in slots
    switched = await chat.say("/SetSlots(language=de)")
    assert switched.slots_after["language"] == "de"
    assert switched.dropped == []
    hello = await chat.say("/start flow greet")
    assert hello.bot_texts[0] == "Hallo!"
    assert hello.bot_messages[0].translation == "de"
    assert "in de (a translation of utter_hello)" in "\n".join(
        bot_message_lines(hello.bot_messages)
    )
    back = await chat.say("/SetSlots(language=fr)")  # no French text: as written
    assert back.slots_after["language"] == "fr"
    again = await chat.say("/start flow greet")
    assert again.bot_texts[0] == "Hello!" and again.bot_messages[0].translation is None


async def test_the_palette_switches_language_and_the_chat_names_the_translation(project):
    app = make_app(project, offline=True, store=False)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"language: de")
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: log.of(TurnDone), what="the turn")
        assert log.of(TurnDone)[-1].trace.user_text == "/SetSlots(language=de)"
        await send(pilot, "/start flow greet")
        item = app.main.query(TurnItem).last()
        shown = " ".join(str(s.render()) for s in item.query("Static"))
        assert "Hallo!" in shown
        assert "in de (a translation of utter_hello)" in shown
