"""Which runner executes a project's custom actions, as Rasa would choose."""

from __future__ import annotations

from ..project.model import Project
from ..session import CustomActionRunner
from .package import locate
from .python import PythonActions
from .server import DEFAULT_TIMEOUT, ActionServerClient


def make_action_runner(
    project: Project,
    *,
    server_timeout: float = DEFAULT_TIMEOUT,
    use_rasa_sdk: bool | None = None,
) -> CustomActionRunner | None:
    """In-process for ``actions_module`` (it wins over ``url``, as in Rasa), the action
    server for ``url``, in-process for a bare ``actions/`` package, else None."""
    endpoints = project.endpoints
    if endpoints.actions_module:
        return PythonActions(use_rasa_sdk=use_rasa_sdk)
    if endpoints.action_endpoint_url:
        return ActionServerClient(endpoints.action_endpoint_url, timeout=server_timeout)
    if locate(project.root, None) is not None:
        return PythonActions(use_rasa_sdk=use_rasa_sdk)
    return None
