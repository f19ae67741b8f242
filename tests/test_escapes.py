"""No terminal escape reaches a terminal: text from a model, an action, a user, a stored
session or a project file is shown with its control characters made visible (`␛[2J`), in
the shell (and `--debug`), `sessions show`, `sessions replay`, exports and the e2e report.
The TUI's side is tests/test_escapes_tui.py."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from session_helpers import copy_sample, edit, record

from workbench.cli.main import main
from workbench.terminal_text import escaped, printable
from workbench.trace.records import BotMessage, Button
from workbench.trace.text import chat_markup, event_line, trace_rows, truncate
from workbench.trace.turn import TurnTrace

# what must never be written raw: C0 controls but newline, DEL, C1 controls
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")

CLASSES = {
    "csi clear screen": ("a\x1b[2Jb", "a␛[2Jb"),
    "sgr colour": ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
    "osc 8 hyperlink": (
        "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
        "␛]8;;https://evil.example␇click␛]8;;␇",
    ),
    "osc 52 clipboard": ("\x1b]52;c;ZXZpbA==\x07", "␛]52;c;ZXZpbA==␇"),
    "osc 0 title": ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
    "osc 2 title, string terminator": ("\x1b]2;pwned\x1b\\", "␛]2;pwned␛\\"),
    "bel": ("ding\x07", "ding␇"),
    "backspace overwrite": ("paid\x08\x08\x08\x08free", "paid␈␈␈␈free"),
    "carriage return overwrite": ("ok\rBAD", "ok␍BAD"),
    "c1 csi": ("\x9b2J", "<U+009B>2J"),
    "c1 osc": ("\x9d0;t\x9c", "<U+009D>0;t<U+009C>"),
    "nul and del": ("a\x00b\x7f", "a␀b␡"),
    "bidi override": ("abc\u202edcb", "abc<U+202E>dcb"),
    "bidi isolate": ("\u2066x\u2069", "<U+2066>x<U+2069>"),
}
HOSTILE = " ".join(raw for raw, _ in CLASSES.values())
SHOWN = " ".join(shown for _, shown in CLASSES.values())


def assert_clean(text: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, f"raw {found.group()!r} in {text!r}"
    assert "\u202e" not in text and "\u2066" not in text


# -- the one function ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "shown"), CLASSES.values(), ids=CLASSES.keys())
def test_printable_shows_each_class(raw, shown):
    assert printable(raw) == shown
    assert_clean(printable(raw))


def test_printable_keeps_newlines_and_tabs_unless_asked_for_one_line():
    assert printable("a\n\tb\r\nc") == "a\n\tb\nc"
    assert printable("a\n\tb", multiline=False) == "a␊␉b"
    plain = "Grüße, 注文 A1001 → ok 🙂"
    assert printable(plain) is plain  # nothing to do: the same string


def test_the_renderer_shows_them_everywhere():
    message = BotMessage(text=HOSTILE, buttons=[Button(title="\x1b[2Jyes", payload="/affirm\x07")])
    markup = "\n".join(chat_markup(message))
    assert SHOWN in markup and "␛[2Jyes" in markup and "/affirm␇" in markup
    assert_clean(markup)
    assert escaped("[bold]\x1b[2J") == "\\[bold]␛[2J"
    assert truncate("\x1b[2J" * 10, 6) == "␛[2J␛…"
    trace = TurnTrace.from_dict(
        {
            "index": 1,
            "user_text": "hi \x1b[2J",
            "raw_output": "start flow x\x1b[2J",
            "bot_messages": [{"text": HOSTILE}],
            "events": [{"event": "bot", "text": HOSTILE}],
            "errors": ["boom \x9b"],
        }
    )
    for _, text in trace_rows(trace):
        assert_clean(text)
    kind, text = event_line(trace.events[0], text_limit=0)
    assert kind == "bot" and "␛[2J" in text
    assert_clean(text)


# -- through each front end -------------------------------------------------------------------

# the same controls as YAML double-quoted escapes, for a response text in a project file
HOSTILE_YAML = (
    r"\e[2J \e[31mred\e[0m \e]8;;https://evil.example\aclick\e]8;;\a \e]52;c;ZXZpbA==\a"
    r" \e]0;pwned\a ding\a paid\b\bfree ok\rBAD \x9b2J \u202edcb "
)
SHOWN_YAML = (
    "␛[2J ␛[31mred␛[0m ␛]8;;https://evil.example␇click␛]8;;␇ ␛]52;c;ZXZpbA==␇"
    " ␛]0;pwned␇ ding␇ paid␈␈free ok␍BAD <U+009B>2J <U+202E>dcb "
)
USER = "hello \x1b[2J\x9b there"
CHAT = [USER, "/start flow store_info", "/SetSlots(faq_topic=payment)"]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """sample_project whose payment answer (a response text in YAML) holds every class."""
    root = copy_sample(tmp_path)
    edit(root, "domain/responses/support.yml", '"We accept Visa', f'"{HOSTILE_YAML}We accept Visa')
    return root


def test_the_shell_and_its_debug_trace(shop, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(CHAT) + "\n/exit\n"))
    assert main(["shell", str(shop), "--debug", "--no-store"]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert f"bot> {SHOWN_YAML}We accept Visa" in out
    assert "set slot(slot='faq_topic', value='payment'," in out  # the --debug trace


def test_sessions_show_and_replay(shop, capsys):
    session_id = record(shop, ["/session_start", *CHAT])
    for verbose in ([], ["-v"]):
        assert main(["sessions", "show", session_id, str(shop), *verbose]) == 0
        out = capsys.readouterr().out
        assert_clean(out)
        assert "you> hello ␛[2J<U+009B> there" in out
        assert f"bot> {SHOWN_YAML}We accept Visa" in out
    assert main(["sessions", "show", session_id, str(shop), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert_clean(out)  # JSON escapes C0 itself; C1 and bidi are written as \u too
    assert json.loads(out)["turns"][1]["user_text"] == USER
    assert main(["sessions", "list", str(shop)]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "hello ␛[2J<U+009B> there" in out  # the title
    edit(shop, "domain/responses/support.yml", "We accept Visa", r"We accept \e]0;x\a cash")
    assert main(["sessions", "replay", session_id, str(shop)]) == 1
    out = capsys.readouterr().out
    assert_clean(out)
    assert "We accept \\x1b]0;x\\x07 cash" in out  # a repr, quoted


def test_the_export_keeps_the_text_escaped_and_replays(shop, capsys):
    session_id = record(shop, ["/session_start", *CHAT])
    assert main(["sessions", "export", session_id, str(shop), "--assertions"]) == 0
    test_path, cassette_path = (Path(p) for p in capsys.readouterr().out.splitlines()[:2])
    for path in (test_path, cassette_path):
        written = path.read_text(encoding="utf-8")
        assert_clean(written)  # `cat` shows YAML escapes (\e), never a raw ESC
    data = YAML(typ="safe").load(test_path.read_text(encoding="utf-8"))
    steps = data["test_cases"][0]["steps"]
    assert steps[0]["user"] == USER  # the message itself round-trips, escapes and all
    assert main(["test", str(shop), str(test_path), "--cassette", str(cassette_path)]) == 0
    assert_clean(capsys.readouterr().out)


def test_the_e2e_report_and_junit(shop, capsys, tmp_path):
    case = shop / "e2e_tests" / "hostile.yml"
    case.write_text(
        "test_cases:\n"
        "  - test_case: pay\n"
        "    steps:\n"
        f'      - user: "{HOSTILE_YAML}"\n'
        "      - user: /start flow store_info\n"
        "      - user: /SetSlots(faq_topic=payment)\n"
        "      - utter: utter_faq_shipping\n",
        encoding="utf-8",
    )
    junit = tmp_path / "junit.xml"
    assert main(["test", str(shop), str(case), "--offline", "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert_clean(out)
    assert "expected utter: utter_faq_shipping" in out
    assert "[utter_faq_payment] '\\x1b[2J \\x1b[31mred" in out  # a repr, quoted
    xml = junit.read_text(encoding="utf-8")
    assert_clean(xml)
    assert "We accept Visa" in xml


def test_validate_quotes_project_files_visibly(shop, capsys):
    (shop / "data" / "flows" / "hostile.yml").write_text(
        'flows:\n  hostile:\n    description: "clears \\e[2J"\n'
        '    steps:\n      - action: "utter_\\e[2J\\x9b"\n',
        encoding="utf-8",
    )
    assert main(["validate", str(shop)]) == 1
    out = capsys.readouterr().out
    assert_clean(out)
    assert "utter_␛[2J<U+009B>" in out
