"""Secrets never stored or written: which values are secrets (slot names as whole
tokens, `workbench.yml`, value shapes), placeholders that keep a value's shape so a
masked conversation replays, and the exits: the store (its raw files), exports,
`--record` cassettes, `shell --debug`, the e2e report and crash reports."""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rich.console import Console
from session_helpers import copy_sample, load, record, stored_turns

from workbench.calm.commands import Command, SetSlot
from workbench.cli.exits import write_crash
from workbench.project.loader import load_project
from workbench.shell import Shell
from workbench.store import SessionStore
from workbench.store.recorder import SessionRecorder
from workbench.store.redact import (
    Scrubber,
    iban_valid,
    is_secret_name,
    luhn_valid,
    placeholder,
    scrub,
)
from workbench.testing.export import write_export
from workbench.testing.report import failure_text
from workbench.testing.results import FAILED, CaseResult, Failure, TurnView
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import GeneratorOutput
from workbench.understanding.cassette import RecordingGenerator, load_cassette
from workbench.wiring import Options, build_conversation

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


# -- which values are secrets --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["pin", "pin_code", "user_pin", "card", "card_number", "creditCardNumber", "cvv",
     "user_password", "pass", "iban", "ssn", "api_key", "refresh_token", "client_secret"],
)  # fmt: skip
def test_secret_names_are_whole_tokens(name: str):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["passenger_count", "card_type", "gift_card_balance", "pinned", "spinach", "prompt_tokens",
     "passport_country", "email", "order_id", "cardinality", "shipping_address"],
)  # fmt: skip
def test_names_that_only_contain_a_secret_word_are_not_secrets(name: str):
    assert not is_secret_name(name)


def test_non_secret_values_survive():
    data = {
        "user_text": "3 passengers, visa, order A1002",
        "slots_after": {"passenger_count": 3, "card_type": "visa", "order_id": "A1002"},
        "events": [{"event": "slot", "name": "passenger_count", "value": "3"}],
        "usage": {"prompt_tokens": 812},
        "errors": ["took 1733456789012 ms"],  # a timestamp, not a card
    }
    assert scrub(data) == data


def test_placeholders_keep_the_shape_and_are_their_own_placeholders():
    assert placeholder("4321") == "0000"
    card = placeholder("4111 1111 1111 1111")
    assert card == "4000 0000 0000 0002" and luhn_valid(card.replace(" ", ""))
    assert len(placeholder("378282246310005")) == 15  # an Amex number
    iban = placeholder("GB82 WEST 1234 5698 7654 32")
    assert iban.startswith("GB") and len(iban) == 27 and iban_valid(iban)
    assert placeholder("hunter22") == "***"
    for value in ("4321", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "hunter22"):
        assert placeholder(placeholder(value)) == placeholder(value)


def test_value_detectors_work_whatever_the_slot():
    text = (
        "card 4111-1111-1111-1111, iban DE89 3704 0044 0532 0130 00 OK, key "
        "AKIAIOSFODNN7EXAMPLE, token ghp_abcdefghijklmnopqrstuvwxyz0123, "
        "Authorization: Bearer abcdefghijklmnop.qrstu"
    )
    clean = Scrubber().text(text)
    for secret in ("4111", "3704", "AKIAIOSF", "ghp_abc", "abcdefghijklmnop"):
        assert secret not in clean
    assert "4000-0000-0000-0002" in clean and " OK, key" in clean


def test_workbench_yml_opts_slots_in_and_out(tmp_path: Path):
    root = copy_sample(tmp_path)
    (root / "workbench.yml").write_text(
        "secret_slots: [email]\nnot_secret_slots: [pin]\n", encoding="utf-8"
    )
    result = load_project(root)
    assert not result.issues.errors
    scrubber = Scrubber.for_project(result.project)
    clean = scrubber.scrub({"slots_after": {"email": "maya@example.com", "pin": "4321"}})
    assert clean == {"slots_after": {"email": "***", "pin": "4321"}}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("secret_slots: email\n", "bad-secret-slots"),
        ("secret_slots: [email]\nnot_secret_slots: [email]\n", "secret-slot-conflict"),
    ],
)
def test_bad_secret_settings_are_errors_with_a_line(tmp_path: Path, text: str, code: str):
    root = copy_sample(tmp_path)
    (root / "workbench.yml").write_text(text, encoding="utf-8")
    errors = load_project(root).issues.errors
    assert [e.code for e in errors] == [code]
    assert errors[0].file.endswith("workbench.yml") and errors[0].line >= 1


# -- remembered for the whole conversation -------------------------------------------------


def test_a_pin_stays_masked_in_later_prompts_after_its_slot_is_reset(tmp_path: Path):
    turns = [
        TurnTrace.from_dict(
            {
                "index": 1,
                "user_text": "my pin is 5791",
                "prompt": "user: my pin is 5791",
                "events": [{"event": "slot", "name": "pin", "value": "5791"}],
            }
        ),
        TurnTrace.from_dict(
            {
                "index": 2,
                "user_text": "what now?",
                "events": [{"event": "slot", "name": "pin", "value": None}],
                "prompt": "user: my pin is 5791\nbot: verified\nuser: what now?",
            }
        ),
        TurnTrace.from_dict(
            {"index": 3, "user_text": "bye", "prompt": "user: my pin is 5791\nuser: bye"}
        ),
    ]
    with SessionStore(tmp_path) as store:
        session_id = store.create_session("model", "default", 0, "abc")
        for trace in turns:
            store.add_turn(session_id, trace)
        stored = store.get_turns(session_id)
    assert [t.prompt.splitlines()[0] for t in stored] == ["user: my pin is 0000"] * 3
    assert not re.search(rb"(?<![0-9])5791(?![0-9])", _raw_store(tmp_path))


# -- the property: no secret in any byte written ------------------------------------------

pins = st.from_regex(r"[5-9]{4,6}", fullmatch=True)
passwords = st.from_regex(r"[A-Z][a-z]{3}[0-9]{2}[a-z]{2,5}", fullmatch=True)
api_keys = st.from_regex(r"sk-[a-z]{24}", fullmatch=True)


@st.composite
def cards(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from("45")) + draw(st.from_regex(r"[0-9]{14}", fullmatch=True))
    number = next(body + d for d in "0123456789" if luhn_valid(body + d))
    assume(number != placeholder(number))  # the dummy card itself is no secret
    if draw(st.booleans()):
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number


@st.composite
def ibans(draw: st.DrawFn) -> str:
    bban = draw(st.from_regex(r"[1-9][0-9]{17}", fullmatch=True))
    check = 98 - int(bban + "131400") % 97  # D=13, E=14
    iban = f"DE{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, 22, 4)) if draw(st.booleans()) else iban


turn_kinds = st.one_of(
    st.tuples(st.just("pin"), pins),
    st.tuples(st.just("user_password"), passwords),
    st.tuples(st.just("card"), cards()),
    st.tuples(st.just("iban"), ibans()),
    st.tuples(st.just("key"), api_keys),
    st.tuples(st.just("passenger_count"), st.integers(1, 9).map(str)),
    # said one turn, put in its slot the next (the model asked back first)
    st.tuples(st.just("pin_early"), pins),
)


class ScriptedModel:
    """A model that fills the slot each message names, as the conversation says."""

    name = "scripted"

    def __init__(self, replies: dict[str, list[Command]]) -> None:
        self.replies = replies

    async def generate(self, message, tracker, project) -> GeneratorOutput:
        commands = self.replies.get(message, [])
        raw = "\n".join(c.to_dsl() for c in commands)
        return GeneratorOutput(commands=commands, raw_output=raw)


def conversation(turns: list[tuple[str, str]]) -> tuple[list[TurnTrace], dict[str, list[Command]]]:
    """Traces as a model-driven session makes them: each prompt holds the history, a
    secret slot is reset on the next turn, a provider error quotes an API key."""
    traces: list[TurnTrace] = []
    replies: dict[str, list[Command]] = {}
    history: list[str] = []
    previous_slot: str | None = None
    for kind, value in [(k, v) for drawn, v in turns for k in _turn_kinds(drawn)]:
        index = len(traces) + 1
        text = {
            "card": f"I paid with {value}, turn {index}",
            "iban": f"refund to {value} please, turn {index}",
            "key": f"hello {index}",
            "said": f"it is {value}, turn {index}",
            "pin_early": f"yes, the one I said, turn {index}",
        }.get(kind, f"my {kind} is {value}, turn {index}")
        history.append(f"user: {text}")
        events = []
        if previous_slot is not None:
            events.append({"event": "slot", "name": previous_slot, "value": None})
            previous_slot = None
        commands: list[Command] = []
        if kind in ("pin", "user_password", "passenger_count", "pin_early"):
            slot = "pin" if kind == "pin_early" else kind
            events.append({"event": "slot", "name": slot, "value": value})
            commands = [SetSlot(slot, value)]
            previous_slot = slot if kind != "passenger_count" else None
        replies[text] = commands
        traces.append(
            TurnTrace.from_dict(
                {
                    "index": index,
                    "user_text": text,
                    "prompt": "\n".join(history),
                    "raw_output": "\n".join(c.to_dsl() for c in commands),
                    "events": events,
                    "errors": [f"AuthenticationError: Incorrect API key: {value}"]
                    if kind == "key"
                    else [],
                }
            )
        )
    return traces, replies


@pytest.fixture(scope="module")
def sample():
    return load(SAMPLE)


def _turn_kinds(kind: str) -> list[str]:
    return ["said", kind] if kind == "pin_early" else [kind]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(turns=st.lists(turn_kinds, min_size=1, max_size=8))
def test_no_secret_value_reaches_any_byte_written(sample, turns: list[tuple[str, str]]):
    project = sample
    traces, replies = conversation(turns)
    secrets = {v for kind, v in turns if kind != "passenger_count"}
    secrets |= {s.replace(" ", "") for s in secrets}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        scrubber = Scrubber.for_project(project)  # one per conversation, as wiring makes
        recorder = SessionRecorder(
            root, generator="m", sender_id="s", seed=0, project_fingerprint="f", scrubber=scrubber
        )
        cassette = root / "recorded.yml"
        model = RecordingGenerator(ScriptedModel(replies), cassette, scrub=scrubber.scrub)

        async def chat() -> None:
            for trace in traces:
                await model.generate(trace.user_text, None, project)  # type: ignore[arg-type]
                recorder(trace)

        asyncio.run(chat())
        model.write_cassette()
        written = [_raw_store(root), cassette.read_bytes()]
        with SessionStore(root) as store:
            stored = store.get_turns(recorder.session_id or "")
        recorder.close()
        for n, (source, assertions) in enumerate(
            [(stored, False), (stored, True), (traces, True)]  # sessions export, TUI export
        ):
            out = root / "e2e_tests" / f"case{n}.yml"
            result = write_export(project, source, name="c", assertions=assertions, out=out)
            written += [result.test_path.read_bytes(), result.cassette_path.read_bytes()]
        blob = b"\n".join(written)
        for secret in secrets:
            assert secret.encode() not in blob, secret
        for kind, value in turns:  # and what is no secret is kept as it was
            if kind == "passenger_count":
                assert f"my passenger_count is {value}".encode() in blob


# -- replay: a masked export still passes --------------------------------------------------


def test_an_exported_session_with_a_pin_and_a_card_replays_green(tmp_path: Path):
    from workbench.cli import main

    root = copy_sample(tmp_path)
    session_id = record(
        root,
        [
            "/session_start",
            "how many loyalty points do I have?",
            "lee@example.com",
            "9753",
            "I paid with my card 4111 1111 1111 1111, is that fine?",
            "no, thanks",
        ],
    )
    turns = stored_turns(root, session_id)
    assert [t.user_text for t in turns][3:5] == [
        "0000",
        "I paid with my card 4000 0000 0000 0002, is that fine?",
    ]
    for assertions in (False, True):
        result = write_export(
            load(root), turns, name=f"pin {assertions}", assertions=assertions, title="pin"
        )
        test_text = result.test_path.read_text(encoding="utf-8")
        cassette = load_cassette(result.cassette_path)
        assert "9753" not in test_text and "4111" not in test_text
        assert any(e.user == "0000" and e.completion == "set slot pin 0000" for e in cassette)
        assert '"0000"' in test_text  # the slot assertion holds the same placeholder
        argv = ["test", str(root), str(result.test_path), "--cassette", str(result.cassette_path)]
        assert main(argv) == 0


def test_a_recorded_cassette_is_masked(tmp_path: Path):
    root = copy_sample(tmp_path)
    project = load(root)
    record_to = root / "live.cassette.yml"
    conversation = build_conversation(project, Options(offline=True, record=record_to), seed=0)
    try:

        async def chat() -> None:
            for text in ("/session_start", "check my loyalty points", "sam@example.com", "8642"):
                await conversation.session.handle(text)
                if conversation.recorder is not None:
                    conversation.recorder(conversation.session.traces[-1])

        asyncio.run(chat())
    finally:
        conversation.close()
    text = record_to.read_text(encoding="utf-8")
    assert "8642" not in text and "set slot pin 0000" in text
    # as a number of its own: a timestamp in the store may hold the digits 8642
    assert not re.search(rb"(?<![0-9])8642(?![0-9])", _raw_store(root))


# -- printed: shell --debug, the e2e report, crash reports ---------------------------------


class FailingModel:
    name = "failing"

    def __init__(self, message: str) -> None:
        self.message = message

    async def generate(self, message, tracker, project) -> GeneratorOutput:
        raise RuntimeError(self.message)


@pytest.mark.parametrize("key", ["sk-proj-0123456789abcdefXYZ", "custom-server-key-7f3a9c2e"])
def test_shell_debug_masks_an_api_key_a_provider_echoes(key: str, monkeypatch):
    monkeypatch.setenv("MY_LLM_API_KEY", key)  # a key of no known shape: known from the env
    project = load(SAMPLE)
    error = f"AuthenticationError: Incorrect API key provided: {key}. Check your key."
    conversation = build_conversation(
        project, Options(), store=False, generator=FailingModel(error)
    )
    out = io.StringIO()
    shell = Shell(
        conversation.session,
        Console(file=out, width=300),
        debug=True,
        scrubber=conversation.parts.scrubber,
    )
    try:
        trace = asyncio.run(shell.turn("hello there"))
    finally:
        conversation.close()
    assert any(key in e for e in trace.errors)  # the error itself reached the trace
    printed = out.getvalue()
    assert "Incorrect API key provided" in printed and key not in printed


def test_the_e2e_report_masks_the_conversations_secrets():
    trace = TurnTrace.from_dict(
        {
            "index": 1,
            "user_text": "my pin is 5791",
            "events": [{"event": "slot", "name": "pin", "value": "5791"}],
        }
    )
    turn = TurnView(
        "my pin is 5791",
        slots=[("pin", "5791"), ("passenger_count", 2)],
        errors=["card 4111111111111111 declined"],
    )
    result = CaseResult(
        "e2e_tests/a.yml",
        "a",
        FAILED,
        failure=Failure("step", "expected utter_x, got pin 5791", turn=turn),
        traces=[trace],
    )
    text = failure_text(result)
    assert "5791" not in text and "4111111111111111" not in text
    assert "pin 0000" in text and "passenger_count" in text


def test_a_crash_report_masks_known_secrets_and_key_shapes(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", "acme-0f9e8d7c6b5a")
    Scrubber().learn("Zx9-crash-secret")  # seen by a conversation of this process
    path = write_crash(
        "Traceback ...\nValueError: bad 'Zx9-crash-secret' with sk-abcdefghijklmnop1234"
        " sent to acme with acme-0f9e8d7c6b5a\n",
        tmp_path,
    )
    assert path is not None
    text = path.read_text(encoding="utf-8")
    assert "ValueError: bad" in text and "sent to acme with" in text
    for secret in ("Zx9-crash-secret", "sk-abcdefghijklmnop1234", "acme-0f9e8d7c6b5a"):
        assert secret not in text


def _raw_store(root: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted((root / ".calm").glob("sessions.db*")) if p.is_file()
    )


def test_a_cassette_recorded_from_tests_with_pins_replays_them(tmp_path: Path, monkeypatch):
    """`calm-tui test --record` masks the PINs of the sample's account tests; replaying
    the cassette, each real PIN finds its masked entry and the reply gets the PIN back,
    so the identity check (which needs the real PIN) passes as recorded."""
    from workbench.cli import main

    root = copy_sample(tmp_path)
    tests, cassette = root / "e2e_tests" / "account_assertions.yml", tmp_path / "rec.yml"
    assert '"4321"' in tests.read_text(encoding="utf-8")
    assert main(["test", str(root), str(tests), "--offline", "--record", str(cassette)]) == 0
    text = cassette.read_text(encoding="utf-8")
    assert "4321" not in text and "1111" not in text and "set slot pin 0000" in text
    assert main(["test", str(root), str(tests), "--cassette", str(cassette)]) == 0


@pytest.mark.parametrize(
    ("recorded", "message", "values"),
    [
        ("my pin is 0000", "my pin is 4321", {"0000": "4321"}),
        ("pay 4000 0000 0000 0002 now", "pay 4111 1111 1111 1111 now",
         {"4000 0000 0000 0002": "4111 1111 1111 1111"}),
        ("my password is ***", "my password is hunter22", {"***": "hunter22"}),
        ("my pin is 0000", "my pin is 43210", None),  # another shape
        ("pay 4000 0000 0000 0002", "pay 4111 1111 1111 1112", None),  # not a card
        ("order A1002", "order A1003", None),  # nothing masked: exact matches only
    ],
)  # fmt: skip
def test_unmask_matches_values_of_the_placeholders_shapes(recorded, message, values):
    from workbench.store.redact import unmask

    assert unmask(recorded, message) == values


def test_a_crash_through_the_entry_point_keeps_the_key_out_of_both_reports(
    make_project, monkeypatch, capsys
):
    import workbench.project.validate as validate
    from workbench.cli import main

    key = "sk-live-0123456789abcdefghij"

    def broken(*args, **kwargs):
        raise RuntimeError(f"provider said: invalid key {key}")

    monkeypatch.setattr(validate, "validate_project", broken)
    root = make_project()
    assert main(["validate", str(root)]) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: provider said: invalid key ***" in err
    (crash,) = (root / ".calm" / "logs").glob("crash-*.txt")
    text = crash.read_text(encoding="utf-8")
    assert "provider said" in text and key not in text
