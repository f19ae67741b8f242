"""Judged assertions (`generative_response_is_relevant`, `..._is_grounded`) in the e2e
runner against a fake judge on 127.0.0.1, including a verdict that fails; the same run
recorded with --record and replayed from the cassette with no server; offline, never
passed; and the e2e semantics of rephrased messages (`bot:` and `text_matches` see the
rephrased text, `utter`/`utter_name` the response)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from generative_project import QUESTION, REPHRASED, GenerativeLLM, write_project

from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.testing.judge import (
    DEFAULT_JUDGE_LLM,
    GROUNDED,
    RELEVANT,
    Judge,
    JudgeConfig,
    cosine,
    judge_config,
)
from workbench.testing.runner import E2ERunner
from workbench.understanding import llm
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.tape import ModelTape
from workbench.wiring import new_session

STEPS = "steps see the rephrased text"
PASSING = "judged and passing"
FAILING = "judged and failing"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(llm, "BACKOFF_BASE_S", 0.0)


def junit(path: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


def failure_of(case: ET.Element) -> str | None:
    failure = case.find("failure")
    return None if failure is None else str(failure.get("message"))


def output_of(case: ET.Element) -> str:
    out = case.find("system-out")
    return "" if out is None else str(out.text)


def test_recorded_then_replayed_with_no_server(tmp_path):
    cassette = tmp_path / "fees.cassette.yml"
    with GenerativeLLM() as server:
        root = write_project(tmp_path / "fees", server.url)
        recorded = tmp_path / "recorded.xml"
        args = [str(root), "--record", str(cassette), "--junit", str(recorded)]
        assert cmd_test(args) == 1  # one case fails on purpose
        assert server.calls("judge") >= 3 and server.calls("judge-embeddings") >= 1
    results = junit(recorded)
    assert failure_of(results[STEPS]) is None
    # the passing case reports each judged score with its threshold and the reasons
    assert failure_of(results[PASSING]) is None
    out = output_of(results[PASSING])
    assert f"{RELEVANT}: score 0.71 ≥ threshold 0.5" in out
    assert "has similarity 1.00 with the user message" in out
    assert f"{GROUNDED}: score 0.67 ≥ threshold 0.6 (2 of 3 statements supported" in out
    # the failing verdict: score, threshold and the judge's justification
    message = failure_of(results[FAILING])
    assert message is not None
    assert f"the generative response {REPHRASED!r} to {QUESTION!r} was not grounded" in message
    assert "score 0.67 is below the threshold 0.9" in message
    assert "the reference does not say when the fee is charged" in message
    text = cassette.read_text()
    assert "kind: judge" in text and "kind: embedding" in text and "kind: rephrase" in text
    # the server is gone: the cassette answers the commands, rephrasings and the judge
    replayed = tmp_path / "replayed.xml"
    assert cmd_test([str(root), "--cassette", str(cassette), "--junit", str(replayed)]) == 1
    again = junit(replayed)
    assert [failure_of(again[name]) for name in (STEPS, PASSING, FAILING)] == [
        failure_of(results[name]) for name in (STEPS, PASSING, FAILING)
    ]
    assert output_of(again[PASSING]) == out


def test_offline_judged_assertions_are_never_passed(tmp_path, capsys):
    root = write_project(tmp_path / "fees", "http://127.0.0.1:9/v1")
    tests = root / "tests" / "fees.yml"
    # only the judged assertion: offline the message is the original, which would match
    tests.write_text(
        tests.read_text().replace(
            """          - bot_uttered:
              utter_name: utter_fees
              text_matches: "^Sending money abroad"
""",
            "",
        )
    )
    report = tmp_path / "offline.xml"
    assert cmd_test([str(root), "--offline", "--junit", str(report)]) == 1
    results = junit(report)
    message = failure_of(results[PASSING])
    assert message == f"'{RELEVANT}' not evaluated (no judge model): --offline"
    assert failure_of(results[FAILING]) == f"'{GROUNDED}' not evaluated (no judge model): --offline"


def test_a_judge_without_credentials_is_no_judge(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with GenerativeLLM() as server:
        root = write_project(tmp_path / "fees", server.url)
        (root / "tests" / "conftest.yml").unlink()  # Rasa's default judge: OpenAI
        report = tmp_path / "report.xml"
        assert cmd_test([str(root), "--junit", str(report)]) == 1
    message = failure_of(junit(report)[PASSING])
    assert message == (
        f"'{RELEVANT}' not evaluated (no judge model): the judge model "
        "openai/gpt-4.1-mini-2025-04-14 needs OPENAI_API_KEY"
    )


def test_e2e_steps_see_the_rephrased_text_and_the_response_name(tmp_path):
    with GenerativeLLM() as server:
        root = write_project(tmp_path / "fees", server.url)
        report = tmp_path / "report.xml"
        cmd_test([str(root), f"tests/fees.yml::{STEPS}", "--junit", str(report)])
        assert failure_of(junit(report)[STEPS]) is None
        # the text as written is not what the bot said
        tests = root / "tests" / "fees.yml"
        tests.write_text(
            tests.read_text().replace(
                f'- bot: "{REPHRASED}"',
                '- bot: "International transfers cost 1% of the amount, at least 2 euros."',
            )
        )
        cmd_test([str(root), f"tests/fees.yml::{STEPS}", "--junit", str(report)])
    message = failure_of(junit(report)[STEPS])
    assert message is not None and message.startswith("the bot did not say")


def test_a_judge_reply_that_is_not_json_fails_the_assertion(tmp_path):
    class Garbled(GenerativeLLM):
        def _next_reply(self, model):
            reply = super()._next_reply(model)
            if model == "judge":
                reply.text = "I think it is fine."
            return reply

    with Garbled() as server:
        root = write_project(tmp_path / "fees", server.url)
        report = tmp_path / "report.xml"
        cmd_test([str(root), "--junit", str(report)])
    message = failure_of(junit(report)[FAILING])
    assert message == f"'{GROUNDED}' failed: the judge's reply is not JSON: 'I think it is fine.'"


def test_utter_source_and_utter_name_choose_the_message(tmp_path):
    with GenerativeLLM() as server:
        root = write_project(tmp_path / "fees", server.url)
        project = load_project(root).project
        runner = E2ERunner(project, _direct_only())
        events = _turn_events(runner, project)
        config = judge_config(root, "tests/fees.yml")
        judge = Judge(project, ModelTape())
        source = {"utter_source": "EnterpriseSearchPolicy"}
        verdict = _run(judge.run(GROUNDED, source, events, QUESTION, config))
        assert verdict.failure == (
            f"'{GROUNDED}' failed: no generative bot message from 'EnterpriseSearchPolicy' "
            "in this turn"
        )
        verdict = _run(judge.run(GROUNDED, {"utter_name": "utter_nope"}, events, QUESTION, config))
        assert verdict.failure == f"'{GROUNDED}' failed: the bot did not utter 'utter_nope'"
        verdict = _run(judge.run(GROUNDED, {"threshold": 0.5}, events, QUESTION, config))
        assert verdict.failure is None and verdict.event is not None
        assert verdict.event["metadata"]["utter_action"] == "utter_fees"
        # without ground_truth the response's texts are the reference
        statements_prompt = [
            r["body"]["messages"][0]["content"]
            for r in server.chat_requests()
            if r["body"]["model"] == "judge"
        ][-1]
        assert "International transfers cost 1% of the amount" in statements_prompt


def test_the_nearest_conftest_configures_the_judge(tmp_path):
    root = tmp_path / "bot"
    (root / "tests" / "deep").mkdir(parents=True)
    (root / "config.yml").write_text("recipe: default.v1\n")
    assert judge_config(root, "tests/deep/a.yml") == JudgeConfig()
    assert JudgeConfig().llm == DEFAULT_JUDGE_LLM
    (root / "conftest.yml").write_text("llm_judge:\n  llm: {provider: openai, model: top}\n")
    assert judge_config(root, "tests/deep/a.yml").llm == {"provider": "openai", "model": "top"}
    (root / "tests" / "conftest.yml").write_text(
        "llm_judge:\n  llm: {model_group: judges}\n  embeddings: {model_group: vectors}\n"
    )
    config = judge_config(root, "tests/deep/a.yml")
    assert config.llm == {"model_group": "judges"}
    assert config.embeddings == {"model_group": "vectors"}
    assert config.source == str((root / "tests" / "conftest.yml").resolve())


def test_cosine_similarity():
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0)
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0


# -- helpers ------------------------------------------------------------------------------------


def _direct_only() -> ScriptedGenerator:
    return ScriptedGenerator([])


def _turn_events(runner: E2ERunner, project) -> list:
    session = new_session(project, runner.generator, tape=runner.tape)
    trace = _run(session.handle("/start flow fees"))
    return session.tracker.events[trace.event_offset :]


def _run(awaitable):
    return asyncio.run(awaitable)


def test_a_cassette_without_judge_calls_is_no_judge(tmp_path):
    cassette = tmp_path / "commands.cassette.yml"
    with GenerativeLLM() as server:
        root = write_project(tmp_path / "fees", server.url)
        # recorded with the judged cases left out: commands and rephrasings only
        assert cmd_test([str(root), f"tests/fees.yml::{STEPS}", "--record", str(cassette)]) == 0
    text = cassette.read_text()
    assert "kind: rephrase" in text and "kind: judge" not in text
    report = tmp_path / "report.xml"
    args = [str(root), f"tests/fees.yml::{FAILING}", "--cassette", str(cassette)]
    assert cmd_test([*args, "--junit", str(report)]) == 1
    assert failure_of(junit(report)[FAILING]) == (
        f"'{GROUNDED}' not evaluated (no judge model): the cassette holds no judge call "
        "for this message (record the run again)"
    )
