"""The command palette's flow commands: start any flow of the project, or cancel the
active one, as the next message of the conversation (`/start flow <id>`, `/cancel
flow`: the direct commands the chat input takes too), to try a branch without typing."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.trace.text import printable

if TYPE_CHECKING:
    from workbench.tui.screens.main import MainScreen


class FlowCommands(Provider):
    def _entries(self) -> list[tuple[str, str, str]]:
        """(title, help, message to send) for the palette."""
        screen: MainScreen = self.screen  # type: ignore[assignment]
        project = screen.project
        entries = [
            (
                f"Start flow {printable(flow.id, multiline=False)}",
                printable(flow.description or flow.name or "", multiline=False)[:80],
                f"/start flow {flow.id}",
            )
            for flow in sorted(project.user_flows, key=lambda f: f.id)
        ]
        active = screen.active_user_flow()
        if active is not None:
            entries.insert(
                0,
                (f"Cancel flow {active}", "Cancel the active flow now", "/cancel flow"),
            )
        return entries

    def _run(self, message: str) -> None:
        screen: MainScreen = self.screen  # type: ignore[assignment]
        screen.send_from_panel(message)

    async def discover(self) -> Hits:
        for title, help_text, message in self._entries():
            yield DiscoveryHit(title, functools.partial(self._run, message), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, message in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    functools.partial(self._run, message),
                    help=help_text,
                )
