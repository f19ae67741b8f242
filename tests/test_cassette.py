"""Cassettes: deterministic record/replay of model output."""

from __future__ import annotations

import asyncio

import pytest
from engine_helpers import commands

from workbench.calm.commands import SetSlot, StartFlow
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.understanding.base import GeneratorOutput, ScriptedGenerator
from workbench.understanding.cassette import (
    CassetteEntry,
    CassetteError,
    CassetteGenerator,
    CassetteMiss,
    RecordingGenerator,
    completion_for,
    dump_cassette,
    load_cassette,
    save_cassette,
)

MODEL = {
    "hello there": "start flow greet",
    "I am Ada": "set slot name Ada",
    "again please": "start flow greet\nset slot name Bob",
}


@pytest.fixture
def project(make_project):
    return load_project(make_project()).project


def converse(project, generator, messages, seed: int = 3):
    async def go():
        # a clock that stands still: recording and replay take the same (no) time
        session = Session(project, generator, sender_id="c", seed=seed, clock=lambda: 0.0)
        return [await session.handle(text) for text in messages]

    return asyncio.run(go())


def comparable(trace) -> dict:
    """A trace dict minus what legitimately differs between recording and replay."""
    data = trace.to_dict()
    data.pop("generator")  # the recording shows the real generator, the replay "cassette"
    return data


# --- the file --------------------------------------------------------------------------------


def test_save_and_load_round_trip_with_literal_blocks(tmp_path):
    path = tmp_path / "c.yml"
    entries = [
        CassetteEntry("hello", "start flow greet"),
        CassetteEntry("two lines", "start flow greet\nset slot name Ada"),
        CassetteEntry("trailing newline", "start flow greet\nset slot name Ada\n"),
        CassetteEntry("odd: 'quotes' & #hash", " leading space\ntrailing space \n"),
        CassetteEntry("empty", ""),
        CassetteEntry("unicode ✓", "set slot name Zoë\nset slot city Zürich"),
    ]
    save_cassette(path, entries)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("version: 1\nentries:\n")
    assert "completion: |" in text  # multi-line completions are literal blocks
    assert "\n  - user: hello\n    completion: start flow greet\n" in text  # block style
    assert load_cassette(path) == entries
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_empty_and_missing_entries(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("version: 1\n", encoding="utf-8")
    assert load_cassette(path) == []
    path.write_text("", encoding="utf-8")
    assert load_cassette(path) == []
    assert dump_cassette([]) == "version: 1\nentries: []\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\nentries: []\n", "version 2 is not supported"),
        ("entries: {a: 1}\n", "`entries` must be a list"),
        ("entries:\n  - completion: x\n", "entry 1 must be a mapping"),
        ("entries: [\n", "not valid YAML"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_malformed_cassettes(tmp_path, text, message):
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError, match=message):
        CassetteGenerator(path)


def test_missing_cassette(tmp_path):
    with pytest.raises(CassetteError, match="does not exist"):
        CassetteGenerator(tmp_path / "nope.yml")


# --- replay ----------------------------------------------------------------------------------


def test_replay_parses_completions_like_model_output(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(
        path,
        [
            CassetteEntry("  hello there ", "start flow greet"),
            CassetteEntry("I am Ada", "set slot name Ada\nthis line is garbage"),
        ],
    )
    generator = CassetteGenerator(path)
    first, second = converse(project, generator, ["hello there", "  I am Ada  "])
    assert first.generator == "cassette"
    assert first.raw_output == "start flow greet"
    assert commands(first.commands) == [StartFlow("greet").as_dict()]
    assert second.parsed_commands[0].name == "set slot"
    assert second.dropped  # the garbage line is dropped with a reason, as for a model
    assert second.bot_texts[0] == "Hello Ada!"
    assert generator.unused == []


def test_repeated_messages_consume_entries_in_order(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(
        path,
        [
            CassetteEntry("go", "start flow greet"),
            CassetteEntry("other", "cancel flow"),
            CassetteEntry("go", "set slot name Ada"),
        ],
    )
    generator = CassetteGenerator(path)
    first, second = converse(project, generator, ["go", "go"])
    assert first.raw_output == "start flow greet"
    assert second.raw_output == "set slot name Ada"
    assert [e.user for e in generator.unused] == ["other"]
    generator.rewind()
    assert len(generator.unused) == 3


def test_a_miss_names_the_message(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(path, [CassetteEntry("hello there", "start flow greet")])
    generator = CassetteGenerator(path)

    async def generate(message):
        return await generator.generate(message, None, project)

    asyncio.run(generate("hello there"))
    with pytest.raises(CassetteMiss) as caught:
        asyncio.run(generate("hello there"))  # its only entry is used up
    assert "'hello there'" in str(caught.value)
    assert "1 of 1 entries already used" in str(caught.value)
    assert caught.value.message == "hello there"


def test_a_miss_in_a_session_becomes_an_internal_error_turn(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(path, [])
    (trace,) = converse(project, CassetteGenerator(path), ["what is this?"])
    assert any("no cassette entry for the user message 'what is this?'" in e for e in trace.errors)
    assert any(e.startswith("command generator failed: CassetteMiss: ") for e in trace.errors)
    assert [m.response for m in trace.bot_messages] == ["utter_internal_error_rasa"]


def test_direct_commands_never_reach_the_cassette(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(path, [])
    traces = converse(project, CassetteGenerator(path), ["/start flow greet", "/SetSlots(name=A)"])
    assert all(not t.errors for t in traces)


def test_replay_uses_the_project_command_syntax(make_project, tmp_path):
    root = make_project(
        {
            "config.yml": """
            recipe: default.v1
            language: en
            pipeline:
              - name: SingleStepLLMCommandGenerator
            """
        }
    )
    project = load_project(root).project
    path = tmp_path / "c.yml"
    save_cassette(path, [CassetteEntry("hi", "StartFlow(greet)")])
    (trace,) = converse(project, CassetteGenerator(path), ["hi"])
    assert commands(trace.commands) == [StartFlow("greet").as_dict()]


# --- recording ---------------------------------------------------------------------------------


def test_recording_saves_after_every_turn(project, tmp_path):
    path = tmp_path / "rec" / "c.yml"
    recorder = RecordingGenerator(ScriptedGenerator(MODEL), path)
    assert recorder.name == "scripted"

    async def go():
        session = Session(project, recorder)
        await session.handle("hello there")
        assert load_cassette(path) == [CassetteEntry("hello there", "start flow greet")]
        await session.handle("/SetSlots(name=Zed)")  # direct: nothing to record
        await session.handle("  I am Ada ")
        return load_cassette(path)

    assert asyncio.run(go()) == [
        CassetteEntry("hello there", "start flow greet"),
        CassetteEntry("I am Ada", "set slot name Ada"),
    ]
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.yml"]


def test_recording_starts_afresh_unless_appending(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(path, [CassetteEntry("old", "cancel flow")])
    converse(
        project, RecordingGenerator(ScriptedGenerator(MODEL), path, append=True), ["hello there"]
    )
    assert [e.user for e in load_cassette(path)] == ["old", "hello there"]
    converse(project, RecordingGenerator(ScriptedGenerator(MODEL), path), ["hello there"])
    assert [e.user for e in load_cassette(path)] == ["hello there"]


def test_record_then_replay_gives_identical_traces(project, tmp_path):
    path = tmp_path / "c.yml"
    messages = ["hello there", "I am Ada", "/start flow greet", "again please", "nonsense"]
    recorded = converse(project, RecordingGenerator(ScriptedGenerator(MODEL), path), messages)
    replayed = converse(project, CassetteGenerator(path), messages)
    assert [comparable(t) for t in recorded] == [comparable(t) for t in replayed]
    assert [t.generator for t in recorded] == ["scripted", "scripted", "", "scripted", "scripted"]
    assert {t.generator for t in replayed} == {"cassette", ""}
    assert "completion: |" in path.read_text(encoding="utf-8")  # "again please" has 2 lines


class CommandsOnly:
    """A generator that produces commands without any text (raw_output None)."""

    name = "commands-only"

    async def generate(self, message, tracker, project):
        return GeneratorOutput([StartFlow("greet"), SetSlot("name", "Ada")])


def test_commands_without_text_are_recorded_as_dsl(project, tmp_path):
    path = tmp_path / "c.yml"
    recorded = converse(project, RecordingGenerator(CommandsOnly(), path), ["hi"])
    assert load_cassette(path) == [CassetteEntry("hi", "start flow greet\nset slot name Ada")]
    replayed = converse(project, CassetteGenerator(path), ["hi"])
    assert recorded[0].commands == replayed[0].commands


def test_completion_for_prefers_the_raw_output():
    output = GeneratorOutput([StartFlow("greet")], raw_output="start flow greet\n")
    assert completion_for(output, "v2") == "start flow greet\n"
    # raw text that would not parse back to the same commands: the commands win
    odd = GeneratorOutput([StartFlow("greet")], raw_output="I think: greet")
    assert completion_for(odd, "v2") == "start flow greet"


def test_e2e_run_replays_a_cassette_via_the_command_line(make_project, tmp_path, capsys):
    from workbench.cli.test import cmd_test

    root = make_project(
        {
            "e2e_tests/t.yml": """
            test_cases:
              - test_case: natural
                steps:
                  - user: "hello there"
                  - utter: utter_ask_name
                  - user: "I am Ada"
                  - bot: "Hello Ada!"
            """
        }
    )
    cassette = tmp_path / "run.yml"
    save_cassette(
        cassette,
        [
            CassetteEntry("hello there", "start flow greet"),
            CassetteEntry("I am Ada", "set slot name Ada"),
        ],
    )
    assert cmd_test([str(root), "--cassette", str(cassette)]) == 0
    save_cassette(cassette, [CassetteEntry("hello there", "start flow greet")])
    capsys.readouterr()
    assert cmd_test([str(root), "--cassette", str(cassette)]) == 1
    out = capsys.readouterr().out.replace("\n", " ")
    assert "no cassette entry for the user message 'I am Ada'" in " ".join(out.split())


# --- entries per test case (`test_case:`) --------------------------------------------------------


def test_test_case_keys_round_trip_and_are_checked(tmp_path):
    path = tmp_path / "c.yml"
    entries = [
        CassetteEntry("hi", "start flow greet", test_case="first"),
        CassetteEntry("hi", "cancel flow"),
        CassetteEntry("hi", "start flow greet", test_case="e2e_tests/b.yml::first"),
    ]
    save_cassette(path, entries)
    text = path.read_text(encoding="utf-8")
    assert "  - test_case: first\n    user: hi\n" in text
    assert "  - user: hi\n    completion: cancel flow\n" in text  # no key: none written
    assert load_cassette(path) == entries
    path.write_text("entries:\n  - test_case: [a]\n    user: hi\n", encoding="utf-8")
    with pytest.raises(CassetteError, match="`test_case` must be a test case name"):
        load_cassette(path)


def test_keyed_entries_are_used_only_by_their_test_case(project, tmp_path):
    path = tmp_path / "c.yml"
    save_cassette(
        path,
        [
            CassetteEntry("go", "start flow greet", test_case="one"),
            CassetteEntry("go", "cancel flow"),
            CassetteEntry("go", "set slot name Bo", test_case="t/b.yml::two"),
        ],
    )
    generator = CassetteGenerator(path)

    def generate(message):
        return asyncio.run(generator.generate(message, None, project)).raw_output

    assert generate("go") == "cancel flow"  # no test case runs: only unkeyed entries
    with pytest.raises(CassetteMiss):
        generate("go")
    generator.begin_test_case("two", "t/a.yml")  # same name, another file: not its entry
    with pytest.raises(CassetteMiss, match="test case 'two'"):
        generate("go")
    generator.begin_test_case("two", "t/b.yml")
    assert generate("go") == "set slot name Bo"
    generator.begin_test_case("one", "t/a.yml")
    assert generate("go") == "start flow greet"
    generator.begin_test_case("one", "t/a.yml")  # begins again: its entries are fresh
    assert generate("go") == "start flow greet"
    generator.begin_test_case(None)
    with pytest.raises(CassetteMiss):
        generate("go")


E2E_FILES = {
    "e2e_tests/a.yml": """
    test_cases:
      - test_case: same name
        steps:
          - user: "hello there"
          - utter: utter_ask_name
          - user: "it is me"
          - bot: "Hello Ada!"
    """,
    "e2e_tests/b.yml": """
    test_cases:
      - test_case: same name
        steps:
          - user: "hello there"
          - utter: utter_ask_name
          - user: "it is me"
          - bot: "Hello Bob!"
      - test_case: shared
        steps:
          - user: "hello there"
          - utter: utter_ask_name
    """,
}


def test_e2e_runs_with_keyed_entries_in_any_order_and_alone(make_project, tmp_path, capsys):
    from workbench.cli.test import cmd_test

    root = make_project(E2E_FILES)
    cassette = tmp_path / "run.yml"
    save_cassette(
        cassette,
        [
            # the same text needs different output in different test cases
            CassetteEntry("it is me", "set slot name Bob", test_case="e2e_tests/b.yml::same name"),
            CassetteEntry("hello there", "start flow greet", test_case="b.yml::same name"),
            CassetteEntry("it is me", "set slot name Ada", test_case="e2e_tests/a.yml::same name"),
            CassetteEntry("hello there", "start flow greet", test_case="a.yml::same name"),
            CassetteEntry("hello there", "start flow greet"),  # shared, for "shared"
        ],
    )
    runs = [
        [],
        ["e2e_tests/b.yml", "e2e_tests/a.yml"],
        ["e2e_tests/b.yml::same name"],
        ["e2e_tests/b.yml::shared", "e2e_tests/a.yml"],
    ]
    for paths in runs:
        assert cmd_test([str(root), *paths, "--cassette", str(cassette)]) == 0, paths
    capsys.readouterr()


def test_the_runner_tells_the_generator_which_case_runs(make_project):
    from workbench.testing.runner import run_tests, select_cases

    project = load_project(make_project(E2E_FILES)).project
    seen = []

    class Watching(ScriptedGenerator):
        def begin_test_case(self, name, file=None):
            seen.append((name, file))

    # one run per case: the re-run under the other Rasa version would announce it again
    run = run_tests(
        project,
        select_cases(project, ["e2e_tests/b.yml"]),
        Watching({"hello there": ""}),
        try_other_version=False,
    )
    assert len(run.results) == 2
    assert seen == [
        ("same name", "e2e_tests/b.yml"),
        (None, None),
        ("shared", "e2e_tests/b.yml"),
        (None, None),
    ]
