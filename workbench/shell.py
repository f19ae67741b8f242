"""`calm-tui shell`: a line-based chat on the same `Session` the TUI uses.

A line starting with `/` is a direct command (`/start flow x`, `/set slot a 5`,
`/SetSlots(a=5)`, `/intent`); a number picks a button of the last bot message.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from rich.console import Console

from workbench.buttons import typed_choice
from workbench.calm.names import SESSION_START_MESSAGE
from workbench.session import Session
from workbench.store.redact import Scrubber
from workbench.terminal_text import escaped
from workbench.trace.records import BotMessage, Button
from workbench.trace.text import chat_markup, trace_table
from workbench.trace.turn import TurnTrace
from workbench.understanding import warmup

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
        scrubber: Scrubber | None = None,
    ) -> None:
        self.session = session
        # `--debug` shows prompts and errors: masked as the store masks them
        self.scrubber = scrubber or Scrubber.for_project(session.project)
        self.console = console
        self.debug = debug
        self.read = read
        self.on_turn = on_turn
        self.buttons: list[Button] = []

    def header(self, generator_label: str) -> None:
        project = self.session.project
        self.console.print(
            f"[bold]CALM Workbench shell[/] · {escaped(project.root.name)} · "
            f"{len(project.user_flows)} flows · generator: [cyan]{escaped(generator_label)}[/]",
            highlight=False,
        )
        for note in project.notes:
            self.console.print(f"[dim]note: {escaped(note)}[/]", highlight=False)
        knowledge = self.session.knowledge
        answers = knowledge.label(project) if knowledge is not None else None
        if answers:
            self.console.print(f"[dim]knowledge: {escaped(answers)}[/]", highlight=False)
        actions = self.session.actions
        label = getattr(actions, "label", None)
        if label:
            self.console.print(f"[dim]{escaped(label)}[/]", highlight=False)
        for problem in getattr(actions, "problems", None) or []:
            self.console.print(f"[yellow]! {escaped(problem)}[/]", highlight=False)
        self.console.print("[dim]/help for commands, /exit to leave[/]", highlight=False)

    async def run(self, greet: bool = True) -> int:
        if greet:
            await self.turn(SESSION_START_MESSAGE)
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
            print_trace(trace, self.console, self.scrubber)
        self.buttons = []
        for message in trace.bot_messages:
            self.print_message(message)
        # a model error may quote the API key it was sent
        for error in trace.errors:
            self.console.print(f"[red]! {escaped(self.scrubber.text(error))}[/]", highlight=False)
        for notice in trace.notices:
            notice = self.scrubber.text(notice)
            self.console.print(f"[yellow]i {escaped(notice)}[/]", highlight=False)
        return trace

    def print_message(self, message: BotMessage) -> None:
        for line in chat_markup(message, len(self.buttons) + 1):
            self.console.print(line, highlight=False)
        self.buttons.extend(message.buttons)


def print_trace(trace: TurnTrace, console: Console, scrubber: Scrubber | None = None) -> None:
    """The turn's understanding and engine view, for `--debug`, its secrets masked (a
    provider error may quote the API key it was sent)."""
    scrubber = scrubber or Scrubber()
    console.print(trace_table(TurnTrace.from_dict(scrubber.scrub_record(trace.to_dict()))))


def run_shell(
    session: Session,
    generator_label: str,
    debug: bool,
    greet: bool = True,
    on_turn: Callable[[TurnTrace], None] | None = None,
    scrubber: Scrubber | None = None,
) -> int:
    console = Console(highlight=False, soft_wrap=True, file=sys.stdout)
    shell = Shell(session, console, debug=debug, on_turn=on_turn, scrubber=scrubber)
    shell.header(generator_label)
    # the model's client is imported while the user reads the header and types
    warmup.start_for(session.generator)
    return asyncio.run(shell.run(greet=greet))


__all__ = ["Shell", "print_trace", "run_shell"]
