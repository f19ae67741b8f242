"""`calm-tui test --repeat N` against a fake model that is not sure about one message
(its reply varies from request to request): the flaky turn with each run's commands,
the pass rates, a stable case said to be stable. Model use per case and per turn in the
text report, `--json` and the JUnit properties; limits from the command line and from
workbench.yml that fail the run and say where."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from fake_llm import FakeLLM

from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.testing.flaky import CaseRun, compare_runs, flakiness_lines
from workbench.understanding import llm

SEND = "I want to send money"
BALANCE = "what is my balance"
TRANSFER, CHECK = "start flow transfer_money", "start flow check_balance"
FLAKY_ID = "e2e_tests/lab.yml::send money"
STABLE_ID = "e2e_tests/lab.yml::balance"

FILES = {
    "config.yml": """\
recipe: default.v1
language: en
assistant_id: lab
pipeline:
  - name: CompactLLMCommandGenerator
    llm:
      provider: openai
      model: {model}
      api_base: {url}
policies:
  - name: FlowPolicy
""",
    "domain.yml": """\
version: "3.1"
slots:
  pin:
    type: text
    mappings:
      - type: from_llm
responses:
  utter_ask_pin:
    - text: "Your PIN?"
  utter_unlocked:
    - text: "Unlocked."
  utter_transfer:
    - text: "Let's transfer funds."
  utter_balance:
    - text: "Your balance is 10 euros."
""",
    "data/flows.yml": """\
flows:
  transfer_money:
    description: Transfer funds to another account.
    steps:
      - action: utter_transfer
  check_balance:
    description: Tell the account's balance.
    steps:
      - action: utter_balance
  unlock_card:
    description: Unlock a blocked card.
    steps:
      - collect: pin
      - action: utter_unlocked
""",
    "e2e_tests/lab.yml": f"""\
test_cases:
  - test_case: send money
    steps:
      - user: "{SEND}"
      - utter: utter_transfer
  - test_case: balance
    steps:
      - user: "{BALANCE}"
      - utter: utter_balance
""",
}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setattr(llm, "BACKOFF_BASE_S", 0.0)


@pytest.fixture
def server():
    with FakeLLM() as fake:
        # unsure about sending money: right, wrong, right, ...; sure about the balance
        fake.vary(SEND, TRANSFER, CHECK, prompt_tokens=120, completion_tokens=7)
        fake.vary(BALANCE, CHECK, prompt_tokens=120, completion_tokens=7)
        yield fake


def write_project(root, url, model="commands", settings=None):
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{url}", url).replace("{model}", model))
    if settings is not None:
        (root / "workbench.yml").write_text(settings)
    return root


def test_repeat_finds_the_flaky_turn_and_shows_each_runs_commands(tmp_path, server, capsys):
    root = write_project(tmp_path / "lab", server.url)
    report = tmp_path / "report.json"
    assert cmd_test([str(root), "--repeat", "3", "--json", str(report)]) == 1  # run 2 failed
    out = capsys.readouterr().out
    assert f"{FLAKY_ID}: flaky, passed 2/3 (67%), runs passed: 1, 3" in out
    assert f"turn 1, user: {SEND}" in out
    assert f"run 1 (passed): {TRANSFER}" in out
    assert f"run 2 (failed): {CHECK}" in out
    assert f"run 3 (passed): {TRANSFER}" in out
    assert f"{STABLE_ID}: stable, passed 3/3 (100%)" in out
    assert "1 stable, 1 flaky case(s)" in out
    # each run is its own row, the failing one named by its run
    assert f"FAILED {FLAKY_ID} (run 2)" in out
    data = json.loads(report.read_text())
    flaky, stable = data["flakiness"]
    assert flaky["case"] == FLAKY_ID and flaky["stable"] is False
    assert flaky["passed_runs"] == [1, 3] and flaky["pass_rate"] == pytest.approx(2 / 3, 1e-3)
    assert flaky["varying_turns"] == [
        {"turn": 1, "user_text": SEND, "commands": [[TRANSFER], [CHECK], [TRANSFER]]}
    ]
    assert stable == {
        "case": STABLE_ID,
        "runs": 3,
        "passed_runs": [1, 2, 3],
        "pass_rate": 1.0,
        "stable": True,
        "varying_turns": [],
    }
    assert [(c["id"], c["repeat"], c["status"]) for c in data["cases"]] == [
        (FLAKY_ID, 1, "passed"),
        (STABLE_ID, 1, "passed"),
        (FLAKY_ID, 2, "failed"),
        (STABLE_ID, 2, "passed"),
        (FLAKY_ID, 3, "passed"),
        (STABLE_ID, 3, "passed"),
    ]
    # a repeated failure is not run again under the other Rasa profile: 6 calls, not 7
    assert len(server.chat_requests()) == 6


def test_secrets_are_masked_and_still_told_apart(tmp_path, server, capsys):
    root = write_project(tmp_path / "lab", server.url)
    (root / "e2e_tests" / "pin.yml").write_text(
        "test_cases:\n  - test_case: unlock\n    steps:\n"
        "      - user: unlock my card\n      - utter: utter_unlocked\n"
    )
    server.vary(
        "unlock my card",
        "start flow unlock_card\nset slot pin 4321",
        "start flow unlock_card\nset slot pin 9876",
    )
    report = tmp_path / "report.json"
    assert cmd_test([str(root), "e2e_tests/pin.yml", "--repeat", "2", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "e2e_tests/pin.yml::unlock: flaky, passed 2/2 (100%)" in out
    assert "run 1 (passed): start flow unlock_card | set slot pin 0000" in out
    assert "run 2 (passed): start flow unlock_card | set slot pin 0000" in out
    text = report.read_text()
    assert "pin 4321" not in out + text and "pin 9876" not in out + text
    assert json.loads(text)["cases"][1]["turns"][0]["commands"][1] == "set slot pin 0000"


def test_a_case_whose_runs_agree_is_stable(tmp_path, server, capsys):
    root = write_project(tmp_path / "lab", server.url)
    assert cmd_test([str(root), "e2e_tests/lab.yml::balance", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{STABLE_ID}: stable, passed 2/2 (100%)" in out
    assert "1 stable, 0 flaky case(s)" in out
    assert "turn 1" not in out


def test_repeat_with_a_cassette_is_a_usage_error(tmp_path, capsys):
    root = write_project(tmp_path / "lab", "http://127.0.0.1:9/v1")
    (root / "run.cassette.yml").write_text("entries: []\n")
    assert cmd_test([str(root), "--cassette", "run.cassette.yml", "--repeat", "2"]) == 2
    assert "--repeat measures how a model's answers vary" in capsys.readouterr().err


def test_comparing_runs_that_stopped_early_or_ended_differently():
    first = CaseRun(True, (("hi", ("start flow a",)), ("bye", ("cancel flow",))))
    stopped = CaseRun(False, (("hi", ("start flow b",)),))
    report = compare_runs("t.yml::x", [first, stopped, first])
    assert [t.turn for t in report.turns] == [1]  # turn 2: the runs that got there agree
    assert report.turns[0].commands == (("start flow a",), ("start flow b",), ("start flow a",))
    assert report.pass_count == 2 and not report.stable
    # the same commands and different outcomes (e.g. an action) is no stable case either
    same = compare_runs("t.yml::y", [first, CaseRun(False, first.turns)])
    assert same.turns == () and not same.stable
    assert flakiness_lines(same)[0] == "t.yml::y: flaky, passed 1/2 (50%), runs passed: 1"
    lines = flakiness_lines(report)
    assert "    run 2 (failed): start flow b" in lines
    assert compare_runs("t.yml::z", [first, first]).stable


def test_model_use_in_the_text_json_and_junit_reports(tmp_path, server, capsys):
    root = write_project(tmp_path / "lab", server.url)
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    args = [str(root), "e2e_tests/lab.yml::balance", "--json", str(report), "--junit", str(junit)]
    assert cmd_test(args) == 0
    out = capsys.readouterr().out
    assert f"{STABLE_ID}: tokens 120 in / 7 out · model " in out
    assert "(1 call(s) in 1 turn(s))" in out
    assert "run total: tokens 120 in / 7 out" in out
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["totals"]["passed"] == 1
    assert data["totals"]["usage"]["tokens"] == 127
    [case] = data["cases"]
    assert case["status"] == "passed" and case["failure"] is None
    assert case["usage"]["prompt_tokens"] == 120 and case["usage"]["model_calls"] == 1
    [turn] = case["turns"]
    assert turn["user_text"] == BALANCE and turn["commands"] == [CHECK]
    assert turn["usage"]["tokens"] == 127 and turn["usage"]["latency_ms"] > 0
    assert data["limits"] == {
        "max_cost": None,
        "max_tokens_per_turn": None,
        "max_latency_ms_per_turn": None,
    }
    [testcase] = ET.parse(junit).getroot().iter("testcase")
    properties = {p.get("name"): p.get("value") for p in testcase.iter("property")}
    assert properties["tokens"] == "127" and properties["prompt_tokens"] == "120"
    assert properties["completion_tokens"] == "7" and properties["model_calls"] == "1"
    assert float(properties["model_latency_ms"]) > 0


def test_a_failure_text_is_in_the_json_report(tmp_path, server):
    root = write_project(tmp_path / "lab", server.url)
    report = tmp_path / "report.json"
    server.vary(SEND, CHECK)
    assert cmd_test([str(root), "e2e_tests/lab.yml::send money", "--json", str(report)]) == 1
    [case] = json.loads(report.read_text())["cases"]
    assert case["status"] == "failed" and case["failure"]["kind"] == "step"
    assert "expected: utter: utter_transfer" in case["failure_text"]
    assert f"commands: {CHECK}" in case["failure_text"]


def test_a_turn_over_the_token_limit_fails_the_run_and_says_where(tmp_path, server, capsys):
    root = write_project(tmp_path / "lab", server.url)
    report = tmp_path / "report.json"
    args = [str(root), "e2e_tests/lab.yml::balance", "--max-tokens-per-turn", "100"]
    assert cmd_test([*args, "--json", str(report)]) == 1  # the case itself passed
    out = capsys.readouterr().out
    assert "limits exceeded (1)" in out
    assert f"{STABLE_ID}, turn 1 ('{BALANCE}'): max_tokens_per_turn 127 exceeds 100" in out
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["totals"]["failed"] == 0
    assert data["overruns"] == [
        {
            "case": STABLE_ID,
            "repeat": 0,
            "turn": 1,
            "user_text": BALANCE,
            "limit": "max_tokens_per_turn",
            "value": 127,
            "allowed": 100,
        }
    ]
    assert cmd_test([*args[:-1], "127"]) == 0  # at the limit is within it


def test_latency_and_cost_limits(tmp_path, server, capsys):
    # a model litellm knows the price of, served by the fake: the run has a cost
    root = write_project(tmp_path / "lab", server.url, model="gpt-4o-mini")
    args = [str(root), "e2e_tests/lab.yml::balance"]
    assert cmd_test([*args, "--max-cost", "0.00000001"]) == 1
    out = capsys.readouterr().out
    assert "the run: max_cost " in out and "exceeds 1e-08" in out
    assert cmd_test([*args, "--max-cost", "1"]) == 0
    assert cmd_test([*args, "--max-latency-ms-per-turn", "0.001"]) == 1
    out = capsys.readouterr().out
    assert f"{STABLE_ID}, turn 1 ('{BALANCE}'): max_latency_ms_per_turn " in out


def test_limits_from_workbench_yml_and_the_command_line_over_them(tmp_path, server, capsys):
    settings = "test:\n  max_tokens_per_turn: 100\n"
    root = write_project(tmp_path / "lab", server.url, settings=settings)
    args = [str(root), "e2e_tests/lab.yml::balance"]
    assert cmd_test(args) == 1
    assert "max_tokens_per_turn 127 exceeds 100" in capsys.readouterr().out
    assert cmd_test([*args, "--max-tokens-per-turn", "1000"]) == 0


def test_bad_test_settings_are_errors_with_their_line(tmp_path):
    settings = "test:\n  max_cost: -1\n  max_tokens_per_turn: 2.5\n  max_turns: 3\n"
    root = write_project(tmp_path / "lab", "http://127.0.0.1:9/v1", settings=settings)
    result = load_project(root, with_tests=False)
    errors = {e.location: e.message for e in result.issues.errors if e.code == "bad-test-limit"}
    assert errors == {
        "workbench.yml:2": "test: max_cost -1 is not a positive number",
        "workbench.yml:3": "test: max_tokens_per_turn 2.5 is not a positive whole number",
    }
    [warning] = [w for w in result.issues.warnings if w.code == "unknown-setting"]
    assert warning.location == "workbench.yml:4" and "'max_turns'" in warning.message
    settings = "test:\n  max_cost: 0.5\n  max_latency_ms_per_turn: 3000\n"
    (root / "workbench.yml").write_text(settings)
    budgets = load_project(root, with_tests=False).project.test_budgets
    assert (budgets.max_cost, budgets.max_tokens_per_turn) == (0.5, None)
    assert budgets.max_latency_ms_per_turn == 3000.0
