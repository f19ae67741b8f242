"""Pick the command generator and the custom action runner for a project."""

from __future__ import annotations

from ..project.model import Project
from .base import CommandGenerator, ScriptedGenerator


def choose_generator(project: Project) -> tuple[CommandGenerator, str]:
    """The generator to use and a label for headers ("offline", a model name, ...)."""
    try:
        from .offline import OfflineGenerator
    except ImportError:
        return ScriptedGenerator([]), "direct commands only"
    return OfflineGenerator(), "offline"


def make_actions(project: Project):
    try:
        from ..actions.runner import make_action_runner
    except ImportError:
        return None
    return make_action_runner(project)
