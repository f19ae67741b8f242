"""The bundled sample project is the first thing a user opens: it must stay valid and
keep showing every feature it promises."""

from pathlib import Path

from workbench.project.validate import validate_path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


def test_sample_project_validates_without_errors_or_warnings():
    result = validate_path(SAMPLE)
    assert [str(issue) for issue in result.issues] == []


def test_sample_project_uses_every_step_type_and_feature():
    project = validate_path(SAMPLE).project
    flows = project.user_flows
    assert len(flows) >= 8
    kinds = {step.kind for flow in flows for step in flow.steps}
    assert kinds == {"collect", "action", "set_slots", "link", "call", "noop"}
    assert any(flow.guard not in (None, False) and not flow.is_link_only for flow in flows)
    called = [step.call for flow in flows for step in flow.steps if step.kind == "call"]
    assert any(called.count(target) >= 2 for target in called)
    slot_types = {slot.type for slot in project.domain.slots.values() if not slot.is_builtin}
    assert slot_types == {"text", "bool", "float", "categorical", "list", "any"}
    responses = [r for r in project.domain.responses.values() if not r.is_default]
    assert any(len(r.variations) > 1 for r in responses)
    assert any(v.condition for r in responses for v in r.variations)
    assert any(v.buttons for r in responses for v in r.variations)
    overrides = [f for f in project.flows.values() if f.is_pattern and not f.is_default_pattern]
    assert overrides
    assert project.custom_actions
    assert project.test_cases


def test_sample_knowledge_questions_are_answered_offline(capsys, monkeypatch):
    """e2e_tests/knowledge.yml: Q:/A: and prose answers, no matching document, and a
    question in the middle of a return, with no model."""
    from workbench.cli.main import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["test", str(SAMPLE), "e2e_tests/knowledge.yml", "--offline"]) == 0
    assert "6 passed" in capsys.readouterr().out


def test_sample_generative_knowledge_answers_replay_from_their_cassette(capsys, monkeypatch):
    """recorded_tests/: the model's answers come from the committed cassette (recorded with
    tests/record_sample_knowledge.py): no server, no key."""
    from workbench.cli.main import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    folder = SAMPLE / "recorded_tests"
    cassette = folder / "knowledge_generative.cassette.yml"
    tests = "recorded_tests/knowledge_generative.yml"
    assert main(["test", str(SAMPLE), tests, "--cassette", str(cassette)]) == 0
    assert "2 passed" in capsys.readouterr().out
    # offline the answers are extractive, so these generative texts do not match
    assert main(["test", str(SAMPLE), tests, "--offline"]) == 1


def test_sample_agent_and_tool_tests_replay_from_their_cassette(capsys, monkeypatch):
    """recorded_tests/parcels_agent.yml: the agent's model steps and the tool's results
    come from the committed cassette (tests/record_sample_agents.py): no model, no key,
    no parcels server (nothing listens on its port)."""
    from workbench.cli.main import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    cassette = SAMPLE / "recorded_tests" / "parcels_agent.cassette.yml"
    tests = "recorded_tests/parcels_agent.yml"
    assert main(["test", str(SAMPLE), tests, "--cassette", str(cassette)]) == 0
    assert "2 passed" in capsys.readouterr().out
    # offline the agent needs a model and the tool its server: both tests fail
    assert main(["test", str(SAMPLE), tests, "--offline"]) == 1
    assert "0 passed, 2 failed" in capsys.readouterr().out


def test_the_sample_knowledge_base_is_not_opened_at_start():
    """The documents are indexed at the first knowledge question, not when a session starts."""
    import asyncio

    from workbench.knowledge.service import KnowledgeService
    from workbench.session import Session
    from workbench.understanding.offline.generator import OfflineGenerator

    opened: list[str] = []
    service = KnowledgeService(offline="--offline")
    real_opener = service.opener

    async def opener(*args):
        opened.append("opened")
        return await real_opener(*args)

    service.opener = opener
    project = validate_path(SAMPLE).project
    session = Session(project, OfflineGenerator(), knowledge=service)
    asyncio.run(session.handle("/session_start"))
    asyncio.run(session.handle("where is my order A1001"))
    assert opened == []
    trace = asyncio.run(session.handle("do you ship to Canada?"))
    assert opened == ["opened"]
    assert trace.bot_texts[0].startswith("We ship to the United States and Canada only.")
