"""Loading a project folder: files found, formats parsed, defaults applied, lines kept."""

from __future__ import annotations

import os
import sys

import pytest

from workbench.project.loader import LoadResult, ProjectNotFound, default_patterns, load_project
from workbench.project.model import END_STEP, ConditionalNext, Project, Source, StaticNext


def load(root, **kwargs) -> LoadResult:
    result = load_project(root, **kwargs)
    assert isinstance(result, LoadResult)
    assert isinstance(result.project, Project)
    return result


def issues_with(result: LoadResult, code: str) -> list:
    return [issue for issue in result.issues if issue.code == code]


# --- basics ----------------------------------------------------------------------------


def test_minimal_project_loads_without_issues(make_project):
    result = load(make_project())
    project = result.project
    assert list(result.issues) == []
    assert result.ok
    assert [f.id for f in project.user_flows] == ["greet"]
    assert set(project.domain.slots) >= {"name"}
    assert project.config.assistant_id == "test_bot"
    assert project.config.language == "en"
    assert "config.yml" in project.files
    assert "data/flows.yml" in project.files


def test_missing_folder_raises_project_not_found(tmp_path):
    with pytest.raises(ProjectNotFound):
        load_project(tmp_path / "does-not-exist")


def test_a_file_is_not_a_project(tmp_path):
    path = tmp_path / "domain.yml"
    path.write_text("slots: {}\n")
    with pytest.raises(ProjectNotFound):
        load_project(path)


def test_project_without_domain_warns(make_project):
    result = load(make_project({"domain.yml": None}))
    [issue] = issues_with(result, "no-domain")
    assert issue.severity == "warning"


def test_yaml_syntax_error_keeps_the_rest_of_the_project(make_project):
    root = make_project(
        {
            "data/other.yml": """\
                flows:
                  broken:
                    description: "unterminated
                """
        }
    )
    result = load(root)
    [issue] = issues_with(result, "yaml-syntax")
    assert issue.file == "data/other.yml"
    assert issue.severity == "error"
    assert issue.line >= 3
    assert "greet" in result.project.flows  # data/flows.yml still loaded
    assert "broken" not in result.project.flows


def test_yaml_anchors_and_merge_keys(make_project):
    flows = """\
        flows:
          first: &common
            description: Shared description.
            steps:
              - action: utter_greet
          second:
            <<: *common
            description: Own description.
        """
    result = load(make_project({"data/flows.yml": flows}))
    flows_obj = result.project.flows
    assert list(result.issues) == []
    assert flows_obj["second"].description == "Own description."
    assert [s.id for s in flows_obj["second"].steps] == ["second_0_utter_greet"]


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("data/flows.yml", "flows: &f\n  greet: *f\n"),
        ("domain.yml", "slots: &s\n  name: *s\n"),
        ("config.yml", "pipeline: &p\n  - *p\n"),
    ],
)
def test_recursive_yaml_alias_is_an_issue_not_a_crash(make_project, file, text):
    result = load(make_project({file: text}))
    [issue] = issues_with(result, "yaml-syntax")
    assert (issue.file, issue.severity) == (file, "error")
    assert issue.line in (1, 2)


# --- domain ------------------------------------------------------------------------------

DOMAIN_FOLDER = {
    "domain.yml": None,
    "domain/a_slots.yml": """\
        version: "3.1"
        slots:
          name:
            type: text
          email:
            type: text
        """,
    "domain/b_responses.yml": """\
        version: "3.1"
        responses:
          utter_ask_name:
            - text: "What is your name?"
          utter_greet:
            - text: "Hello {name}!"
        """,
    "domain/nested/c_actions.yml": """\
        actions:
          - action_check_email
        """,
}


def test_domain_folder_files_merge(make_project):
    result = load(make_project(DOMAIN_FOLDER))
    domain = result.project.domain
    assert list(result.issues) == []
    assert {"name", "email"} <= set(domain.slots)
    assert domain.slots["email"].source == Source("domain/a_slots.yml", 5)
    assert {"utter_ask_name", "utter_greet"} <= set(domain.responses)
    assert domain.responses["utter_greet"].source == Source("domain/b_responses.yml", 5)
    assert domain.actions == {"action_check_email": Source("domain/nested/c_actions.yml", 2)}
    assert set(domain.files) == {
        "domain/a_slots.yml",
        "domain/b_responses.yml",
        "domain/nested/c_actions.yml",
    }


def test_duplicate_slot_across_domain_files_is_a_warning(make_project):
    files = dict(DOMAIN_FOLDER)
    files["domain/z_more_slots.yml"] = """\
        slots:
          email:
            type: any
        """
    result = load(make_project(files))
    [issue] = issues_with(result, "duplicate-slot")
    assert (issue.file, issue.line, issue.severity) == ("domain/z_more_slots.yml", 2, "warning")
    assert "domain/a_slots.yml:5" in issue.message
    assert result.ok
    # the later definition is used
    assert result.project.domain.slots["email"].type == "any"


def test_slot_details_are_parsed(make_project):
    domain = """\
        slots:
          plan:
            type: categorical
            values: [basic, Premium, true]
            mappings:
              - type: controlled
          amount:
            type: float
            min_value: 0
            max_value: 100
            initial_value: 5
        responses:
          utter_ask_name:
            - text: "What is your name?"
          utter_greet:
            - text: "Hi"
        actions:
          - action_x
          - action_y: {send_domain: true}
        """
    result = load(make_project({"domain.yml": domain}))
    slots = result.project.domain.slots
    assert slots["plan"].values == ("basic", "Premium", "true")
    assert slots["plan"].is_controlled and not slots["plan"].llm_fillable
    assert (slots["amount"].min_value, slots["amount"].max_value) == (0.0, 100.0)
    assert slots["amount"].initial_value == 5
    assert slots["amount"].llm_fillable
    assert list(result.project.domain.actions) == ["action_x", "action_y"]


# --- config.yml / endpoints.yml ----------------------------------------------------------

ENDPOINTS_WITH_ENV = """\
    action_endpoint:
      url: ${ACTION_URL}
    model_groups:
      - id: main_llm
        models:
          - provider: openai
            model: ${MODEL_NAME:-gpt-4o-mini}
            api_key: ${WB_TEST_UNSET_KEY}
            api_base: "https://${API_HOST}/v1"
    """


def test_env_vars_are_substituted_in_endpoints(make_project, monkeypatch):
    monkeypatch.setenv("ACTION_URL", "http://localhost:5055/webhook")
    monkeypatch.setenv("API_HOST", "llm.example.com")
    monkeypatch.delenv("MODEL_NAME", raising=False)
    monkeypatch.delenv("WB_TEST_UNSET_KEY", raising=False)
    result = load(make_project({"endpoints.yml": ENDPOINTS_WITH_ENV}))
    endpoints = result.project.endpoints
    assert endpoints.action_endpoint_url == "http://localhost:5055/webhook"
    [model] = endpoints.model_groups["main_llm"].models
    assert model.model == "gpt-4o-mini"  # the default after `:-`
    assert model.settings["api_base"] == "https://llm.example.com/v1"
    assert model.settings["api_key"] is None  # unset and the whole value: null
    [issue] = issues_with(result, "env-not-set")
    assert (issue.file, issue.line, issue.severity) == ("endpoints.yml", 8, "warning")
    assert "WB_TEST_UNSET_KEY" in issue.message
    assert result.ok


def test_env_default_is_overridden_when_the_variable_is_set(make_project, monkeypatch):
    monkeypatch.setenv("ACTION_URL", "http://actions:5055/webhook")
    monkeypatch.setenv("API_HOST", "llm.example.com")
    monkeypatch.setenv("MODEL_NAME", "gpt-5")
    monkeypatch.setenv("WB_TEST_UNSET_KEY", "sk-test")
    result = load(make_project({"endpoints.yml": ENDPOINTS_WITH_ENV}))
    [model] = result.project.endpoints.model_groups["main_llm"].models
    assert model.model == "gpt-5"
    assert model.settings["api_key"] == "sk-test"
    assert not issues_with(result, "env-not-set")


def test_env_vars_are_substituted_in_config(make_project, monkeypatch):
    monkeypatch.setenv("WB_ASSISTANT", "env_bot")
    monkeypatch.delenv("WB_LANGUAGE", raising=False)
    monkeypatch.delenv("WB_MISSING", raising=False)
    config = """\
        recipe: default.v1
        language: ${WB_LANGUAGE:-de}
        assistant_id: ${WB_ASSISTANT}
        pipeline:
          - name: CompactLLMCommandGenerator
            prompt_template: "prompts/${WB_MISSING}cmd.jinja2"
        """
    result = load(make_project({"config.yml": config}))
    config_obj = result.project.config
    assert config_obj.assistant_id == "env_bot"
    assert config_obj.language == "de"
    # inside a longer string an unset variable becomes empty
    assert config_obj.command_generator.prompt_template == "prompts/cmd.jinja2"
    [issue] = issues_with(result, "env-not-set")
    assert (issue.file, issue.line) == ("config.yml", 6)


def test_unset_env_var_gives_null_config_value(make_project, monkeypatch):
    monkeypatch.delenv("WB_MISSING", raising=False)
    result = load(make_project({"config.yml": "assistant_id: ${WB_MISSING}\n"}))
    assert result.project.config.assistant_id is None
    [issue] = issues_with(result, "env-not-set")
    assert (issue.file, issue.line, issue.severity) == ("config.yml", 1, "warning")


def test_model_groups_from_endpoints(make_project):
    endpoints = """\
        action_endpoint:
          actions_module: "actions"
        nlg:
          type: rephrase
        model_groups:
          - id: main_llm
            models:
              - provider: openai
                model: gpt-5.1-2025-11-13
                reasoning_effort: "none"
                timeout: 15
          - id: routed
            router:
              routing_strategy: simple-shuffle
            models:
              - {provider: azure, model_name: gpt-4o, api_base: "https://a.example"}
              - {provider: anthropic, model: claude-sonnet}
        """
    result = load(make_project({"endpoints.yml": endpoints}))
    endpoints_obj = result.project.endpoints
    assert list(result.issues) == []
    assert endpoints_obj.actions_module == "actions"
    assert endpoints_obj.nlg == {"type": "rephrase"}
    assert list(endpoints_obj.model_groups) == ["main_llm", "routed"]
    main = endpoints_obj.model_groups["main_llm"]
    assert main.source == Source("endpoints.yml", 6)
    [model] = main.models
    assert (model.provider, model.model) == ("openai", "gpt-5.1-2025-11-13")
    assert model.settings == {"reasoning_effort": "none", "timeout": 15}
    routed = endpoints_obj.model_groups["routed"]
    assert routed.router == {"routing_strategy": "simple-shuffle"}
    assert [(m.provider, m.model) for m in routed.models] == [
        ("azure", "gpt-4o"),
        ("anthropic", "claude-sonnet"),
    ]
    assert routed.models[0].settings == {"api_base": "https://a.example"}


@pytest.mark.parametrize(
    ("groups", "code", "line"),
    [
        (
            """\
            model_groups:
              - id: a
                models: [{provider: openai, model: x}]
              - id: a
                models: [{provider: openai, model: y}]
            """,
            "duplicate-model-group",
            4,
        ),
        (
            """\
            model_groups:
              - id: empty
                models: []
            """,
            "invalid-model-groups",
            2,
        ),
        (
            """\
            model_groups:
              - models: [{provider: openai, model: x}]
            """,
            "invalid-model-groups",
            2,
        ),
    ],
)
def test_invalid_model_groups_are_errors(make_project, groups, code, line):
    result = load(make_project({"endpoints.yml": groups}))
    [issue] = issues_with(result, code)
    assert (issue.file, issue.line, issue.severity) == ("endpoints.yml", line, "error")


def test_command_generator_entry_from_pipeline(make_project):
    config = """\
        recipe: default.v1
        language: en
        pipeline:
          - name: NLUCommandAdapter
          - name: CompactLLMCommandGenerator
            llm:
              model_group: main_llm
            prompt_template: prompts/command.jinja2
            user_input:
              max_characters: 300
            flow_retrieval:
              active: false
        policies:
          - name: FlowPolicy
        """
    result = load(make_project({"config.yml": config}))
    config_obj = result.project.config
    generator = config_obj.command_generator
    assert generator is not None
    assert generator.name == "CompactLLMCommandGenerator"
    assert generator.llm == {"model_group": "main_llm"}
    assert generator.prompt_template == "prompts/command.jinja2"
    assert generator.flow_retrieval == {"active": False}
    assert generator.max_characters == 300
    assert generator.source == Source("config.yml", 5)
    assert [c["name"] for c in config_obj.pipeline] == [
        "NLUCommandAdapter",
        "CompactLLMCommandGenerator",
    ]
    assert [p["name"] for p in config_obj.policies] == ["FlowPolicy"]


def test_command_generator_with_dotted_name_and_defaults(make_project):
    config = """\
        pipeline:
          - name: rasa.dialogue_understanding.generator.SearchReadyLLMCommandGenerator
        """
    generator = load(make_project({"config.yml": config})).project.config.command_generator
    assert generator.name == "SearchReadyLLMCommandGenerator"
    assert generator.llm == {}
    assert generator.prompt_template is None
    assert generator.max_characters == 420


def test_no_command_generator_in_pipeline(make_project):
    config = "pipeline:\n  - name: NLUCommandAdapter\n"
    assert load(make_project({"config.yml": config})).project.config.command_generator is None


def test_model_groups_in_config_are_merged_and_endpoints_win(make_project):
    config = """\
        model_groups:
          - id: from_config
            models: [{provider: openai, model: a}]
          - id: shared
            models: [{provider: openai, model: config-version}]
        """
    endpoints = """\
        model_groups:
          - id: shared
            models: [{provider: openai, model: endpoints-version}]
        """
    result = load(make_project({"config.yml": config, "endpoints.yml": endpoints}))
    groups = result.project.endpoints.model_groups
    assert set(groups) == {"from_config", "shared"}
    assert groups["shared"].models[0].model == "endpoints-version"


# --- flow files ------------------------------------------------------------------------


def _flow_file(flow_id: str) -> str:
    return f"""\
        flows:
          {flow_id}:
            description: Flow {flow_id}.
            steps:
              - action: utter_greet
        """


def test_flows_from_data_subfolders_and_top_level_flows_folder(make_project):
    root = make_project(
        {
            "data/flows/a.yml": _flow_file("flow_a"),
            "data/deep/nested/b.yaml": _flow_file("flow_b"),
            "flows/c.yml": _flow_file("flow_c"),
            "flows/sub/d.yml": _flow_file("flow_d"),
            "data/nlu.yml": "version: '3.1'\nnlu: []\n",
            "other/ignored.yml": _flow_file("flow_ignored"),
        }
    )
    result = load(root)
    flows = result.project.flows
    assert list(result.issues) == []
    assert {f.id for f in result.project.user_flows} == {
        "greet",
        "flow_a",
        "flow_b",
        "flow_c",
        "flow_d",
    }
    assert flows["flow_a"].source == Source("data/flows/a.yml", 2)
    assert flows["flow_b"].source == Source("data/deep/nested/b.yaml", 2)
    assert flows["flow_c"].source == Source("flows/c.yml", 2)
    assert flows["flow_d"].source == Source("flows/sub/d.yml", 2)
    assert "flow_ignored" not in flows


def test_flows_in_skipped_folders_are_ignored(make_project):
    root = make_project(
        {
            "data/.git/x.yml": _flow_file("in_git"),
            "data/__pycache__/y.yml": _flow_file("in_pycache"),
        }
    )
    flows = load(root).project.flows
    assert "in_git" not in flows
    assert "in_pycache" not in flows


def test_every_flow_and_step_has_a_source_line(make_project):
    flows = """\
        flows:
          greet:
            description: Greet the user.
            steps:
              - collect: name
                rejections:
                  - if: slots.name = "x"
                    utter: utter_greet
              - id: hello
                action: utter_greet
          other:
            description: Another flow.
            steps:
              - noop: true
                next:
                  - if: slots.name is null
                    then:
                      - action: utter_greet
                        next: END
                  - else: END
        """
    project = load(make_project({"data/flows.yml": flows})).project
    greet, other = project.flows["greet"], project.flows["other"]
    assert greet.source == Source("data/flows.yml", 2)
    assert other.source == Source("data/flows.yml", 11)
    assert [(s.id, s.source.line) for s in greet.steps] == [
        ("greet_0_collect_name", 5),
        ("hello", 9),
    ]
    assert all(s.source.file == "data/flows.yml" for s in greet.steps + other.steps)
    assert greet.steps[0].rejections[0].source == Source("data/flows.yml", 7)
    assert greet.steps[0].rejections[0].condition == 'slots.name = "x"'
    assert greet.steps[1].explicit_id and not greet.steps[0].explicit_id
    assert [(s.id, s.source.line) for s in other.steps] == [
        ("other_0_noop", 14),
        ("other_1_utter_greet", 18),
    ]
    branches = other.steps[0].next.branches
    assert [(b.condition, b.source.line) for b in branches] == [
        ("slots.name is null", 16),
        (None, 20),
    ]


# --- default step ids and the flattened step graph --------------------------------------

BRANCHING_FLOW = """\
    flows:
      my_flow:
        description: Branches first, then carries on.
        steps:
          - collect: name
            next:
              - if: slots.name is not null
                then:
                  - action: utter_greet
                  - set_slots:
                      - name: null
                    next: my_flow_3_utter_bye
              - else: my_flow_3_utter_bye
          - action: utter_bye
          - link: other
      other:
        description: Another flow.
        steps:
          - call: my_flow
    """


def test_default_step_ids_follow_a_depth_first_walk(make_project):
    project = load(make_project({"data/flows.yml": BRANCHING_FLOW})).project
    flow = project.flows["my_flow"]
    assert [s.id for s in flow.steps] == [
        "my_flow_0_collect_name",
        "my_flow_1_utter_greet",  # nested `then` steps get idx 1, 2
        "my_flow_2_set_slots",
        "my_flow_3_utter_bye",  # the step after the branch gets 3
        "my_flow_4_link_other",
    ]
    assert [s.source.line for s in flow.steps] == [5, 9, 10, 14, 15]
    assert [s.kind for s in flow.steps] == ["collect", "action", "set_slots", "action", "link"]
    assert project.flows["other"].steps[0].id == "other_0_call_my_flow"


def test_branch_next_links_and_defaults(make_project):
    flow = load(make_project({"data/flows.yml": BRANCHING_FLOW})).project.flows["my_flow"]
    first, greet, set_slots, bye, link = flow.steps
    assert isinstance(first.next, ConditionalNext)
    assert [(b.condition, b.target) for b in first.next.branches] == [
        ("slots.name is not null", "my_flow_1_utter_greet"),  # a nested list: its first step
        (None, "my_flow_3_utter_bye"),
    ]
    assert first.next.else_target == "my_flow_3_utter_bye"
    assert greet.next == StaticNext("my_flow_2_set_slots")  # following sibling in the branch
    assert set_slots.next == StaticNext("my_flow_3_utter_bye")
    assert set_slots.slot_values == (("name", None),)
    assert bye.next == StaticNext("my_flow_4_link_other")
    assert link.next is None  # a link ends the flow
    assert link.link == "other"


def test_else_branch_steps_are_numbered_after_then_steps(make_project):
    flows = """\
        flows:
          f:
            description: Both branches nested.
            steps:
              - collect: name
                next:
                  - if: slots.name is null
                    then:
                      - action: utter_greet
                        next: END
                  - else:
                      - action: utter_bye
                        next: END
        """
    flow = load(make_project({"data/flows.yml": flows})).project.flows["f"]
    assert [s.id for s in flow.steps] == ["f_0_collect_name", "f_1_utter_greet", "f_2_utter_bye"]
    assert [b.target for b in flow.steps[0].next.branches] == ["f_1_utter_greet", "f_2_utter_bye"]


def test_last_top_level_step_ends_the_flow(make_project):
    flow = load(make_project()).project.flows["greet"]
    assert [s.next for s in flow.steps] == [
        StaticNext("greet_1_utter_greet"),
        StaticNext(END_STEP),
    ]


def test_flow_fields(make_project):
    flows = """\
        flows:
          transfer_money:
            description: "  Send money.  "
            name: send money
            if: slots.name is not null
            nlu_trigger:
              - intent: transfer
              - intent: {name: pay, confidence_threshold: 0.8}
            persisted_slots: [name]
            always_include_in_prompt: true
            run_pattern_completed: false
            steps:
              - action: utter_greet
          hidden:
            description: Link only.
            if: false
            steps:
              - action: utter_greet
        """
    flows_obj = load(make_project({"data/flows.yml": flows})).project.flows
    flow = flows_obj["transfer_money"]
    assert flow.description == "Send money."
    assert flow.readable_name == "send money"
    assert flow.guard == "slots.name is not null"
    assert [(t.intent, t.confidence_threshold) for t in flow.nlu_triggers] == [
        ("transfer", 0.0),
        ("pay", 0.8),
    ]
    assert flow.persisted_slots == ("name",)
    assert flow.always_include_in_prompt is True
    assert flow.run_pattern_completed is False
    assert flows_obj["hidden"].is_link_only
    assert flows_obj["hidden"].readable_name == "hidden"


# --- default patterns and default responses ----------------------------------------------


def test_default_patterns_are_added_when_the_project_has_flows(make_project):
    project = load(make_project()).project
    default_flows, default_domain = default_patterns()
    assert set(default_flows) <= set(project.flows)
    assert {"pattern_collect_information", "pattern_chitchat", "pattern_completed"} <= set(
        project.flows
    )
    assert all(project.flows[pid].is_default_pattern for pid in default_flows)
    assert set(default_domain.responses) <= set(project.domain.responses)
    assert set(default_domain.slots) <= set(project.domain.slots)
    assert not project.flows["greet"].is_default_pattern
    # their slots and responses come along
    assert project.domain.responses["utter_ask_rephrase"].is_default
    assert any(slot.is_builtin for slot in project.domain.slots.values())
    assert not project.domain.slots["name"].is_builtin


def test_no_default_patterns_without_flows(make_project):
    project = load(make_project({"data/flows.yml": None})).project
    assert project.flows == {}
    assert "utter_ask_rephrase" not in project.domain.responses


def test_project_pattern_replaces_the_default_one(make_project):
    patterns = """\
        flows:
          pattern_chitchat:
            description: Our own small talk.
            steps:
              - action: utter_greet
        """
    project = load(make_project({"data/patterns.yml": patterns})).project
    chitchat = project.flows["pattern_chitchat"]
    assert not chitchat.is_default_pattern
    assert chitchat.source == Source("data/patterns.yml", 2)
    assert [s.action for s in chitchat.steps] == ["utter_greet"]
    # the other patterns are still the defaults
    assert project.flows["pattern_completed"].is_default_pattern


def test_project_response_overrides_the_default_response(make_project):
    domain = """\
        slots:
          name:
            type: text
        responses:
          utter_ask_name:
            - text: "What is your name?"
          utter_greet:
            - text: "Hello {name}!"
          utter_ask_rephrase:
            - text: "Say that again, please?"
        """
    project = load(make_project({"domain.yml": domain})).project
    response = project.domain.responses["utter_ask_rephrase"]
    assert not response.is_default
    assert response.source == Source("domain.yml", 9)
    assert [v.text for v in response.variations] == ["Say that again, please?"]
    # a default response the project does not define stays
    assert project.domain.responses["utter_internal_error_rasa"].is_default


def test_responses_keep_variations_buttons_and_conditions(make_project):
    domain = """\
        slots:
          name:
            type: text
        responses:
          utter_ask_name:
            - text: "What is your name?"
              buttons:
                - title: Ada
                  payload: /SetSlots(name=Ada)
          utter_greet:
            - condition: slots.name = "Ada"
              text: "Hi Ada"
              channel: slack
            - text: "Hello {{ name }}"
              metadata: {template: jinja}
        """
    responses = load(make_project({"domain.yml": domain})).project.domain.responses
    [ask] = responses["utter_ask_name"].variations
    assert [(b.title, b.payload) for b in ask.buttons] == [("Ada", "/SetSlots(name=Ada)")]
    first, second = responses["utter_greet"].variations
    assert (first.condition, first.channel, first.source.line) == (
        'slots.name = "Ada"',
        "slack",
        11,
    )
    assert second.uses_jinja and second.source.line == 14


# --- e2e tests ---------------------------------------------------------------------------

E2E_FILE = """\
    fixtures:
      - premium_user:
          - name: Ada
          - plan: premium
    metadata:
      - web_user: {device: web}
    stub_custom_actions:
      check_balance:
        events: [{event: slot, name: balance, value: 100.0}]
        responses: [{text: "Balance fetched"}]
    test_cases:
      - test_case: greet_by_name
        fixtures: [premium_user]
        metadata: web_user
        steps:
          - user: "hi"
            metadata: web_user
          - utter: utter_ask_name
          - user: "Ada"
          - slot_was_set:
              - name: Ada
          - bot: "Hello Ada!"
          - slot_was_not_set: [plan]
      - test_case: greet_assertions
        steps:
          - user: "hi"
            assertion_order_enabled: true
            assertions:
              - flow_started: greet
              - bot_uttered: {utter_name: utter_ask_name}
    """


def test_e2e_test_files_from_e2e_tests_and_tests(make_project):
    root = make_project(
        {
            "e2e_tests/greet.yml": E2E_FILE,
            "tests/more/other.yaml": """\
                test_cases:
                  - test_case: other
                    steps:
                      - user: hello
                """,
        }
    )
    result = load(root)
    assert list(result.issues) == []
    files = {tf.path: tf for tf in result.project.test_files}
    assert set(files) == {"e2e_tests/greet.yml", "tests/more/other.yaml"}
    greet = files["e2e_tests/greet.yml"]
    assert greet.fixtures == {"premium_user": (("name", "Ada"), ("plan", "premium"))}
    assert greet.metadata == {"web_user": {"device": "web"}}
    assert set(greet.stub_custom_actions) == {"check_balance"}
    assert greet.stub_custom_actions["check_balance"]["responses"] == [{"text": "Balance fetched"}]

    by_step, by_assertion = greet.test_cases
    assert by_step.name == "greet_by_name"
    assert by_step.fixtures == ("premium_user",)
    assert by_step.metadata == "web_user"
    assert by_step.source == Source("e2e_tests/greet.yml", 12)
    assert not by_step.uses_assertions
    assert [(s.kind, s.value) for s in by_step.steps] == [
        ("user", "hi"),
        ("utter", "utter_ask_name"),
        ("user", "Ada"),
        ("slot_was_set", [{"name": "Ada"}]),
        ("bot", "Hello Ada!"),
        ("slot_was_not_set", ["plan"]),
    ]
    assert by_step.steps[0].metadata == "web_user"
    assert [s.source.line for s in by_step.steps] == [16, 18, 19, 20, 22, 23]

    assert by_assertion.uses_assertions
    [user_step] = by_assertion.steps
    assert user_step.assertion_order_enabled
    assert user_step.assertions == (
        {"flow_started": "greet"},
        {"bot_uttered": {"utter_name": "utter_ask_name"}},
    )
    assert [tc.name for _, tc in result.project.test_cases] == [
        "greet_by_name",
        "greet_assertions",
        "other",
    ]


def test_conftest_fixtures_are_shared_and_the_test_file_wins(make_project):
    root = make_project(
        {
            "e2e_tests/conftest.yml": """\
                fixtures:
                  - shared: [{name: Bob}]
                  - premium_user: [{name: Conftest}]
                """,
            "e2e_tests/greet.yml": E2E_FILE,
        }
    )
    project = load(root).project
    [test_file] = project.test_files
    assert test_file.fixtures["shared"] == (("name", "Bob"),)
    assert test_file.fixtures["premium_user"] == (("name", "Ada"), ("plan", "premium"))


def test_tests_are_skipped_when_not_wanted(make_project):
    root = make_project({"e2e_tests/greet.yml": E2E_FILE})
    assert load(root, with_tests=False).project.test_files == ()


@pytest.mark.parametrize(
    ("text", "code", "line", "severity"),
    [
        ("test_cases:\n  - steps: [{user: hi}]\n", "invalid-test", 2, "error"),
        (
            "test_cases:\n  - test_case: t\n    steps:\n      - shout: hi\n",
            "invalid-test-step",
            4,
            "error",
        ),
        # Rasa's schema allows a test case without steps; it checks nothing
        ("test_cases:\n  - test_case: t\n    steps: []\n", "invalid-test", 2, "warning"),
    ],
)
def test_broken_test_cases_are_reported(make_project, text, code, line, severity):
    result = load(make_project({"e2e_tests/t.yml": text}))
    [issue] = issues_with(result, code)
    assert (issue.file, issue.line, issue.severity) == ("e2e_tests/t.yml", line, severity)


# --- custom actions ----------------------------------------------------------------------

ACTIONS_CODE = """\
from pathlib import Path

import module_that_does_not_exist  # importing this file would fail

Path(__file__).with_name("IMPORTED").write_text("the loader imported me")

NAME = "action_dynamic"


class ActionCheckOrder:
    def name(self) -> str:
        return "action_check_order"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_order", order_id=tracker.sender_id)
        return []


class ActionDynamic:
    def name(self):
        return NAME  # not a literal: cannot be found without importing


class Helper:
    pass
"""


def test_custom_actions_are_found_without_importing(make_project):
    root = make_project(
        {
            "actions/__init__.py": "",
            "actions/orders.py": ACTIONS_CODE,
            "actions/sub/more.py": """\
                class ActionMore:
                    async def name(self):
                        return "action_more"
                """,
        }
    )
    modules_before = set(sys.modules)
    project = load(root).project
    assert set(project.custom_actions) == {"action_check_order", "action_more"}
    info = project.custom_actions["action_check_order"]
    assert info.source == Source("actions/orders.py", 10)
    assert info.class_name == "ActionCheckOrder"
    assert project.custom_actions["action_more"].source == Source("actions/sub/more.py", 1)
    assert "order_id" in project.response_kwargs
    assert "response" not in project.response_kwargs
    assert not (root / "actions" / "IMPORTED").exists()
    assert not {m for m in set(sys.modules) - modules_before if m.startswith("actions")}


def test_actions_module_from_endpoints_is_scanned(make_project):
    root = make_project(
        {
            "endpoints.yml": 'action_endpoint:\n  actions_module: "my_pkg.acts"\n',
            "my_pkg/acts/__init__.py": "",
            "my_pkg/acts/a.py": """\
                class A:
                    def name(self):
                        return "action_from_module"
                """,
            "actions/ignored.py": """\
                class B:
                    def name(self):
                        return "action_ignored"
                """,
        }
    )
    assert set(load(root).project.custom_actions) == {"action_from_module"}


def test_actions_syntax_error_is_reported(make_project):
    root = make_project({"actions/broken.py": "class A:\n    def name(self)\n        return 'x'\n"})
    result = load(root)
    [issue] = issues_with(result, "action-syntax-error")
    # Rasa validates and trains the project; it fails only when it imports the actions
    assert (issue.file, issue.line, issue.severity) == ("actions/broken.py", 2, "warning")


def test_a_folder_without_flows_gets_a_warning(tmp_path):
    result = load(tmp_path)
    codes = [(issue.code, issue.severity) for issue in result.issues]
    assert ("no-flows", "warning") in codes


def test_the_actions_code_is_read_again_only_when_a_file_of_it_changes(tmp_path):
    """A reload after a YAML save reuses what the actions files held; an edited file is
    read again, whatever its size."""
    from workbench.project import actions_scan

    root = tmp_path / "bot"
    (root / "actions").mkdir(parents=True)
    (root / "config.yml").write_text("recipe: default.v1\n", encoding="utf-8")
    source = root / "actions" / "actions.py"
    action = (
        "from rasa_sdk import Action\n\n\nclass {cls}(Action):\n"
        "    def name(self):\n        return 'action_{tag}'\n"
    )
    source.write_text(action.format(cls="One", tag="aaa"), encoding="utf-8")
    first = load_project(root).project
    assert set(first.custom_actions) == {"action_aaa"}
    scan = actions_scan._scanned[source][1]

    load_project(root)
    assert actions_scan._scanned[source][1] is scan  # not parsed again

    stat = source.stat()
    source.write_text(action.format(cls="Two", tag="bbb"), encoding="utf-8")  # same size
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = load_project(root).project
    assert set(second.custom_actions) == {"action_bbb"}
    assert second.custom_actions["action_bbb"].class_name == "Two"
