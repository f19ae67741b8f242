"""Rasa's default command prompt, rendered by the workbench, byte for byte as Rasa renders it.

Needs rasa-pro in this environment, so the default test run does not collect this folder
(`norecursedirs` in pyproject.toml); scripts/check-rasa-env.sh runs it in a Rasa Pro
environment. For Rasa's finance and telco templates, every user message of every e2e
test case is handled by the workbench with the ideal model output of the template's
cassette (compat/rasa-templates); before each one, the dialogue state (the workbench's
events, replayed into a Rasa tracker) is rendered by Rasa's own command generator and by
the workbench, and the two prompts must be the same bytes. The startable flows are
computed by each side on its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

import rasa
import structlog

from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.testing.runner import run_tests
from workbench.understanding.base import GeneratorOutput
from workbench.understanding.cassette import CassetteGenerator
from workbench.understanding.prompt import prompt_source, render_prompt
from workbench.understanding.retrieval import FlowRetriever

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "compat" / "rasa-templates"
TEMPLATES = Path(rasa.__file__).parent / "cli" / "project_templates"
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone.utc)
MIN_STATES = 10  # each template's tests hold more user messages than this
# rendered in every state besides the real message: newlines, quotes, a JSON-breaker
PROBES = ('two\nlines with "quotes" and """triple""" ones', "ünïcødé ✓ {{ not_jinja }} \\ end")
TEMPLATE_FILES = {
    "default": "command_prompt_v2_gpt_5_1_2025_11_13_template.jinja2",
    "basic": "command_prompt_v3_gpt_5_1_2025_11_13_template.jinja2",
    "finance": "command_prompt_v3_gpt_5_1_2025_11_13_template.jinja2",
    "telco": "command_prompt_v3_gpt_5_1_2025_11_13_template.jinja2",
}


class RasaSide:
    """Rasa's command generator for one template, and the project as Rasa loads it."""

    def __init__(self, root: Path) -> None:
        from rasa.core.config.configuration import Configuration
        from rasa.dialogue_understanding.generator import (
            CompactLLMCommandGenerator,
            SearchReadyLLMCommandGenerator,
        )
        from rasa.engine.storage.local_model_storage import LocalModelStorage
        from rasa.engine.storage.resource import Resource
        from rasa.shared.importers.importer import TrainingDataImporter

        Configuration.initialise_endpoints(root / "endpoints.yml")
        Configuration.initialise_sub_agents(None)
        importer = TrainingDataImporter.load_from_config(
            str(root / "config.yml"), str(root / "domain"), [str(root / "data")]
        )
        self.domain = importer.get_domain()
        self.flows = importer.get_user_flows()
        self.all_flows = importer.get_flows()
        config = importer.get_config()["pipeline"][0]
        generators = {
            "SearchReadyLLMCommandGenerator": SearchReadyLLMCommandGenerator,
            "CompactLLMCommandGenerator": CompactLLMCommandGenerator,
        }
        generator_class = generators[config.pop("name")]
        # Rasa's flow retrieval needs a trained embedding index; the workbench ranks
        # flows its own way: compare the prompts over every startable flow
        config["flow_retrieval"] = {"active": False}
        storage = LocalModelStorage(root / ".rasa-model-storage")
        self.generator = generator_class(config, storage, Resource("command_generator"))

    def tracker(self, ours: Tracker):
        """A Rasa tracker holding the workbench's events (those Rasa has a type for) and
        its dialogue stack."""
        from rasa.dialogue_understanding.stack.dialogue_stack import DialogueStack
        from rasa.shared.core.events import Event
        from rasa.shared.core.trackers import DialogueStateTracker

        events = []
        for data in ours.events:
            kind = str(data.get("event"))
            if kind != "stack" and Event.resolve_by_type(kind, default=None) is not None:
                events.append(Event.from_parameters(dict(data)))
        tracker = DialogueStateTracker.from_events(ours.sender_id, events, slots=self.domain.slots)
        tracker.update_stack(DialogueStack.from_dict(rasa_frames(ours.stack.as_dicts())))
        return tracker

    def render(self, ours: Tracker, message: str) -> str:
        from rasa.shared.nlu.training_data.message import Message

        tracker = self.tracker(ours)
        rasa_message = Message(data={"text": message})
        startable = asyncio.run(self.generator.filter_flows(rasa_message, self.all_flows, tracker))
        return self.generator.render_template(rasa_message, tracker, startable, self.all_flows)


def rasa_frames(frames: list[dict]) -> list[dict]:
    """The workbench's stack as Rasa 3.21 reads it: Rasa's correction frame holds each
    corrected slot as `{"value": ...}` where the workbench keeps the value alone."""
    adapted = []
    for frame in frames:
        corrected = frame.get("corrected_slots")
        if isinstance(corrected, dict):
            frame = dict(frame)
            frame["corrected_slots"] = {
                name: value if isinstance(value, dict) else {"value": value}
                for name, value in corrected.items()
            }
        adapted.append(frame)
    return adapted


class ComparingGenerator(CassetteGenerator):
    """Replays the template's cassette; before each message, renders the prompt both ways."""

    def __init__(self, path: Path, rasa_side: RasaSide) -> None:
        super().__init__(path)
        self.rasa_side = rasa_side
        self.states = 0  # dialogue states: one per user message the tests send
        self.renders = 0  # each state with its message and the probes
        self.differences: list[str] = []

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        for text in (message, *PROBES):
            retrieval = await FlowRetriever().retrieve(project, tracker, text)
            ours = render_prompt(project, tracker, text, retrieval.flows, now=NOW)
            theirs = await asyncio.to_thread(self.rasa_side.render, tracker, text)
            self.renders += 1
            if ours != theirs:
                self.differences.append(f"message {text!r}: {first_difference(theirs, ours)}")
        self.states += 1
        return await super().generate(message, tracker, project)


def first_difference(theirs: str, ours: str, context: int = 80) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b),
        min(len(theirs), len(ours)),
    )
    start = max(0, at - context)
    return (
        f"the prompts differ from character {at}:\n"
        f"  rasa:      {theirs[start : at + context]!r}\n"
        f"  workbench: {ours[start : at + context]!r}"
    )


@pytest.fixture(autouse=True, scope="module")
def quiet_rasa():
    """Rasa logs every step at debug level; the comparison's own lines are what matter."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """Rasa reads the clock where it renders; both sides get the same moment."""
    from rasa.dialogue_understanding.generator.single_step import (
        single_step_based_llm_command_generator as module,
    )

    monkeypatch.setattr(module, "resolve_datetime", lambda mocked, timezone: NOW)


@pytest.mark.parametrize("template", list(TEMPLATE_FILES))
def test_rasa_prompt_is_rendered_byte_for_byte(template, tmp_path, monkeypatch):
    root = tmp_path / template
    shutil.copytree(TEMPLATES / template, root)
    monkeypatch.chdir(root)  # the templates' actions read db/ from the working folder
    project = load_project(root).project
    source = prompt_source(project)
    assert source.kind == "rasa", source
    assert source.name == TEMPLATE_FILES[template]

    generator = ComparingGenerator(CASSETTES / f"{template}.cassette.yml", RasaSide(root))
    result = run_tests(project, project.test_cases, generator)

    print(
        f"\n{template}: {generator.states} dialogue states x {1 + len(PROBES)} messages = "
        f"{generator.renders} renders, {generator.renders - len(generator.differences)} "
        f"byte for byte ({len(result.passed)}/{len(result.results)} test cases passed "
        "on the way)"
    )
    for case in result.failed:
        print(f"  failed: {case.name}: {case.failure.message if case.failure else ''}")
    assert generator.states >= MIN_STATES
    assert not generator.differences, "\n\n".join(generator.differences[:3])
