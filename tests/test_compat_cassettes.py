"""The committed cassettes for Rasa's project templates (compat/rasa-templates/) are
well formed: every completion parses, in the DSL of the template's command generator,
to commands and nothing but commands. Needs neither the rasa-pro wheel nor a network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.calm.commands import CannotHandle
from workbench.understanding.cassette import load_cassette
from workbench.understanding.dsl.parser import SYNTAX_BY_GENERATOR, parse_commands

COMPAT = Path(__file__).resolve().parent.parent / "compat" / "rasa-templates"

# the command generator each template's config.yml names (Rasa Pro 3.21)
GENERATOR = {
    "default": "CompactLLMCommandGenerator",
    "basic": "SearchReadyLLMCommandGenerator",
    "finance": "SearchReadyLLMCommandGenerator",
    "telco": "SearchReadyLLMCommandGenerator",
}


def test_there_is_a_cassette_for_each_template():
    found = sorted(p.name.removesuffix(".cassette.yml") for p in COMPAT.glob("*.cassette.yml"))
    assert found == sorted(GENERATOR)


@pytest.mark.parametrize("template", sorted(GENERATOR))
def test_every_completion_parses_to_commands(template):
    syntax = SYNTAX_BY_GENERATOR[GENERATOR[template]]
    entries = load_cassette(COMPAT / f"{template}.cassette.yml")
    assert entries
    for entry in entries:
        parsed = parse_commands(entry.completion, syntax)
        where = f"{template}: {entry.test_case} / {entry.user!r}"
        assert not parsed.dropped, f"{where}: {[d.reason for d in parsed.dropped]}"
        assert parsed.commands, where
        assert not any(isinstance(c, CannotHandle) for c in parsed.commands), where
        # one command per non-empty line: nothing on a line is silently ignored
        lines = [line for line in entry.completion.splitlines() if line.strip()]
        assert len(parsed.commands) == len(lines), where


@pytest.mark.parametrize("template", sorted(GENERATOR))
def test_every_entry_is_keyed_to_a_test_case_and_says_why(template):
    path = COMPAT / f"{template}.cassette.yml"
    assert all(entry.test_case for entry in load_cassette(path))
    text = path.read_text(encoding="utf-8")
    blocks = re.split(r"\n  - (?=test_case:)", text)[1:]
    assert len(blocks) == len(load_cassette(path))
    for block in blocks:
        assert re.search(r"^    # \S", block, re.MULTILINE), f"no comment in:\n{block}"
