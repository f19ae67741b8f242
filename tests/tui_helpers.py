"""Helpers for driving the workbench app headless (Pilot) in tests and snapshots."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from textual.message import Message
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Static

from workbench.tui.app import WorkbenchApp
from workbench.tui.screens import main as main_screen
from workbench.tui.widgets.chat import ChatPane, TurnItem

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
IGNORE = shutil.ignore_patterns(".calm", "__pycache__")


# What the user does and what the app answers with: the input and buttons, the chat
# pane's requests, and the screen's own messages (turns, replays, reloads, the actions).
WORKBENCH_MESSAGES: tuple[type[Message], ...] = (
    Input.Submitted,
    Button.Pressed,
    ChatPane.Send,
    ChatPane.RewindRequested,
    main_screen.TurnDone,
    main_screen.TurnFailed,
    main_screen.ConversationRebuilt,
    main_screen.ProjectReloaded,
    main_screen.WatchStopped,
    main_screen.ActionsReady,
)


class MessageLog:
    """The app's messages of the given kinds, in the order they were handled.

    Pass it as `app.run_test(message_hook=log)`. A message that bubbles is handled by
    every node on its way up and the hook sees it each time; it is logged once.
    """

    def __init__(self, *kinds: type[Message]) -> None:
        self.kinds = kinds or WORKBENCH_MESSAGES
        self.messages: list[Message] = []
        # every message ever logged stays referenced, so that no later message can get
        # the id of one that was cleared and be taken for it
        self._seen: dict[int, Message] = {}

    def __call__(self, message: Message) -> None:
        if isinstance(message, self.kinds) and id(message) not in self._seen:
            self._seen[id(message)] = message
            self.messages.append(message)

    def names(self) -> list[str]:
        return [type(message).__name__ for message in self.messages]

    def of(self, kind: type[Message]) -> list[Message]:
        return [message for message in self.messages if isinstance(message, kind)]

    def clear(self) -> None:
        self.messages.clear()


def copy_sample(tmp_path: Path, name: str = "sample_project") -> Path:
    """A private copy: the actions write SQLite files and the store writes .calm/."""
    target = tmp_path / name
    shutil.copytree(SAMPLE, target, ignore=IGNORE)
    return target


async def wait_until(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Poll `condition` between message-queue flushes; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.005)


def turn_items(app: WorkbenchApp) -> list[TurnItem]:
    return list(app.main.chat.chat_log.query(TurnItem))


async def settle(pilot: Pilot) -> None:
    """Wait for a running turn or replay, and for its Message to be shown."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await app.wait_for_turns()
    await wait_until(pilot, lambda: not app.main.chat.busy, what="the turn to be shown")


async def panels_up(pilot: Pilot) -> None:
    """Mount every panel now (the main screen mounts the panel of a tab when the tab is
    first shown), so that a test can read any of them."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await wait_until(pilot, lambda: app.is_loaded and app.screen is app.main, what="the app")
    await app.main.panels.mount_pending()
    await pilot.pause()


async def start(pilot: Pilot) -> None:
    """Wait for the greeting turn that the app sends at start, for the custom action
    runner (made in a thread; the header names it), for the project watcher and for
    every panel."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    if app.watch_enabled:  # a file saved from now on reloads the project
        await asyncio.wait_for(app.watcher.ready.wait(), timeout=10)
    await wait_until(pilot, lambda: turn_items(app), what="the greeting")
    await wait_until(pilot, lambda: app.main.actions_label, what="the action runner")
    await panels_up(pilot)
    await settle(pilot)


async def send(pilot: Pilot, text: str) -> None:
    """Type `text` into the chat input (no per-key presses) and press Enter."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    before = len(app.conversation.traces)
    chat_input = app.main.chat.input
    chat_input.focus()
    chat_input.value = text
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: len(app.conversation.traces) > before and len(turn_items(app)) > before,
        what=f"the reply to {text!r}",
    )
    await settle(pilot)


def text_of(widget: Widget) -> str:
    """Everything a widget shows as text: Static contents and DataTable cells."""
    parts: list[str] = []
    for node in [widget, *widget.query("*")]:
        if isinstance(node, Static):
            parts.append(str(node.visual))
        elif isinstance(node, DataTable):
            for row in range(node.row_count):
                parts.append(" ".join(str(cell) for cell in node.get_row_at(row)))
    if widget.border_title:
        parts.append(str(widget.border_title))
    if widget.border_subtitle:
        parts.append(str(widget.border_subtitle))
    return "\n".join(parts)


def freeze_times(app: WorkbenchApp) -> None:
    """Time the turns with a clock that stands still, so that snapshots do not depend on
    the machine (every timing is 0.0 ms). Call before the app runs."""
    app.conversation.clock = lambda: 0.0
