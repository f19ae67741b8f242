"""The variables a project's prompt template uses that nothing passes to it.

Rasa renders prompt templates with Jinja's silent undefined: a misspelt or unsupported
variable renders as nothing and the model gets a prompt with a hole. `calm-tui
validate` names each such variable, with the line it is first used on."""

from __future__ import annotations

import re
from pathlib import Path

# what the command generators pass (Rasa's names, the agent ones in projects with
# sub-agents, and the workbench template's own)
COMMAND_PROMPT_VARIABLES = frozenset(
    {
        "available_flows",
        "current_conversation",
        "flow_slots",
        "current_flow",
        "current_slot",
        "current_slot_description",
        "current_slot_type",
        "current_slot_allowed_values",
        "user_message",
        "last_user_message",
        "is_repeat_command_enabled",
        "current_datetime",
        "active_agent",
        "completed_agents",
        "assistant_id",
        "timezone",
        "syntax",
        "actions",
        "flow_lines",
        "state_lines",
        "history_lines",
    }
)


def undeclared_variables(source: str, known: frozenset[str]) -> list[tuple[str, int]]:
    """(name, line) of each variable the template reads that is not in `known` (and not
    set in the template itself); [] when the template does not parse (its render says
    why)."""
    from jinja2 import Environment, TemplateSyntaxError, meta

    try:
        names = meta.find_undeclared_variables(Environment().parse(source))
    except TemplateSyntaxError:
        return []
    found = []
    for name in sorted(names - known):
        match = re.search(rf"\b{re.escape(name)}\b", source)
        line = source.count("\n", 0, match.start()) + 1 if match else 0
        found.append((name, line))
    return found


def template_source(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
