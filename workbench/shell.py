"""`calm-tui shell`: a line-based chat on the same `Session` the TUI uses.

A line starting with `/` is a direct command (`/start flow x`, `/set slot a 5`,
`/SetSlots(a=5)`, `/intent`); a number picks a button of the last bot message.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workbench.buttons import typed_choice
from workbench.session import Session
from workbench.trace.turn import TurnTrace

EXIT_WORDS = ("/exit", "/quit", "/bye")
HELP = """\
Type a message and press Enter. Lines starting with / are direct commands:
  /start flow <id>   /set slot <name> <value>   /cancel flow   /SetSlots(a=1, b=x)
  /<intent>          /restart                   /exit
A number chooses a button of the last message."""


class Shell:
    def __init__(
        self,
        session: Session,
        console: Console,
        *,
        debug: bool = False,
        read: Callable[[str], str] = input,
        on_turn: Callable[[TurnTrace], None] | None = None,
    ) -> None:
        self.session = session
        self.console = console
        self.debug = debug
        self.read = read
        self.on_turn = on_turn
        self.buttons: list[dict[str, Any]] = []

    def header(self, generator_label: str) -> None:
        project = self.session.project
        self.console.print(
            f"[bold]CALM Workbench shell[/] · {escape(project.root.name)} · "
            f"{len(project.user_flows)} flows · generator: [cyan]{escape(generator_label)}[/]",
            highlight=False,
        )
        for note in project.notes:
            self.console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
        actions = self.session.actions
        label = getattr(actions, "label", None)
        if label:
            self.console.print(f"[dim]{escape(label)}[/]", highlight=False)
        for problem in getattr(actions, "problems", None) or []:
            self.console.print(f"[yellow]! {escape(problem)}[/]", highlight=False)
        self.console.print("[dim]/help for commands, /exit to leave[/]", highlight=False)

    async def run(self, greet: bool = True) -> int:
        if greet:
            await self.turn("/session_start")
        while True:
            try:
                line = self.read("you> ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return 0
            text = line.strip()
            if text in EXIT_WORDS:
                return 0
            if text == "/help":
                self.console.print(HELP, highlight=False, markup=False)
                continue
            text = typed_choice(text, self.buttons)  # a number picks a button
            await self.turn(text)

    async def turn(self, text: str) -> TurnTrace:
        trace = await self.session.handle(text)
        if self.on_turn is not None:
            self.on_turn(trace)
        if self.debug:
            print_trace(trace, self.console)
        self.buttons = []
        for message in trace.bot_messages:
            self.print_message(message)
        for error in trace.errors:
            self.console.print(f"[red]! {escape(error)}[/]", highlight=False)
        for notice in trace.notices:
            self.console.print(f"[yellow]i {escape(notice)}[/]", highlight=False)
        return trace

    def print_message(self, message: dict[str, Any]) -> None:
        text = message.get("text") or ""
        if text:
            self.console.print(f"[green]bot>[/] {escape(text)}", highlight=False)
        if message.get("custom"):
            self.console.print(
                f"[green]bot>[/] [dim]{escape(json.dumps(message['custom']))}[/]",
                highlight=False,
            )
        buttons = message.get("buttons") or []
        for button in buttons:
            self.buttons.append(button)
            self.console.print(
                f"      [yellow]{len(self.buttons)}[/] {escape(str(button.get('title')))} "
                f"[dim]{escape(str(button.get('payload')))}[/]",
                highlight=False,
            )


def print_trace(trace: TurnTrace, console: Console) -> None:
    """The turn's understanding and engine view, for `--debug`."""
    table = Table(
        title=f"turn {trace.index} · {trace.source} · {trace.timings_ms.get('total', 0):.1f} ms",
        show_header=False,
        box=None,
        title_justify="left",
        title_style="dim",
        pad_edge=False,
    )
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    if trace.generator:
        table.add_row("generator", escape(trace.generator))
    if trace.retrieved_flows:
        ranked = ", ".join(
            f"{'*' if f.active else ''}{f.flow_id}"
            + (f" {f.score:.2f}" if f.score is not None else "")
            for f in trace.retrieved_flows[:8]
        )
        more = len(trace.retrieved_flows) - 8
        table.add_row("flows", escape(ranked + (f" (+{more} more)" if more > 0 else "")))
    usage = trace.usage
    if usage is not None:
        parts = [usage.model or "model"]
        if usage.latency_ms is not None:
            parts.append(f"{usage.latency_ms:.0f} ms")
        if usage.prompt_tokens is not None:
            parts.append(f"{usage.prompt_tokens}+{usage.completion_tokens or 0} tokens")
        if usage.cost is not None:
            parts.append(f"${usage.cost:.5f}")
        if usage.error:
            parts.append(f"error: {usage.error}")
        table.add_row("model", escape(" · ".join(parts)))
    elif trace.prompt_tokens is not None:
        table.add_row("prompt", f"{trace.prompt_tokens} tokens")
    if trace.raw_output is not None:
        table.add_row("raw output", escape(trace.raw_output.strip() or "(empty)"))
    table.add_row("commands", escape(_commands(trace.commands) or "—"))
    for dropped in trace.dropped:
        what = dropped.get("line") or _commands(
            [dropped["command"]] if dropped.get("command") else []
        )
        table.add_row("[red]dropped[/]", escape(f"{what}: {dropped['reason']}"))
    for rewritten in trace.rewritten:
        table.add_row(
            "[yellow]rewritten[/]",
            escape(
                f"{_commands([rewritten['original']])} → {_commands([rewritten['replacement']])}"
                f": {rewritten['reason']}"
            ),
        )
    for name, (before, after) in trace.changed_slots.items():
        table.add_row("slot", escape(f"{name}: {before!r} → {after!r}"))
    for frame in reversed(trace.stack_after):
        kind = frame.get("frame_type") or "pattern"
        table.add_row(
            "stack",
            escape(f"{frame.get('flow_id', frame.get('type'))} ({kind}) @ {frame.get('step_id')}"),
        )
    flow_events = [
        f"{e['event']}({e.get('flow_id')})" for e in trace.events if e["event"].startswith("flow_")
    ]
    if flow_events:
        table.add_row("flow events", escape(", ".join(flow_events)))
    actions = [a.name for a in trace.actions]
    if actions:
        table.add_row("actions", escape(", ".join(actions)))
    for run in trace.actions:
        for line in run.log_lines:  # what the action server printed during the call
            table.add_row(f"[dim]log {escape(run.name)}[/]", escape(line))
    console.print(table)


def _commands(commands: list[dict[str, Any]]) -> str:
    parts = []
    for command in commands:
        args = [f"{k}={v!r}" for k, v in command.items() if k != "command"]
        parts.append(f"{command['command']}({', '.join(args)})")
    return "; ".join(parts)


def run_shell(
    session: Session,
    generator_label: str,
    debug: bool,
    greet: bool = True,
    on_turn: Callable[[TurnTrace], None] | None = None,
) -> int:
    console = Console(highlight=False, soft_wrap=True, file=sys.stdout)
    shell = Shell(session, console, debug=debug, on_turn=on_turn)
    shell.header(generator_label)
    return asyncio.run(shell.run(greet=greet))


__all__ = ["Shell", "print_trace", "run_shell"]
