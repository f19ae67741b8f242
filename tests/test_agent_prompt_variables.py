"""The command prompt in a project with sub-agents gets Rasa's agent variables filled as
Rasa fills them (`active_agent`, `completed_agents`, each flow's `agent_info`, the
agent's turns named after it in the transcript), and a template variable nothing
passes is reported by validate instead of rendering empty."""

from __future__ import annotations

import shutil
from pathlib import Path

from workbench.calm.commands import SetSlot, StartFlow
from workbench.calm.external import COMPLETED, INPUT_REQUIRED, AgentOutcome
from workbench.calm.names import ACTION_AGENT_REQUEST_USER_INPUT, ACTION_SEND_TEXT
from workbench.engine.core import Engine
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.validate import validate_path
from workbench.understanding.prompt import render_prompt
from workbench.understanding.rasa_prompt import rasa_prompt_variables

COMPAT = Path(__file__).parent / "fixtures" / "compat"
ORDER_ASSISTANT = {
    "name": "order_assistant",
    "description": "Looks up an order and explains its status.",
}


def agent_waiting(root: Path = COMPAT):
    """The order assistant has asked "Which store?" and waits for the answer."""
    project = load_project(root).project
    engine, tracker = Engine(project), Tracker(project)
    engine.apply([StartFlow("check_order"), SetSlot("order_id", "A1001")], tracker)
    while (prediction := engine.predict(tracker)).call is None:
        for effect in engine.run_builtin(prediction.action, tracker):
            if isinstance(effect, dict):
                tracker.add(effect)
    asked = AgentOutcome(INPUT_REQUIRED, message="Which store?")
    assert engine.settle_call(tracker, prediction.call, asked) == ACTION_AGENT_REQUEST_USER_INPUT
    tracker.add(engine.run_builtin(ACTION_AGENT_REQUEST_USER_INPUT, tracker)[0])
    return project, engine, tracker


def flows_of(project):
    return [project.flows["check_order"], project.flows["track_parcel"]]


def test_a_waiting_agent_is_the_active_agent_and_speaks_under_its_name():
    project, _, tracker = agent_waiting()
    variables = rasa_prompt_variables(project, tracker, "the one downtown", flows_of(project))
    assert variables["active_agent"] == ORDER_ASSISTANT
    assert variables["completed_agents"] == []
    listed = {f["name"]: f for f in variables["available_flows"]}
    assert listed["check_order"]["agent_info"] == [ORDER_ASSISTANT]
    assert "agent_info" not in listed["track_parcel"]
    assert variables["current_conversation"].endswith(
        "order_assistant: Which store?\nUSER: the one downtown"
    )


def test_a_completed_agent_is_listed_and_no_longer_active():
    project, engine, tracker = agent_waiting()
    again = engine.predict(tracker).call
    done = AgentOutcome(COMPLETED, message="It shipped.", slots=(("order_status", "shipped"),))
    assert engine.settle_call(tracker, again, done) == ACTION_SEND_TEXT
    tracker.add(engine.run_builtin(ACTION_SEND_TEXT, tracker)[0])
    variables = rasa_prompt_variables(project, tracker, "thanks", flows_of(project))
    assert variables["active_agent"] is None
    assert variables["completed_agents"] == [ORDER_ASSISTANT]
    # the agent's closing message is the assistant's again, as in Rasa
    assert "\nAI: It shipped.\nUSER: thanks" in variables["current_conversation"]


def test_a_project_template_reading_the_agent_variables_gets_them(tmp_path):
    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root)
    (root / "prompts" / "command.jinja2").write_text(
        "{% if active_agent %}ACTIVE {{ active_agent.name }}{% endif %}\n"
        "{% for flow in available_flows %}{{ flow.name }}"
        "{% for agent in flow.agent_info %} [{{ agent.name }}]{% endfor %}\n{% endfor %}"
        "done: {{ completed_agents | length }}\n",
        encoding="utf-8",
    )
    project, _, tracker = agent_waiting(root)
    prompt = render_prompt(project, tracker, "hi", flows_of(project))
    assert prompt.splitlines() == [
        "ACTIVE order_assistant",
        "check_order [order_assistant]",
        "track_parcel",
        "done: 0",
    ]


def test_validate_reports_a_template_variable_nothing_passes(tmp_path):
    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root)
    (root / "prompts" / "command.jinja2").write_text(
        "Flows:\n{{ available_flows }}\n{{ active_agents }}\n{{ user_mesage }}\n",
        encoding="utf-8",
    )
    issues = [i for i in validate_path(root).issues if i.code == "undefined-prompt-variable"]
    assert [(i.file, i.line, i.severity) for i in issues] == [
        ("prompts/command.jinja2", 3, "warning"),
        ("prompts/command.jinja2", 4, "warning"),
    ]
    assert "`active_agents`" in issues[0].message
    assert "`user_mesage`" in issues[1].message


def test_the_fixture_template_uses_only_variables_that_are_passed():
    issues = [i for i in validate_path(COMPAT).issues if i.code == "undefined-prompt-variable"]
    assert issues == []


def test_a_turn_says_which_template_variables_rendered_empty(tmp_path):
    """At run time too: each model turn of a project whose template reads a variable
    nothing passes carries a notice naming it (the prompt itself renders as Rasa's would)."""
    import asyncio

    from workbench.session import Session
    from workbench.understanding.llm import Completion
    from workbench.understanding.llm_generator import LLMCommandGenerator
    from workbench.understanding.models import ModelSpec

    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root)
    (root / "prompts" / "command.jinja2").write_text(
        "{{ current_conversation }}\n{{ active_agents }}\n", encoding="utf-8"
    )
    project = load_project(root).project
    sent: list[str] = []

    async def completer(model, prompt):
        sent.append(prompt)
        return Completion("start flow check_order", model.model, latency_ms=1.0)

    generator = LLMCommandGenerator(
        project, ModelSpec("openai/fake"), completer=completer, count_tokens=lambda m, t: 1
    )
    trace = asyncio.run(Session(project, generator).handle("check my order"))
    assert trace.notices == [
        "the prompt template uses `active_agents`, which is never passed: it rendered empty"
    ]
    assert sent == ["\nUSER: check my order\n"]  # active_agents rendered as nothing
