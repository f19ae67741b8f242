"""Projects Rasa Pro 3.21 accepts load without false errors: sub-agent and MCP tool calls,
a null `noop`, patterns linking to pattern_chitchat. (Running the calls:
test_external_calls.py and test_agent_sessions.py.)"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from workbench.project.loader import load_project
from workbench.project.validate import validate_path
from workbench.session import Session
from workbench.understanding.offline.generator import OfflineGenerator

COMPAT = Path(__file__).parent / "fixtures" / "compat"
FLOWS = "data/flows.yml"


def codes(result, severity: str | None = None) -> list[str]:
    return [i.code for i in result.issues if severity is None or i.severity == severity]


def test_fixture_validates_without_errors():
    result = validate_path(COMPAT)
    assert result.issues.errors == [], [str(i) for i in result.issues]
    assert codes(result, "warning") == ["custom-generator"]
    project = result.project
    assert set(project.agents) == {"order_assistant"}  # keyed by name, not by folder
    agent = project.agents["order_assistant"]
    assert (agent.folder, agent.protocol, agent.mcp_servers) == (
        "order_helper",
        "rasa",
        ("carrier_tools",),
    )
    assert agent.source.file == "sub_agents/order_helper/config.yml"
    assert project.endpoints.mcp_servers["carrier_tools"].url == "http://127.0.0.1:8765/mcp"


def test_call_steps_are_parsed_into_the_step_model():
    project = load_project(COMPAT).project
    agent_call = project.flows["check_order"].steps[1]
    assert (agent_call.call, agent_call.exit_if) == (
        "order_assistant",
        ("slots.order_status is not null",),
    )
    assert not agent_call.calls_mcp_tool
    tool_call = project.flows["track_parcel"].steps[1]
    assert tool_call.calls_mcp_tool
    assert tool_call.mcp_server == "carrier_tools"
    assert tool_call.mcp_input == (("tracking_number", "tracking_number"),)
    assert tool_call.mcp_output == (("shipment_status", "result.structuredContent.status"),)
    noop = project.flows["track_parcel"].steps[2]
    assert noop.kind == "noop" and noop.raw["noop"] is None


def test_pattern_links_to_pattern_chitchat():
    project = load_project(COMPAT).project
    session = Session(project, OfflineGenerator())
    trace = asyncio.run(session.handle("blorp fizz"))
    assert trace.bot_texts[0] == "I did not get that, but happy to chat."
    assert any(e.flow_id == "pattern_chitchat" for e in trace.events)


# --- what stays an error, and what is only a warning -----------------------------------


def _validate(make_project, flows: str, extra: dict | None = None):
    return validate_path(make_project({FLOWS: flows, **(extra or {})}))


def test_user_flow_may_not_link_to_pattern_chitchat(make_project):
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - link: pattern_chitchat
        """,
    )
    [issue] = [i for i in result.issues if i.code == "invalid-link"]
    assert (issue.severity, issue.file, issue.line) == ("error", FLOWS, 5)


def test_pattern_internal_error_may_not_link_to_a_user_flow(make_project):
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - action: utter_greet
          pattern_internal_error:
            description: Something broke.
            steps:
              - link: greet
        """,
    )
    assert "invalid-link" in codes(result, "error")


def test_unknown_call_target_is_a_warning_without_sub_agents(make_project):
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - call: somewhere_else
              - action: utter_greet
        """,
    )
    assert result.ok
    assert "unknown-flow" in codes(result, "warning")


def test_unknown_keys_on_link_noop_and_set_slots_steps_are_warnings(make_project):
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - set_slots:
                  - name: Ann
                colour: blue
              - noop:
                colour: blue
                next: done
              - id: done
                link: other
                colour: blue
          other:
            description: Other.
            steps:
              - action: utter_greet
        """,
    )
    assert result.ok, [str(i) for i in result.issues]
    assert codes(result, "warning").count("unknown-step-key") == 3


def test_link_with_next_and_noop_without_next_stay_errors(make_project):
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - noop:
              - link: other
                next: END
          other:
            description: Other.
            steps:
              - action: utter_greet
        """,
    )
    assert {"noop-needs-next", "unknown-step-key"} <= set(codes(result, "error"))


MCP_ENDPOINTS = """\
mcp_servers:
  - name: tools
    url: http://127.0.0.1:9/mcp
    type: http
"""


@pytest.mark.parametrize(
    ("step", "code", "line"),
    [
        # a server endpoints.yml does not define
        (
            "- call: lookup\n  mcp_server: elsewhere\n  mapping: {input: [], output: []}",
            "unknown-mcp-server",
            6,
        ),
        # a mapped slot the domain does not define
        (
            "- call: lookup\n  mcp_server: tools\n"
            "  mapping: {input: [{param: q, slot: nope}], output: []}",
            "unknown-slot",
            7,
        ),
        # mcp_server without mapping
        ("- call: lookup\n  mcp_server: tools", "invalid-mcp-call", 6),
        # a mapping entry of the wrong shape
        (
            "- call: lookup\n  mcp_server: tools\n  mapping: {input: [{slot: name}], output: []}",
            "invalid-mcp-mapping",
            7,
        ),
        # exit_if on a call of a flow
        ("- call: other\n  exit_if: [slots.name]", "invalid-exit-if", 6),
        # exit_if that tests no slot
        ("- call: helper\n  exit_if: ['true']", "invalid-exit-if", 6),
        # exit_if together with an MCP tool
        (
            "- call: lookup\n  mcp_server: tools\n  mapping: {input: [], output: []}\n"
            "  exit_if: [slots.name]",
            "invalid-exit-if",
            8,
        ),
    ],
)
def test_call_step_errors(make_project, step, code, line):
    indented = "\n".join("      " + s for s in step.splitlines())
    flows = (
        "flows:\n  greet:\n    description: Greet.\n    steps:\n"
        + indented
        + "\n      - action: utter_greet\n"
        + "  other:\n    description: Other.\n    steps:\n      - action: utter_greet\n"
    )
    result = _validate(make_project, flows, {"endpoints.yml": MCP_ENDPOINTS})
    located = [(i.code, i.severity, i.file, i.line) for i in result.issues]
    assert (code, "error", FLOWS, line) in located, located


# --- sub-agent configs ------------------------------------------------------------------------


AGENT = """\
agent:
  name: helper
  description: Helps.
  protocol: a2a
configuration:
  agent_card: https://example.com/card.json
"""


@pytest.mark.parametrize(
    ("files", "file", "line", "text"),
    [
        ({"sub_agents/notes.md": "x"}, "sub_agents/notes.md", 0, "is not a folder"),
        ({"sub_agents/helper/prompt.jinja2": "x"}, "sub_agents/helper", 0, "no config.yml"),
        (
            {"sub_agents/helper/config.yml": "agent:\n  name: helper\n"},
            "sub_agents/helper/config.yml",
            1,
            "needs description",
        ),
        (
            {"sub_agents/helper/config.yml": AGENT.replace("a2a", "smtp")},
            "sub_agents/helper/config.yml",
            4,
            "unknown agent protocol",
        ),
        (
            {"sub_agents/helper/config.yml": AGENT + "  colour: blue\n"},
            "sub_agents/helper/config.yml",
            7,
            "unknown key 'colour'",
        ),
        (
            {"sub_agents/helper/config.yml": AGENT.replace("protocol: a2a", "protocol: rasa")},
            "sub_agents/helper/config.yml",
            1,
            "needs at least one MCP server",
        ),
        (
            {
                "sub_agents/helper/config.yml": AGENT.replace("helper", "greet"),
            },
            "sub_agents/helper/config.yml",
            1,
            "is also a flow id",
        ),
        (
            {"sub_agents/a/config.yml": AGENT, "sub_agents/b/config.yml": AGENT},
            "sub_agents/b/config.yml",
            1,
            "already used",
        ),
        (
            {"sub_agents/helper/config.yml": "agent: [\n"},
            "sub_agents/helper/config.yml",
            2,
            "",
        ),
    ],
)
def test_malformed_sub_agent_configs_are_errors(make_project, files, file, line, text):
    result = validate_path(make_project(files))
    matching = [i for i in result.issues.errors if i.file == file and i.line == line]
    assert matching, [str(i) for i in result.issues]
    assert any(text in i.message for i in matching)


def test_agent_mcp_server_must_be_in_endpoints(make_project):
    config = AGENT.replace("protocol: a2a", "protocol: rasa") + (
        "connections:\n  mcp_servers:\n    - name: tools\n    - name: missing\n"
    )
    result = validate_path(
        make_project({"sub_agents/helper/config.yml": config, "endpoints.yml": MCP_ENDPOINTS})
    )
    [issue] = result.issues.errors
    assert (issue.code, issue.line) == ("unknown-mcp-server", 10)


def test_fixture_copy_with_a_typo_in_an_agent_call_is_an_error(tmp_path):
    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root, ignore=shutil.ignore_patterns("__pycache__", ".calm"))
    flows = root / FLOWS
    flows.write_text(flows.read_text().replace("call: order_assistant", "call: order_asistant"))
    result = validate_path(root)
    [issue] = [i for i in result.issues.errors if i.code == "unknown-flow"]
    assert "order_assistant" in issue.hint  # did you mean the agent?


# --- where the notice shows ---------------------------------------------------------------


def test_agent_model_group_must_be_in_endpoints(make_project):
    config = AGENT + "  llm:\n    model_group: nowhere\n"
    result = validate_path(
        make_project({"sub_agents/helper/config.yml": config, "endpoints.yml": MCP_ENDPOINTS})
    )
    [issue] = result.issues.errors
    assert (issue.code, issue.file, issue.line) == (
        "unknown-model-group",
        "sub_agents/helper/config.yml",
        8,
    )


def test_a_bool_condition_is_an_error_rasa_cannot_read(make_project):
    # the flow schema allows `if: true`, but `rasa data validate` and `rasa train` fail on it
    result = _validate(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - collect: name
                rejections:
                  - if: false
                    utter: utter_greet
                next:
                  - if: true
                    then: END
                  - else: END
        """,
    )
    located = [(i.code, i.severity, i.line) for i in result.issues]
    assert ("invalid-condition", "error", 7) in located
    assert ("invalid-condition", "error", 10) in located
