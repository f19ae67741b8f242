"""The workbench app and its factories, shared by `calm-tui` and the tests.

The app is thin: it loads the project, has `wiring.make_parts` pick the command generator
and the action runner, and hands them to the main screen (screens/main.py), which owns
the conversation and the watcher.

`calm-tui` starts the app before the project is loaded (`starting_app`): the first
screen, with the message input, is drawn from Textual alone, and the project, the
session and everything they import load on a thread behind it (screens/starting.py).
This module therefore imports only what that first screen needs; the rest is imported
where it is used.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen

from workbench.terminal_text import printable
from workbench.understanding import warmup

if TYPE_CHECKING:
    from textual.worker import Worker

    from workbench.testing.export import ExportResult
    from workbench.tui import keys
    from workbench.tui.conversation import Conversation
    from workbench.tui.screens.main import MainScreen
    from workbench.tui.widgets.knowledge_panel import ChunkChosen
    from workbench.understanding.base import CommandGenerator
    from workbench.watch import ProjectWatcher, ReloadResult
    from workbench.wiring import Options


SCREENSHOT_DIR = Path(".calm") / "screenshots"


class WorkbenchApp(App):
    TITLE = "CALM Workbench"
    CSS_PATH = ["global.tcss", "app.tcss"]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]

    def __init__(
        self,
        loaded: Loaded | None = None,
        *,
        loading: Callable[[], Loaded] | None = None,
        root: Path | None = None,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        greet: bool = True,
        open_session: tuple[str, int | None] | None = None,
    ) -> None:
        """An app on a `loaded` project, or one that shows its first screen at once and
        calls `loading` on a thread behind it (`root`: the project folder it names)."""
        super().__init__()
        if (loaded is None) == (loading is None):
            raise ValueError("give the app either what was loaded or how to load it")
        # a stored session to show read-only once the app is up, at a turn (a failed test)
        self.open_session = open_session
        self.loading = loading
        self.load_error: Exception | None = None  # why `loading` failed; the app then ends
        self.root = root  # the loaded project's, once there is one
        self.clock = clock
        self.watch_enabled = watch
        self.greet = greet
        self.reload_count = 0  # project reloads handled (tests and benchmarks wait on it)
        self.last_export: ExportResult | None = None
        # a message sent while the project was loading: the main screen sends it
        self.queued_message: str | None = None
        if loaded is not None:
            self.adopt(loaded)

    @property
    def is_loaded(self) -> bool:
        return "conversation" in self.__dict__

    def adopt(self, loaded: Loaded) -> None:
        """Take the loaded project's conversation and watcher (the main screen uses them)."""
        self.conversation: Conversation = loaded.conversation
        self.watcher: ProjectWatcher = loaded.watcher
        self.initial_load: ReloadResult = loaded.initial_load
        self.root = loaded.watcher.root
        self.conversation.warn = self._warn

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            # the model's preparation stands aside until the key's echo is drawn
            warmup.hold()
            self.call_after_refresh(warmup.release)
        await super().on_event(event)

    def get_default_screen(self) -> Screen:
        if not self.is_loaded:
            from workbench.tui.screens.starting import StartingScreen

            return StartingScreen()
        from workbench.tui.screens.main import MainScreen

        return MainScreen()

    @property
    def main(self) -> MainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast of every screen comes here: its text may quote a model, an action
        or a project file, so terminal controls in it are made visible."""
        super().notify(
            printable(message),
            title=printable(title, multiline=False),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Screenshots go under the project's `.calm/screenshots/` (Textual's default, the
        user's Downloads folder, may not exist); the notification names the file."""
        if path is None:
            folder = Path(self.root or ".") / SCREENSHOT_DIR
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                self.notify(f"Cannot save the screenshot: {error}", severity="error")
                return None
            path = str(folder)
        return super().deliver_screenshot(filename, path, time_format)

    def on_chunk_chosen(self, message: ChunkChosen) -> None:
        """A retrieved chunk was picked in a Knowledge panel (of any screen): show its
        document at the chunk."""
        from workbench.tui.screens.source import SourceScreen

        self.push_screen(SourceScreen(message.project.root, message.hit))

    def _warn(self, message: str) -> None:
        self.notify(message, severity="warning", timeout=8)

    def on_unmount(self) -> None:
        if self.is_loaded:
            self.conversation.close()
            self.conversation.close_actions()

    async def wait_for_turns(self, timeout: float = 30.0) -> None:
        """Wait until no turn or replay is running (the watcher never ends)."""
        from textual.worker import WorkerCancelled, WorkerFailed

        async def wait(worker: Worker[object]) -> None:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass

        workers = [w for w in self.workers if w.group == "turn"]
        if workers:
            await asyncio.wait_for(asyncio.gather(*map(wait, workers)), timeout)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from workbench.tui import keys
        from workbench.tui.palette import conversation_commands
        from workbench.tui.screens.main import MainScreen

        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            # the session browser and its views list their actions from the registry too
            yield from _action_commands(screen, getattr(screen, "USER_ACTIONS", ()))
            return
        yield from _action_commands(screen, keys.MAIN)
        if screen.viewing is not None:
            yield SystemCommand(
                "Back to live", "Show the latest turn (Esc)", lambda: screen.show_turn(None)
            )
        yield from conversation_commands(screen)


def _action_commands(screen: Screen, actions: Iterable[keys.UserAction]) -> Iterable[SystemCommand]:
    for action in actions:
        if not action.palette or not screen.check_action(action.action, ()):
            continue
        key = f" ({action.shown_key})" if action.key else ""
        yield SystemCommand(
            action.title,
            f"{action.help}{key}",
            functools.partial(screen.run_action, action.action),
        )


@dataclass
class Loaded:
    """What the main screen works on: the conversation, and the watcher of its project."""

    conversation: Conversation
    watcher: ProjectWatcher
    initial_load: ReloadResult


def load_workbench(
    root: str | Path,
    options: Options,
    *,
    store: bool = True,
    seed: int = 0,
    generator: CommandGenerator | None = None,
) -> Loaded:
    """Load the project at `root` and make its conversation. Raises on a cassette that
    cannot be read."""
    from workbench.tui.conversation import Conversation
    from workbench.watch import ProjectWatcher
    from workbench.wiring import make_parts

    watcher = ProjectWatcher(root, options=options)
    initial = watcher.load()
    project = initial.project
    # the action runner is made at its first use: start-up need not wait for it
    parts = make_parts(project, options, generator=generator, lazy_actions=True)
    if parts.knowledge is not None:  # a saved document is re-indexed before the next search
        watcher.on_documents = parts.knowledge.notice_changes
    conversation = Conversation(project, parts, root=watcher.root, store=store, seed=seed)
    return Loaded(conversation, watcher, initial)


def starting_app(
    root: Path, options: Options, *, store: bool = True, seed: int = 0
) -> WorkbenchApp:
    """`calm-tui`'s app: its first screen is up before the project is loaded. If loading
    fails, the app ends and `load_error` says why."""
    return WorkbenchApp(
        loading=functools.partial(load_workbench, root, options, store=store, seed=seed),
        root=root,
    )


def make_app(
    root: str | Path,
    *,
    options: Options | None = None,
    offline: bool = False,
    model: str | None = None,
    cassette: str | Path | None = None,
    record: str | Path | None = None,
    store: bool = True,
    generator: CommandGenerator | None = None,
    seed: int = 0,
    clock: Callable[[], float] = time.time,
    watch: bool = True,
    greet: bool = True,
    open_session: tuple[str, int | None] | None = None,
) -> WorkbenchApp:
    """The app on a project folder, loaded before it starts. `options` are `calm-tui`'s
    (the generator keywords are a shorthand for tests); `generator` (tests) replaces the
    one they would choose. Raises on a cassette that cannot be read."""
    from workbench.wiring import Options

    if options is None:
        options = Options(
            offline=offline,
            model=model,
            cassette=Path(cassette) if cassette else None,
            record=Path(record) if record else None,
        )
    loaded = load_workbench(root, options, store=store, seed=seed, generator=generator)
    return WorkbenchApp(
        loaded,
        clock=clock,
        watch=watch,
        greet=greet,
        open_session=open_session,
    )
