"""Pick the command generator for a project."""

from __future__ import annotations

from workbench.project.model import NO_SOURCE, Project
from workbench.understanding.base import CommandGenerator, ScriptedGenerator
from workbench.understanding.models import (
    ModelConfigError,
    ModelSpec,
    command_generator_model,
    missing_credentials,
    model_from_name,
)


def choose_generator(
    project: Project, *, offline: bool = False, model: str | None = None
) -> tuple[CommandGenerator, str]:
    """The generator to use and a label for headers: the model name, or "offline (why)".

    Offline when forced, when the project configures no command generator, when its model
    cannot be resolved, or when the model's provider has no credentials in the environment
    (a model with an api_base on this machine needs none). `model` (`--model NAME`: a
    litellm model string such as `openai/gpt-4o-mini` or `ollama/llama3`, or a model group
    id) replaces the configured model."""
    generator, label = _choose(project, offline=offline, model=model)
    config = project.config.command_generator
    if config is not None and config.custom_note:
        # a project's own generator class is never dropped silently: say what runs instead
        label = f"{label} · {config.custom_note}"
    return generator, label


def _choose(
    project: Project, *, offline: bool = False, model: str | None = None
) -> tuple[CommandGenerator, str]:
    if offline:
        return _offline("--offline")
    try:
        spec = _model(project, model)
    except ModelConfigError as error:
        return _offline(str(error))
    if spec is None:
        return _offline(no_generator_reason(project))
    missing = missing_credentials(spec)
    if missing:
        return _offline(f"no {missing}")
    from workbench.understanding.llm_generator import LLMCommandGenerator

    return LLMCommandGenerator(project, spec), spec.name


def no_generator_reason(project: Project) -> str:
    """Why the project configures no command generator, in the words a header has room for."""
    config = project.config
    file = config.source.file
    if config.source == NO_SOURCE:
        if any("several candidates" in note for note in project.notes):
            return "no command generator: several config files, pass --config FILE"
        return "no command generator: no config.yml in the project"
    if not config.pipeline:
        return f"no command generator: {file} has no pipeline"
    names = ", ".join(str(c.get("name")).rsplit(".", 1)[-1] for c in config.pipeline)
    return f"no command generator in {file}'s pipeline ({names})"


def _model(project: Project, name: str | None) -> ModelSpec | None:
    if name:
        return model_from_name(name, project)
    return command_generator_model(project)


def _offline(reason: str) -> tuple[CommandGenerator, str]:
    try:
        from workbench.understanding.offline.generator import OfflineGenerator
    except ImportError:
        return ScriptedGenerator([]), f"direct commands only ({reason})"
    return OfflineGenerator(), f"offline ({reason})"
