"""The command palette's conversation commands, each sent as the next message: start any
flow of the project or cancel the active one (`/start flow <id>`, `/cancel flow`: the
direct commands the chat input takes too), and switch the conversation's language
(`/SetSlots(language=<code>)`, as a Rasa button would) in a project with
`additional_languages`. The app lists them with its system commands."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from workbench.calm.names import LANGUAGE_SLOT
from workbench.slot_input import set_slots_message
from workbench.terminal_text import printable

if TYPE_CHECKING:
    from workbench.tui.screens.main import MainScreen


def conversation_commands(screen: MainScreen) -> Iterator[SystemCommand]:
    def sending(title: str, help_text: str, message: str) -> SystemCommand:
        return SystemCommand(title, help_text, functools.partial(screen.send_from_panel, message))

    active = screen.active_user_flow()
    if active is not None:
        yield sending(f"Cancel flow {active}", "Cancel the active flow now", "/cancel flow")
    project = screen.project
    for flow in sorted(project.user_flows, key=lambda f: f.id):
        yield sending(
            f"Start flow {printable(flow.id, multiline=False)}",
            printable(flow.description or flow.name or "", multiline=False)[:80],
            f"/start flow {flow.id}",
        )
    other = screen.comparison_choice()
    if other is not None:
        yield SystemCommand(
            f"Compare with {other}",
            "Replay this conversation understood by another generator; show each turn "
            "that behaves differently",
            functools.partial(screen.compare_with, other),
        )
    config = project.config
    if config.additional_languages:
        for code in (config.language, *config.additional_languages):
            yield sending(
                f"Language: {printable(code, multiline=False)}",
                "Go on in this language (sets the language slot)",
                set_slots_message(LANGUAGE_SLOT, code),
            )
