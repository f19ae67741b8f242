"""A project's own command-generator class runs as the built-in generator it derives from
(by MRO when its module imports, by its name when not), never silently dropped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.project.custom_generator import base_by_name
from workbench.project.loader import load_project
from workbench.project.validate import validate_path
from workbench.understanding.choose import choose_generator

COMPAT = Path(__file__).parent / "fixtures" / "compat"


def _config(name: str, extra: str = "") -> str:
    return (
        "recipe: default.v1\nlanguage: en\npipeline:\n"
        f"  - name: {name}\n    prompt_template: prompt.jinja2\n"
        "    llm:\n      provider: openai\n      model: gpt-4o-mini\n" + extra
    )


def _generator_warning(result):
    [issue] = [i for i in result.issues if i.code == "custom-generator"]
    return issue


def test_mro_of_an_importable_class_decides():
    result = validate_path(COMPAT)
    generator = result.project.config.command_generator
    assert generator.name == "CompactLLMCommandGenerator"
    assert generator.custom_class == "custom_generators.ShopCommandGenerator"
    assert generator.prompt_template == "prompts/command.jinja2"
    assert generator.llm == {"model_group": "main_llm"}
    issue = _generator_warning(result)
    assert (issue.severity, issue.file, issue.line) == ("warning", "config.yml", 7)
    assert "derives from CompactLLMCommandGenerator" in issue.message
    # the project's module is not left imported: the next load sees the file as it is then
    assert "custom_generators" not in sys.modules


def test_mro_picks_the_nearest_rasa_base(make_project):
    module = (
        "class LLMCommandGenerator: pass\n"
        "class SearchReadyLLMCommandGenerator(LLMCommandGenerator): pass\n"
        "class Mine(SearchReadyLLMCommandGenerator): pass\n"
    )
    root = make_project(
        {"config.yml": _config("gens.mine.Mine"), "gens/__init__.py": "", "gens/mine.py": module}
    )
    generator = load_project(root).project.config.command_generator
    assert generator.name == "SearchReadyLLMCommandGenerator"


def test_name_decides_when_the_module_does_not_import(make_project):
    root = make_project(
        {
            "config.yml": _config("my_gens.SearchReadyShopCommandGenerator"),
            "my_gens.py": "from rasa_is_not_here import Base\n",
        }
    )
    result = validate_path(root)
    generator = result.project.config.command_generator
    assert generator.name == "SearchReadyLLMCommandGenerator"
    assert generator.prompt_template == "prompt.jinja2"
    issue = _generator_warning(result)
    assert "does not import here (ModuleNotFoundError" in issue.message
    assert "rasa_is_not_here" in issue.message
    assert issue.line == 4


@pytest.mark.parametrize(
    "module",
    [
        "raise SystemExit(3)\n",
        "import sys\nsys.exit('no')\n",
        "def broken(:\n",
        "raise KeyboardInterrupt\n",
    ],
)
def test_a_module_that_fails_in_any_way_never_breaks_loading(make_project, module):
    root = make_project(
        {"config.yml": _config("bad_mod.ShopCommandGenerator"), "bad_mod.py": module}
    )
    result = validate_path(root)
    assert result.project.config.command_generator.name == "CompactLLMCommandGenerator"
    assert "does not import here" in _generator_warning(result).message


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("SearchReadyShopCommandGenerator", "SearchReadyLLMCommandGenerator"),
        ("MyCompactCommandGenerator", "CompactLLMCommandGenerator"),
        ("SingleStepMineCommandGenerator", "SingleStepLLMCommandGenerator"),
        ("MultiStepMineCommandGenerator", "MultiStepLLMCommandGenerator"),
        ("ShopCommandGenerator", "CompactLLMCommandGenerator"),
    ],
)
def test_name_rule(name, base):
    assert base_by_name(name) == base


def test_other_custom_components_are_not_generators(make_project):
    # a dotted name that does not import and is not called *CommandGenerator
    root = make_project(
        {"config.yml": _config("my_nlu.MyTokenizer", "  - name: CompactLLMCommandGenerator\n")}
    )
    result = validate_path(root)
    assert result.project.config.command_generator.custom_class is None
    assert not [i for i in result.issues if i.code == "custom-generator"]


def test_without_any_generator_an_unimportable_component_is_named(make_project):
    root = make_project({"config.yml": _config("my_nlu.MyGen")})
    result = validate_path(root)
    assert result.project.config.command_generator is None
    issue = _generator_warning(result)
    assert "MyGen does not import here" in issue.message and issue.line == 4


def test_an_importable_class_that_is_no_generator_is_skipped(make_project):
    root = make_project(
        {
            "config.yml": _config("comp.Tokenizer", "  - name: CompactLLMCommandGenerator\n"),
            "comp.py": "class Tokenizer: pass\n",
        }
    )
    generator = load_project(root).project.config.command_generator
    assert generator.name == "CompactLLMCommandGenerator"
    assert generator.custom_class is None


def test_subclass_of_nlu_command_adapter_is_named_but_no_llm_generator(make_project):
    root = make_project(
        {
            "config.yml": _config("nlu.MyAdapter"),
            "nlu.py": "class NLUCommandAdapter: pass\nclass MyAdapter(NLUCommandAdapter): pass\n",
        }
    )
    result = validate_path(root)
    assert result.project.config.command_generator is None
    assert "derives from NLUCommandAdapter" in _generator_warning(result).message


def test_generator_label_says_what_runs_instead():
    project = load_project(COMPAT).project
    _, label = choose_generator(project, offline=True)
    assert label == (
        "offline (--offline) · custom generator ShopCommandGenerator runs as "
        "CompactLLMCommandGenerator; its own code is not run"
    )


def test_class_on_an_abstract_rasa_base_is_matched_by_name(make_project):
    module = (
        "class CommandGenerator: pass\n"
        "class LLMBasedCommandGenerator(CommandGenerator): pass\n"
        "class SearchReadyShop(LLMBasedCommandGenerator): pass\n"
    )
    root = make_project({"config.yml": _config("abs.SearchReadyShop"), "abs.py": module})
    result = validate_path(root)
    assert result.project.config.command_generator.name == "SearchReadyLLMCommandGenerator"
    assert "derives from Rasa's LLMBasedCommandGenerator" in _generator_warning(result).message
