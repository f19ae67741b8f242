"""`call` steps whose target is not a flow: a sub-agent or an MCP tool.

This version of the workbench does not run them. Reaching such a step must not look like
success nor stop the flow: the engine notes it in the turn's events and the flow goes on
with the step's `next`, so the rest of the conversation can still be tried.
"""

from __future__ import annotations

from workbench.project.model import Project, Step


def skipped_call_note(project: Project, step: Step) -> str | None:
    """The notice for a call step the engine skips, or None for a call of a flow."""
    if step.kind != "call":
        return None
    if step.calls_mcp_tool:
        return f"MCP tool {step.call} (server {step.mcp_server}) is not run by this version"
    if step.call in project.agents and project.flow(step.call or "") is None:
        return f"agent {step.call} is not run by this version"
    return None
