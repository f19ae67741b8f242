"""rasa_prompt.py: which of Rasa's default templates a project gets, and the variables it
is rendered with. Rasa itself is not installed here: a stand-in `rasa` package on the
path holds a template of our own under Rasa's file name, which prints the variables.
(tests/rasa_env/ compares the bytes with Rasa's own render, where rasa-pro is installed.)
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from workbench.cli.main import main as cli_main
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.understanding import rasa_prompt
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.llm import Completion
from workbench.understanding.llm_generator import LLMCommandGenerator
from workbench.understanding.models import ModelSpec
from workbench.understanding.prompt import prompt_source, render_prompt
from workbench.understanding.rasa_prompt import (
    find_rasa_templates,
    rasa_prompt_variables,
    template_names,
)

NOW = datetime(2025, 1, 6, 9, 30, tzinfo=timezone.utc)
V2_DEFAULT = "command_prompt_v2_gpt_5_1_2025_11_13_template.jinja2"
# prints what the template was given, one JSON document
PRINTING_TEMPLATE = (
    "{{ {'flows': available_flows, 'flow': current_flow, 'slot': current_slot,"
    " 'slot_description': current_slot_description, 'slot_type': current_slot_type,"
    " 'values': current_slot_allowed_values, 'flow_slots': flow_slots,"
    " 'conversation': current_conversation, 'message': user_message} | tojson }}"
    "{% if current_datetime %}|{{ current_datetime.strftime('%d %B, %Y %H:%M') }}{% endif %}"
)

CONFIG = """\
recipe: default.v1
language: en
assistant_id: bank
pipeline:
  - name: CompactLLMCommandGenerator
    llm: {provider: openai, model: gpt-5.1-2025-11-13}
"""
DOMAIN = """\
version: "3.1"
slots:
  recipient:
    type: text
    description: the domain's description, which Rasa does not pass
  amount:
    type: float
  confirmed:
    type: bool
  pin:
    type: text
responses:
  utter_ask_recipient: [{text: "Who to?"}]
  utter_ask_amount: [{text: "How much?"}]
  utter_ask_confirmed: [{text: "Sure?"}]
  utter_ask_pin: [{text: "Your PIN?"}]
  utter_done: [{text: "Done."}]
"""
FLOWS = """\
flows:
  transfer:
    description: |
      Send money to someone.
    steps:
      - call: verify
      - collect: recipient
      - collect: amount
        description: the amount in euros
      - collect: confirmed
        ask_before_filling: true
        description: whether the user confirms
      - action: utter_done
  verify:
    description: Check the user's PIN.
    if: False
    steps:
      - collect: pin
        description: the four digits
"""


@pytest.fixture
def fake_rasa(tmp_path, monkeypatch):
    """Rasa's templates folder, holding `names` (the printing template)."""

    def install(*names: str) -> None:
        folder = tmp_path / "rasa" / "dialogue_understanding" / "generator" / "prompt_templates"
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text(PRINTING_TEMPLATE, encoding="utf-8")
        monkeypatch.setattr(rasa_prompt, "rasa_templates_folder", lambda: folder)

    return install


def test_the_templates_are_found_in_the_rasa_package_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "site" / "rasa"
    (package / "dialogue_understanding" / "generator" / "prompt_templates").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('never imported')", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    folder = find_rasa_templates()  # an installed rasa-pro is found first when imported
    assert folder is not None and folder.is_dir()
    assert folder.parts[-3:] == ("dialogue_understanding", "generator", "prompt_templates")


def bank(make_project, files: dict[str, str] | None = None):
    base = {"config.yml": CONFIG, "domain.yml": DOMAIN, "data/flows.yml": FLOWS}
    base.update(files or {})
    return load_project(make_project(base, base=False)).project


def printed(prompt: str) -> tuple[dict, str]:
    document, _, date = prompt.partition("|")
    return json.loads(document), date


# --- which template ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generator", "llm", "expected"),
    [
        ("CompactLLMCommandGenerator", "{provider: openai, model: gpt-4o-2024-11-20}", "v2_gpt_4o"),
        ("CompactLLMCommandGenerator", "{provider: azure, model: gpt-5.2-2025-12-11}", "v2_gpt_5"),
        (
            "SearchReadyLLMCommandGenerator",
            "{provider: anthropic, model: claude-sonnet-4-6}",
            "v3_claude_sonnet_4_5",
        ),
        (
            "CompactLLMCommandGenerator",
            "{provider: bedrock, model: 'anthropic.claude-3-5-sonnet-20240620-v1:0'}",
            "v2_claude_3_5",
        ),
        # the model already names its provider: Rasa takes it as it is
        (
            "CompactLLMCommandGenerator",
            "{provider: openai, model: openai/gpt-4o-2024-11-20}",
            "v2_gpt_4o",
        ),
        # a model without a template of its own gets the generator's default
        ("SearchReadyLLMCommandGenerator", "{provider: openai, model: gpt-4o-mini}", None),
    ],
)
def test_the_template_is_picked_by_generator_provider_and_model(
    make_project, generator, llm, expected
):
    config = CONFIG.replace("CompactLLMCommandGenerator", generator).replace(
        "{provider: openai, model: gpt-5.1-2025-11-13}", llm
    )
    project = bank(make_project, {"config.yml": config})
    names = template_names(project)
    syntax = "v3" if generator.startswith("SearchReady") else "v2"
    if expected is None:
        assert names == [f"command_prompt_{syntax}_gpt_5_1_2025_11_13_template.jinja2"]
    else:
        assert names[0].startswith(f"command_prompt_{expected}")
        assert names[1] == f"command_prompt_{syntax}_gpt_5_1_2025_11_13_template.jinja2"


def test_a_model_group_is_resolved_to_its_first_model(make_project):
    config = CONFIG.replace("{provider: openai, model: gpt-5.1-2025-11-13}", "{model_group: main}")
    endpoints = """\
    model_groups:
      - id: main
        models:
          - {provider: openai, model: gpt-4o-2024-11-20}
          - {provider: openai, model: gpt-5.1-2025-11-13}
    """
    project = bank(make_project, {"config.yml": config, "endpoints.yml": endpoints})
    assert template_names(project)[0] == "command_prompt_v2_gpt_4o_2024_11_20_template.jinja2"


def test_single_step_generators_have_one_template_and_multi_step_none(make_project):
    single = bank(make_project, {"config.yml": CONFIG.replace("Compact", "SingleStep")})
    assert template_names(single) == ["command_prompt_template.jinja2"]
    multi = bank(make_project, {"config.yml": CONFIG.replace("Compact", "MultiStep")})
    assert template_names(multi) == []


# --- which prompt ---------------------------------------------------------------------------


def test_rasa_installed_gives_rasas_template_unless_the_project_asks_otherwise(
    make_project, fake_rasa
):
    fake_rasa(V2_DEFAULT)
    project = bank(make_project)
    source = prompt_source(project)
    assert (source.kind, source.name) == ("rasa", V2_DEFAULT)
    assert source.label == f"Rasa prompt {V2_DEFAULT}"
    chosen = bank(make_project, {"workbench.yml": "prompt: workbench\n"})
    assert prompt_source(chosen).label == "workbench prompt"
    own = bank(
        make_project,
        {
            "config.yml": CONFIG + "    prompt_template: prompts/mine.jinja2\n",
            "prompts/mine.jinja2": "{{ user_message }}",
        },
    )
    assert prompt_source(own).label == "project prompt prompts/mine.jinja2"


def test_without_rasa_the_workbench_prompt_is_used_and_says_why_when_rasa_was_asked(make_project):
    assert prompt_source(bank(make_project)).label == "workbench prompt"
    asked = bank(make_project, {"workbench.yml": "prompt: rasa\n"})
    assert prompt_source(asked).label == (
        "workbench prompt (Rasa's was asked for, but rasa-pro is not installed)"
    )


def test_a_bad_prompt_setting_is_an_error_with_its_line(make_project):
    result = load_project(
        make_project(
            {
                "config.yml": CONFIG,
                "domain.yml": DOMAIN,
                "data/flows.yml": FLOWS,
                "workbench.yml": 'rasa_version: "3.21"\nprompt: mine\n',
            },
            base=False,
        )
    )
    errors = [i for i in result.issues.errors if i.code == "bad-prompt-choice"]
    assert errors and errors[0].line == 2


def test_the_prompt_flag_overrides_workbench_yml_and_needs_rasa_for_rasa(make_project, capsys):
    root = make_project(
        {"config.yml": CONFIG, "domain.yml": DOMAIN, "data/flows.yml": FLOWS}, base=False
    )
    assert cli_main(["validate", str(root)]) == 0
    capsys.readouterr()
    assert cli_main(["shell", str(root), "--prompt", "rasa"]) == 2
    assert "rasa` is not importable here" in " ".join(capsys.readouterr().err.split())
    project = load_project(root, prompt="workbench").project
    assert project.prompt == "workbench"


# --- the variables --------------------------------------------------------------------------


async def test_rasa_variables_follow_rasa(make_project, fake_rasa):
    fake_rasa(V2_DEFAULT)
    project = bank(make_project)
    session = Session(project, ScriptedGenerator({"send money": "start flow transfer"}))
    await session.handle("send money")
    tracker = session.tracker
    assert tracker.stack.top() is not None
    offered = [project.flows["transfer"]]
    prompt = render_prompt(project, tracker, 'to "Ann"\nplease', offered, now=NOW)
    variables, date = printed(prompt)
    assert date == "06 January, 2025 09:30"
    (transfer,) = variables["flows"]
    # the called flow's collect step comes first; only collect-step descriptions are
    # passed (no fallback to the domain's); the confirmation, asked first, is left out
    assert transfer == {
        "name": "transfer",
        "description": "Send money to someone.\n",
        "slots": [
            {"name": "pin", "description": "the four digits", "allowed_values": None},
            {"name": "recipient", "description": None, "allowed_values": None},
            {"name": "amount", "description": "the amount in euros", "allowed_values": None},
        ],
    }
    # the called flow asks for the PIN: the calling flow is the active one
    assert variables["flow"] == "transfer"
    assert variables["slot"] == "pin"
    assert variables["slot_description"] == "the four digits"
    assert variables["slot_type"] == "text"
    assert [s["name"] for s in variables["flow_slots"]] == ["pin", "recipient", "amount"]
    assert variables["flow_slots"][0]["value"] == "undefined"
    # Rasa only flattens newlines; the quotes stay
    assert variables["message"] == 'to "Ann" please'
    assert variables["conversation"].startswith("USER: send money\n")
    assert variables["conversation"].endswith('\nUSER: to "Ann" please')


def test_the_date_block_follows_include_date_time(make_project):
    project = bank(make_project, {"config.yml": CONFIG + "    include_date_time: false\n"})
    variables = rasa_prompt_variables(project, Tracker(project), "hi", [], now=NOW)
    assert "current_datetime" not in variables
    zoned = bank(make_project, {"config.yml": CONFIG + "    timezone: Europe/Berlin\n"})
    variables = rasa_prompt_variables(zoned, Tracker(zoned), "hi", [], now=NOW)
    assert variables["current_datetime"].strftime("%H:%M") == "10:30"


def test_a_slot_asked_first_is_offered_once_it_has_been_set(make_project):
    project = bank(make_project)
    tracker = Tracker(project)
    transfer = project.flows["transfer"]

    def offered() -> list[str]:
        variables = rasa_prompt_variables(project, tracker, "hi", [transfer], now=NOW)
        return [s["name"] for s in variables["available_flows"][0]["slots"]]

    assert "confirmed" not in offered()
    tracker.set_slot("confirmed", None)  # set, even to nothing: Rasa's `has_been_set`
    assert "confirmed" in offered()


async def test_the_trace_says_which_prompt_the_model_got(make_project, fake_rasa):
    fake_rasa(V2_DEFAULT)
    project = bank(make_project)

    async def completer(spec, prompt):
        return Completion(text="start flow transfer", model=spec.model)

    generator = LLMCommandGenerator(
        project,
        ModelSpec(model="openai/gpt-5.1-2025-11-13"),
        completer=completer,
        count_tokens=lambda model, text: len(text.split()),
    )
    assert generator.prompt_label(project) == "Rasa prompt"
    session = Session(project, generator)
    trace = await session.handle("send money")
    assert trace.prompt_template == f"Rasa prompt {V2_DEFAULT}"
    assert printed(trace.prompt or "")[0]["message"] == "send money"
