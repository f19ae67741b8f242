"""The validator: one broken fixture project per error class, cross-reference checks, and
property tests that validating never raises, whatever the flows file holds."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from workbench.calm.patterns import default_patterns_text
from workbench.project.flows import FlowBuilder
from workbench.project.issues import IssueList
from workbench.project.loader import LoadResult
from workbench.project.model import Config, Domain, Endpoints, Project
from workbench.project.report import issues_json
from workbench.project.validate import validate_path, validate_project
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml

BROKEN = Path(__file__).parent / "fixtures" / "broken"
FLOWS = "data/flows.yml"

# (fixture folder, code, severity, file, line, column or None, other codes allowed)
# A warning marks what Rasa Pro 3.21 accepts although it is most likely a mistake.
BROKEN_CASES = [
    ("yaml_syntax", "yaml-syntax", "error", FLOWS, 5, 28, ()),
    ("unknown_flow_key", "unknown-flow-key", "error", FLOWS, 4, None, ()),
    ("unknown_step_key", "unknown-step-key", "error", FLOWS, 6, None, ()),
    ("unknown_next", "unknown-next", "error", FLOWS, 6, None, ()),
    ("unknown_next_branch", "unknown-next", "error", FLOWS, 9, None, ()),
    ("unknown_link", "unknown-flow", "error", FLOWS, 6, None, ()),
    ("unknown_call", "unknown-flow", "error", FLOWS, 5, None, ()),
    ("collect_unknown_slot", "unknown-slot", "error", FLOWS, 5, None, ("missing-ask-response",)),
    ("unknown_action", "unknown-action", "error", FLOWS, 8, None, ()),
    ("response_placeholder", "unknown-slot", "warning", "domain/responses.yml", 6, None, ()),
    ("guard_unknown_slot", "unknown-slot", "warning", FLOWS, 4, None, ()),
    ("next_if_unknown_slot", "unknown-slot", "error", FLOWS, 7, None, ()),
    ("response_condition_unknown_slot", "unknown-slot", "warning", "domain.yml", 18, None, ()),
    ("duplicate_flow", "duplicate-flow", "error", "data/b_flows.yml", 2, None, ()),
    ("condition_syntax", "condition-syntax", "error", FLOWS, 7, None, ()),
    ("categorical_set_slots", "invalid-categorical-value", "warning", FLOWS, 6, None, ()),
    ("categorical_condition", "invalid-categorical-value", "error", FLOWS, 7, None, ()),
    ("categorical_button", "invalid-categorical-value", "warning", "domain.yml", 17, None, ()),
    ("unreachable_step", "unreachable-step", "warning", FLOWS, 7, None, ()),
    ("missing_description", "missing-description", "warning", FLOWS, 2, None, ()),
    ("missing_ask_response", "missing-ask-response", "warning", FLOWS, 5, None, ()),
    ("missing_else", "missing-else", "error", FLOWS, 6, None, ()),
    ("missing_next_in_branch", "missing-next", "error", FLOWS, 9, None, ()),
    ("list_slot_collect", "list-slot-not-allowed", "error", FLOWS, 5, None, ()),
    ("list_slot_set_slots", "list-slot-not-allowed", "error", FLOWS, 6, None, ()),
]


def _case_id(case: tuple) -> str:
    return case[0]


def test_every_broken_fixture_is_in_the_table():
    assert sorted(p.name for p in BROKEN.iterdir() if p.is_dir()) == sorted(
        case[0] for case in BROKEN_CASES
    )


@pytest.mark.parametrize("case", BROKEN_CASES, ids=_case_id)
def test_broken_fixture_marks_the_expected_line(case):
    """Guards the table against fixture edits: the line holds a `# <- code` marker."""
    folder, code, _, file, line, _, _ = case
    lines = (BROKEN / folder / file).read_text().splitlines()
    assert f"# <- {code}" in lines[line - 1]


@pytest.mark.parametrize("case", BROKEN_CASES, ids=_case_id)
def test_broken_fixture_reports_its_issue(case):
    folder, code, severity, file, line, column, also_allowed = case
    result = validate_path(BROKEN / folder)
    matching = [i for i in result.issues if i.code == code]
    assert matching, f"no {code} issue in {[str(i) for i in result.issues]}"
    located = [(i.file, i.line, i.severity) for i in matching]
    assert (file, line, severity) in located
    if column is not None:
        assert any(i.column == column for i in matching if i.line == line)
    assert all(i.message and i.hint for i in matching if i.line == line)
    # the fixture is minimal: nothing else is wrong with it
    unexpected = [str(i) for i in result.issues if i.code not in (code, *also_allowed)]
    assert unexpected == []
    assert result.ok == (severity == "warning")


def test_duplicate_flow_names_the_first_definition():
    result = validate_path(BROKEN / "duplicate_flow")
    [issue] = [i for i in result.issues if i.code == "duplicate-flow"]
    assert "data/a_flows.yml:2" in issue.message
    # the first definition is kept
    assert result.project.flows["greet"].source.file == "data/a_flows.yml"


# --- a clean project ----------------------------------------------------------------------


def test_minimal_project_is_clean(make_project):
    result = validate_path(make_project())
    assert isinstance(result, LoadResult)
    assert list(result.issues) == []
    assert result.ok


RICH_DOMAIN = """\
version: "3.1"
slots:
  name:
    type: text
  plan:
    type: categorical
    values: [basic, premium]
  amount:
    type: float
  confirmed:
    type: bool
  order_status:
    type: any
    mappings:
      - type: controlled
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_ask_plan:
    - text: "Which plan?"
      buttons:
        - title: Basic
          payload: "/SetSlots(plan=basic)"
        - title: Premium
          payload: "/SetSlots(plan=PREMIUM, name=Ada)"
  utter_ask_amount:
    - text: "How much?"
  utter_ask_confirmed:
    - text: "Shall I go ahead?"
  utter_invalid_amount:
    - text: "The amount must be positive."
  utter_greet:
    - condition: slots.plan = "premium"
      text: "Welcome back, premium member {name}!"
    - text: "Hello {name}! {{literal braces}}"
  utter_order_status:
    - text: "Your order {order_id} is {order_status}."
  utter_jinja:
    - text: "{{ name | upper }} in {{ context.flow_id }}"
      metadata: {template: jinja}
  utter_done:
    - text: "Done."
actions:
  - action_check_order
"""

RICH_FLOWS = """\
flows:
  upgrade_plan:
    description: Upgrade the user's plan and pay for it.
    if: slots.name is not null or slots.plan = "basic"
    persisted_slots: [plan]
    steps:
      - collect: name
      - collect: plan
        next:
          - if: slots.plan = "premium"
            then:
              - collect: amount
                rejections:
                  - if: slots.amount <= 0
                    utter: utter_invalid_amount
              - set_slots:
                  - confirmed: true
                next: confirm
          - if: "'basic' == slots.plan"
            then: done
          - else: done
      - id: confirm
        collect: confirmed
        ask_before_filling: true
        next:
          - if: slots.confirmed
            then:
              - call: check_order
                next: done
          - else: END
      - id: done
        action: utter_done
      - link: pattern_human_handoff
  check_order:
    description: Look up the order status.
    steps:
      - action: action_check_order
      - action: utter_order_status
      - action: utter_jinja
      - action: action_listen
      - noop: true
        next: END
"""

ACTIONS = """\
class ActionCheckOrder:
    def name(self):
        return "action_check_order"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_order_status", order_id="42")
        return []
"""


def test_rich_valid_project_is_clean(make_project):
    root = make_project(
        {"domain.yml": RICH_DOMAIN, "data/flows.yml": RICH_FLOWS, "actions/orders.py": ACTIONS}
    )
    result = validate_path(root)
    assert [str(i) for i in result.issues] == []


# --- actions --------------------------------------------------------------------------------


def _flow_running(*actions: str) -> str:
    steps = "".join(f"      - action: {name}\n" for name in actions)
    return f"flows:\n  run:\n    description: Runs actions.\n    steps:\n{steps}"


@pytest.mark.parametrize(
    "action",
    [
        "utter_greet",  # a response
        "action_listen",  # a built-in
        "action_restart",
        "action_from_domain",  # listed under `actions:`
        "action_from_code",  # defined in actions/*.py, name() returns a literal
    ],
)
def test_known_actions_are_accepted(make_project, action):
    root = make_project(
        {
            "domain.yml": textwrap.dedent(
                """\
                slots:
                  name: {type: text}
                responses:
                  utter_greet:
                    - text: hi
                actions:
                  - action_from_domain
                  - action_from_code
                """
            ),
            "actions/__init__.py": "",
            "actions/code.py": (
                "class A:\n    def name(self):\n        return 'action_from_code'\n"
                "class B:\n    def name(self):\n        return 'action_from_domain'\n"
            ),
            "data/flows.yml": _flow_running(action),
        }
    )
    result = validate_path(root)
    assert [str(i) for i in result.issues] == []


def test_custom_action_not_in_domain_is_still_known_but_warned(make_project):
    root = make_project(
        {
            "actions/code.py": "class A:\n    def name(self):\n        return 'action_only_code'\n",
            "data/flows.yml": _flow_running("action_only_code"),
        }
    )
    result = validate_path(root)
    assert [(i.code, i.severity, i.file, i.line) for i in result.issues] == [
        ("action-not-in-domain", "warning", "actions/code.py", 1)
    ]


@pytest.mark.parametrize(
    ("action", "code_text"),
    [
        ("action_typo", ""),
        ("utter_missing", ""),
        # name() does not return a literal: the scanner cannot see it
        (
            "action_dynamic",
            "NAME = 'action_dynamic'\nclass A:\n    def name(self):\n        return NAME\n",
        ),
    ],
)
def test_unknown_actions_are_errors(make_project, action, code_text):
    files = {"data/flows.yml": _flow_running("utter_greet", action)}
    if code_text:
        files["actions/code.py"] = code_text
    result = validate_path(make_project(files))
    errors = [(i.code, i.file, i.line) for i in result.issues.errors]
    assert errors == [("unknown-action", FLOWS, 6)]
    assert action in result.issues.errors[0].message


def test_domain_action_without_implementation_is_a_warning(make_project):
    root = make_project(
        {
            "domain.yml": "slots:\n  name: {type: text}\nactions:\n  - action_not_written\n",
            "actions/code.py": "class A:\n    def name(self):\n        return 'action_x'\n",
            "data/flows.yml": None,
        }
    )
    issues = validate_path(root).issues
    found = [(i.code, i.severity, i.file, i.line) for i in issues]
    assert ("action-not-implemented", "warning", "domain.yml", 4) in found


# --- flow references ---------------------------------------------------------------------


def _project_with_flows(make_project, flows: str):
    return validate_path(make_project({"data/flows.yml": textwrap.dedent(flows)}))


@pytest.mark.parametrize(
    ("flows", "code", "line"),
    [
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - link: pattern_completed
            """,
            "invalid-link",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - call: pattern_chitchat
            """,
            "invalid-call",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - call: linker
              linker:
                description: Links on.
                steps:
                  - link: greet
            """,
            "invalid-call",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - action: utter_greet
                  - call: greet
            """,
            "invalid-call",
            6,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                persisted_slots: [name, nickname]
                steps:
                  - action: utter_greet
            """,
            "unknown-slot",
            4,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - collect: name
                    rejections:
                      - if: slots.plan = "x"
                        utter: utter_greet
            """,
            "unknown-slot",
            7,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - collect: name
                    utter: utter_ask_nmae
            """,
            "unknown-response",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                if: slots.name = = 1
                steps:
                  - action: utter_greet
            """,
            "condition-syntax",
            4,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - id: END
                    action: utter_greet
            """,
            "reserved-step-id",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - id: same
                    action: utter_greet
                  - id: same
                    action: utter_greet
            """,
            "duplicate-step-id",
            7,
        ),
        (
            """\
            flows:
              "bad id!":
                description: Greet.
                steps:
                  - action: utter_greet
            """,
            "invalid-flow-id",
            2,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps:
                  - noop: true
            """,
            "noop-needs-next",
            5,
        ),
        (
            """\
            flows:
              greet:
                description: Greet.
                steps: []
            """,
            "missing-steps",
            4,
        ),
    ],
)
def test_flow_errors(make_project, flows, code, line):
    result = _project_with_flows(make_project, flows)
    located = [(i.file, i.line, i.severity) for i in result.issues if i.code == code]
    assert (FLOWS, line, "error") in located, [str(i) for i in result.issues]


@pytest.mark.parametrize(
    ("key", "where", "code", "line"),
    [
        ("1", "step", "unknown-step-key", 7),
        ("true", "step", "unknown-step-key", 7),
        ("~", "step", "unknown-step-key", 7),
        ("2", "flow", "unknown-flow-key", 4),
        ("2.5", "flow", "unknown-flow-key", 4),
    ],
)
def test_non_string_keys_are_reported_not_crashed(make_project, key, where, code, line):
    """YAML keys that are numbers, bools or null next to string keys (a stray `1: x`)."""
    flow_key = f"    {key}: oops\n" if where == "flow" else ""
    step_key = f"        {key}: oops\n" if where == "step" else ""
    flows = (
        "flows:\n"
        "  greet:\n"
        "    description: Greet the user.\n"
        f"{flow_key}"
        "    steps:\n"
        "      - collect: name\n"
        "      - action: utter_greet\n"
        f"{step_key}"
    )
    result = validate_path(make_project({"data/flows.yml": flows}))
    assert [(i.code, i.file, i.line) for i in result.issues] == [(code, FLOWS, line)]


def test_linkable_patterns_may_be_linked(make_project):
    result = _project_with_flows(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - action: utter_greet
              - link: pattern_human_handoff
        """,
    )
    assert list(result.issues) == []


def test_unknown_pattern_id_is_a_warning(make_project):
    result = _project_with_flows(
        make_project,
        """\
        flows:
          pattern_my_own:
            description: Not a real pattern.
            steps:
              - action: utter_greet
        """,
    )
    assert [(i.code, i.severity, i.line) for i in result.issues] == [
        ("unknown-pattern", "warning", 2)
    ]


def test_rejection_may_only_use_its_own_slot(make_project):
    domain = """\
        slots:
          name: {type: text}
          age: {type: float}
        responses:
          utter_ask_name:
            - text: Name?
          utter_greet:
            - text: Hi
        """
    flows = """\
        flows:
          greet:
            description: Greet.
            steps:
              - collect: name
                rejections:
                  - if: slots.age < 18
                    utter: utter_greet
        """
    result = validate_path(make_project({"domain.yml": domain, "data/flows.yml": flows}))
    assert [(i.code, i.line) for i in result.issues] == [("rejection-other-slot", 7)]


# --- conditions and categorical values ---------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        'slots.plan = "premium"',
        "slots.plan == 'PREMIUM'",  # case-insensitive, like Rasa's coercion
        '"basic" = slots.plan',
        "slots.plan is '__other__'",
        "slots.plan != 'basic' and context.collect = 'plan'",
        "{{ context.collect }} is not null",  # Jinja is rendered first
        "slots.plan is null",
    ],
)
def test_valid_conditions_are_accepted(make_project, condition):
    domain = """\
        slots:
          plan: {type: categorical, values: [basic, premium]}
        responses:
          utter_ask_plan:
            - text: Plan?
        """
    flows = f"""\
        flows:
          pick:
            description: Pick a plan.
            steps:
              - collect: plan
                next:
                  - if: {json.dumps(condition)}
                    then: END
                  - else: END
        """
    result = validate_path(make_project({"domain.yml": domain, "data/flows.yml": flows}))
    assert [str(i) for i in result.issues] == []


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ('slots.plan = "gold"', "invalid-categorical-value"),
        ('"gold" == slots.plan', "invalid-categorical-value"),
        ("slots.plan is not 'gold'", "invalid-categorical-value"),
        ("slots.plann is null", "unknown-slot"),
        ("slots.plan = ", "condition-syntax"),
        ("(slots.plan = 'basic'", "condition-syntax"),
    ],
)
def test_invalid_conditions_are_errors(make_project, condition, code):
    domain = """\
        slots:
          plan: {type: categorical, values: [basic, premium]}
        responses:
          utter_ask_plan:
            - text: Plan?
        """
    flows = f"""\
        flows:
          pick:
            description: Pick a plan.
            steps:
              - collect: plan
                next:
                  - if: {json.dumps(condition)}
                    then: END
                  - else: END
        """
    result = validate_path(make_project({"domain.yml": domain, "data/flows.yml": flows}))
    assert [(i.code, i.file, i.line) for i in result.issues] == [(code, FLOWS, 7)]


@pytest.mark.parametrize("bad_item", ["oops", "5", "true", "[a, b]"])
def test_set_slots_lines_after_an_invalid_entry(make_project, bad_item):
    """Each set_slots problem points at its own entry, also after a malformed one."""
    domain = """\
        slots:
          plan: {type: categorical, values: [basic, premium]}
        responses:
          utter_bye:
            - text: Bye
        """
    flows = f"""\
        flows:
          upgrade:
            description: Upgrade the plan.
            steps:
              - set_slots:
                  - {bad_item}
                  - plan: gold
                  - nope: 1
              - action: utter_bye
        """
    result = validate_path(make_project({"domain.yml": domain, "data/flows.yml": flows}))
    assert sorted((i.code, i.line) for i in result.issues) == [
        ("invalid-categorical-value", 7),
        ("invalid-set-slots", 6),
        ("unknown-slot", 8),
    ]


def test_button_payload_with_unknown_slot(make_project):
    domain = """\
        slots:
          name: {type: text}
        responses:
          utter_ask_name:
            - text: "Name?"
              buttons:
                - {title: Ada, payload: "/SetSlots(nmae=Ada)"}
          utter_greet:
            - text: Hi
        """
    result = validate_path(make_project({"domain.yml": domain}))
    [issue] = result.issues
    assert (issue.code, issue.file, issue.line) == ("unknown-slot", "domain.yml", 7)


# --- responses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variation", "expected"),
    [
        ('- text: "Hello {name}"', []),
        ('- text: "Hello {{name}} and {{ nmae }}"', []),  # escaped braces, not placeholders
        ('- text: "Step {step_id} of {flow_id}"', []),  # stack frame context keys
        ('- text: "Hello {nmae}"', ["unknown-slot"]),
        ('- {text: "Hi", buttons: [{title: "Call {nmae}", payload: /x}]}', ["unknown-slot"]),
        ('- {text: "{{ nmae }}", metadata: {template: jinja}}', ["unknown-slot"]),
        ('- {text: "{{ name }} {{ context.flow_id }}", metadata: {template: jinja}}', []),
        ("- {text: Hi, condition: [{type: slot, name: nmae, value: x}]}", ["unknown-slot"]),
        ("- {text: Hi, condition: [{type: slot, name: name, value: x}]}", []),
    ],
)
def test_response_templates(make_project, variation, expected):
    domain = f"""\
slots:
  name: {{type: text}}
responses:
  utter_ask_name:
    - text: "Name?"
  utter_greet:
    {variation}
"""
    result = validate_path(make_project({"domain.yml": domain}))
    assert [(i.code, i.line) for i in result.issues] == [(code, 7) for code in expected]


def test_slot_rejection_response_may_use_value(make_project):
    """Rasa utters utter_{boolean,float,categorical}_slot_rejection with a `value` variable
    (reference b); a project overriding one, as the default does, is not wrong."""
    domain = _minimal_domain_with(
        """\
  utter_categorical_slot_rejection:
    - text: "Sorry, `{{value}}` is not one of the options."
      metadata: {template: jinja}
  utter_float_slot_rejection:
    - text: "Sorry, {value} is not a number."
"""
    )
    result = validate_path(make_project({"domain.yml": domain}))
    assert [str(i) for i in result.issues] == []


def test_copying_all_default_responses_into_the_project_is_clean(make_project):
    """Overriding a default response with its own default text never produces issues."""
    data = YAML(typ="safe", pure=True).load(default_patterns_text())
    domain = _dump({"slots": {"name": {"type": "text"}}, "responses": data["responses"]})
    domain = domain.replace("responses:\n", _RESPONSES_OF_MINIMAL_DOMAIN, 1)
    result = validate_path(make_project({"domain.yml": domain}))
    assert [str(i) for i in result.issues] == []


def test_default_responses_are_not_validated(make_project):
    """Default responses use context variables of patterns; they never produce issues."""
    result = validate_path(make_project())
    assert not [i for i in result.issues if i.file.startswith("<default")]


# --- e2e references ------------------------------------------------------------------------


def test_e2e_references_are_checked(make_project):
    tests = """\
        fixtures:
          - user: [{nmae: Ada}]
        test_cases:
          - test_case: t
            fixtures: [user, missing]
            steps:
              - user: hi
              - utter: utter_nope
        """
    result = validate_path(make_project({"e2e_tests/t.yml": tests}))
    found = sorted((i.code, i.severity, i.file, i.line) for i in result.issues)
    # Rasa's e2e runner refuses an unknown fixture; the others only make the test fail
    assert ("unknown-fixture", "error", "e2e_tests/t.yml", 4) in found
    assert ("unknown-response", "warning", "e2e_tests/t.yml", 8) in found
    assert any(
        (code, severity, file) == ("unknown-slot", "warning", "e2e_tests/t.yml")
        for code, severity, file, _ in found
    )


def test_unknown_fixture_slot_points_at_its_line(make_project):
    tests = """\
        fixtures:
          - user:
              - name: Ada
              - nmae: Ada
        test_cases:
          - test_case: t
            fixtures: [user]
            steps:
              - user: hi
        """
    result = validate_path(make_project({"e2e_tests/t.yml": tests}))
    assert [(i.code, i.file, i.line) for i in result.issues] == [
        ("unknown-slot", "e2e_tests/t.yml", 4)
    ]


# --- model references ----------------------------------------------------------------------


def test_unknown_model_group_and_missing_prompt_template(make_project):
    config = """\
        pipeline:
          - name: CompactLLMCommandGenerator
            llm: {model_group: nowhere}
            prompt_template: prompts/missing.jinja2
        """
    result = validate_path(make_project({"config.yml": config}))
    found = sorted((i.code, i.file, i.line) for i in result.issues)
    assert found == [
        ("missing-prompt-template", "config.yml", 2),
        ("unknown-model-group", "config.yml", 2),
    ]


def test_known_model_group_and_existing_prompt_template(make_project):
    config = """\
        pipeline:
          - name: CompactLLMCommandGenerator
            llm: {model_group: main}
            prompt_template: prompts/cmd.jinja2
        """
    endpoints = "model_groups:\n  - id: main\n    models: [{provider: openai, model: x}]\n"
    template = "{{ user_message }}"
    root = make_project(
        {"config.yml": config, "endpoints.yml": endpoints, "prompts/cmd.jinja2": template}
    )
    assert list(validate_path(root).issues) == []


# --- property tests ------------------------------------------------------------------------

FUZZ_DOMAIN = RICH_DOMAIN
FUZZ_FLOWS = RICH_FLOWS
ORIGINAL_DOCUMENT = parse_yaml(RICH_FLOWS, FLOWS)
FUZZ_CHARS = [":", "-", "[", "]", "{", "}", "\t", " ", "\n", "#", "&", "*", "!", "|", ">", '"', "'"]
FUZZ_CHARS += ["%", "@", "`", ",", "?", "x", "0", "\\", "\x00", "é"]


def test_fuzz_base_project_is_valid(tmp_path):
    """The property tests below corrupt a flows file that is clean to start with."""
    root = _fuzz_project(tmp_path)
    assert [str(i) for i in validate_path(root).issues] == []


def _fuzz_project(root: Path) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "actions").mkdir(exist_ok=True)
    (root / "config.yml").write_text("recipe: default.v1\nlanguage: en\n")
    (root / "domain.yml").write_text(FUZZ_DOMAIN)
    (root / "actions" / "orders.py").write_text(ACTIONS)
    (root / FLOWS).write_text(FUZZ_FLOWS)
    return root


_position = st.integers(min_value=0, max_value=10_000)
_edit = st.one_of(
    st.tuples(st.just("delete_char"), _position),
    st.tuples(st.just("duplicate_char"), _position),
    st.tuples(st.just("swap_chars"), _position),
    st.tuples(st.just("insert_char"), _position, st.sampled_from(FUZZ_CHARS)),
    st.tuples(st.just("delete_line"), _position),
    st.tuples(st.just("duplicate_line"), _position),
    st.tuples(st.just("swap_lines"), _position, _position),
    st.tuples(st.just("indent_line"), _position, st.integers(min_value=-6, max_value=6)),
)


def corrupt(text: str, edits: list[tuple]) -> str:
    for edit in edits:
        kind, position = edit[0], edit[1]
        if kind.endswith("_char"):
            if not text and kind != "insert_char":
                continue
            i = position % (len(text) + 1 if kind == "insert_char" else len(text))
            if kind == "delete_char":
                text = text[:i] + text[i + 1 :]
            elif kind == "duplicate_char":
                text = text[: i + 1] + text[i:]
            elif kind == "swap_chars" and i + 1 < len(text):
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            elif kind == "insert_char":
                text = text[:i] + edit[2] + text[i:]
            continue
        lines = text.split("\n")
        i = position % len(lines)
        if kind == "delete_line":
            del lines[i]
        elif kind == "duplicate_line":
            lines.insert(i, lines[i])
        elif kind == "swap_lines":
            j = edit[2] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent_line":
            shift = edit[2]
            line = lines[i]
            lines[i] = " " * shift + line if shift > 0 else line[min(-shift, _indent(line)) :]
        text = "\n".join(lines)
    return text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_RESPONSES_OF_MINIMAL_DOMAIN = """\
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_greet:
    - text: "Hello {name}!"
"""


def _minimal_domain_with(responses: str) -> str:
    return "slots:\n  name:\n    type: text\n" + _RESPONSES_OF_MINIMAL_DOMAIN + responses


def _check_result(result: object, root: Path, text: str) -> None:
    assert isinstance(result, LoadResult)
    assert isinstance(result.project, Project)
    n_lines = text.count("\n") + 1
    for issue in result.issues:
        assert issue.severity in ("error", "warning")
        assert issue.code and isinstance(issue.code, str)
        assert issue.message
        assert isinstance(issue.line, int) and issue.line >= 0
        assert isinstance(issue.column, int) and issue.column >= 0
        if issue.file == FLOWS:
            assert issue.line <= n_lines + 1, str(issue)
        str(issue)
    report = json.loads(issues_json(result.issues, str(root)))
    assert len(report["issues"]) == len(result.issues)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(_edit, min_size=1, max_size=6))
def test_corrupted_flows_never_crash_the_validator(tmp_path, edits):
    root = _fuzz_project(tmp_path)
    text = corrupt(FUZZ_FLOWS, edits)
    (root / FLOWS).write_text(text, encoding="utf-8")

    result = validate_path(root)

    _check_result(result, root, text)
    try:
        parsed = parse_yaml(text, FLOWS)
    except YamlSyntaxError:
        syntax = [i for i in result.issues if i.code == "yaml-syntax"]
        assert [i.file for i in syntax] == [FLOWS]
        assert not result.ok
        assert not result.project.user_flows  # nothing is half-loaded from a broken file
        return
    if not isinstance(parsed, dict) or "flows" not in parsed:
        # no longer a flows file (e.g. `lows:`): nothing is loaded from it
        assert not result.project.user_flows
    elif parsed == ORIGINAL_DOCUMENT:
        assert list(result.issues) == []
    elif parsed["flows"] != {}:
        # a different flows document either still loads as flows or is reported
        assert result.project.user_flows or result.issues


_names = st.sampled_from(
    [
        "description", "steps", "action", "collect", "next", "if", "then", "else", "id",
        "set_slots", "link", "call", "noop", "utter", "rejections", "name", "persisted_slots",
        "nlu_trigger", "intent", "metadata", "greet", "END", "utter_greet", "name", "plan",
        "pattern_chitchat", "slots.name", "action_listen", "always_include_in_prompt",
        "ask_before_filling", "confidence_threshold", "run_pattern_completed",
    ]
)  # fmt: skip
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20
)  # no lone surrogates: the file must be UTF-8
_conditions = st.sampled_from(
    [
        "slots.name is null",
        "slots.plan = 'gold'",
        "slots.nope > 3",
        "(slots.name",
        "{{ context.collect }} = 1",
        "not",
        "slots.name matches '['",
        "",
        "{x}",
        "/SetSlots(plan=gold)",
        "Hello {name} {nmae}",
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=True),
    _text,
    _names,
    _conditions,
)
_keys = st.one_of(_names, _text, st.integers(min_value=-5, max_value=5), st.booleans())
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_keys, children, max_size=5),
    ),
    max_leaves=25,
)


def _dump(data: object) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


# ruamel warns (YAML 1.1 style) about floats such as 1e-05 that the dumper writes
@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.MantissaNoDotYAML1_1Warning")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(flows=_trees)
def test_arbitrary_flows_trees_never_crash_the_validator(tmp_path, flows):
    root = _fuzz_project(tmp_path)
    text = _dump({"flows": flows})
    (root / FLOWS).write_text(text, encoding="utf-8")

    result = validate_path(root)

    _check_result(result, root, text)
    if not isinstance(flows, dict):
        assert any(i.code == "flows-not-mapping" for i in result.issues)


@settings(max_examples=60, deadline=None)
@given(flows=st.dictionaries(_keys, _trees, max_size=4))
def test_flow_builder_and_validator_accept_plain_python_trees(flows):
    """Plain dicts (no line information) go through the same code paths without raising."""
    issues = IssueList()
    built = FlowBuilder("data/plain.yml", issues).build_all(flows, 1)
    project = Project(
        root=Path("."),
        config=Config(),
        endpoints=Endpoints(),
        domain=Domain(),
        flows={f.id: f for f in built},
    )
    for issue in [*issues, *validate_project(project)]:
        assert issue.severity in ("error", "warning")
        assert issue.line >= 0


def test_corrupt_helper_changes_text():
    assert corrupt("ab\ncd", [("delete_char", 0)]) == "b\ncd"
    assert corrupt("ab\ncd", [("swap_lines", 0, 1)]) == "cd\nab"
    assert corrupt("  ab\ncd", [("indent_line", 0, -6)]) == "ab\ncd"
    assert corrupt("ab", [("insert_char", 1, ":")]) == "a:b"
