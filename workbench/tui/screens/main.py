"""The main screen: chat on the left, trace panels on the right, the project watched.

The screen owns the state changes; workers only run a turn, a replay or the watcher and
post Messages with what they got. Nothing here decides what the assistant does: text
goes to the `Conversation` (the `Session`), traces come back and are rendered.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from workbench.calm.names import SESSION_START_MESSAGE
from workbench.trace.history import active_flow
from workbench.trace.turn import TurnTrace
from workbench.tui import keys
from workbench.tui.conversation import Conversation, ReplayOutcome, conversation_title
from workbench.tui.screens.maximize import toggle_maximize
from workbench.tui.widgets.base import FlowChosen
from workbench.tui.widgets.chat import ChatPane
from workbench.tui.widgets.history_panel import HistoryPanel
from workbench.tui.widgets.panel_area import WIDE_AT, PanelArea
from workbench.tui.widgets.panels import SlotsPanel
from workbench.tui.widgets.status import ErrorBanner, WorkbenchHeader, ago
from workbench.understanding import warmup
from workbench.understanding.base import GeneratorFailure
from workbench.watch import ReloadResult

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.correct import Correction
    from workbench.tui.screens.sessions import Resume


# how long the action runner's background start waits for the model's preparation
ACTIONS_WAIT_S = 30.0
# what a conversation understood by a model is compared with (the palette's "Compare with")
OFFLINE_LABEL = "the offline generator"


# -- messages from the workers ----------------------------------------------------------------


@dataclass
class TurnDone(Message):
    trace: TurnTrace
    generation: int


@dataclass
class TurnFailed(Message):
    error: str
    generation: int


@dataclass
class ConversationRebuilt(Message):
    outcome: ReplayOutcome
    generation: int
    what: str  # "rewound to turn 3", "resumed session 2026…"


@dataclass
class ProjectReloaded(Message):
    result: ReloadResult


@dataclass
class WatchStopped(Message):
    error: str


@dataclass
class ActionsReady(Message):
    """The custom action runner is made (an action server may be starting)."""

    label: str
    problems: list[str]


@dataclass(frozen=True)
class Carried:
    """What the first screen's message input held when this screen replaced it."""

    value: str
    cursor_position: int
    history: list[str]


_S = TypeVar("_S", bound=Screen)
_P = ParamSpec("_P")
Handler = Callable[Concatenate[_S, _P], object]
Guarded = Callable[Concatenate[_S, _P], Coroutine[object, object, None]]


def guarded(what: str) -> Callable[[Handler[_S, _P]], Guarded[_S, _P]]:
    """Run a handler so that a bug in it becomes an error notification, never a
    traceback that ends the app."""

    def wrap(method: Handler[_S, _P]) -> Guarded[_S, _P]:
        @functools.wraps(method)
        async def run(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> None:
            try:
                result = method(self, *args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.log.error(f"{what} failed", exc)
                self.notify(
                    f"{type(exc).__name__}: {exc}", title=f"{what} failed", severity="error"
                )

        return run

    return wrap


class MainScreen(Screen):
    BINDINGS = keys.bindings(keys.MAIN)
    # keys typed while the screen mounts go to the message input, not the chat log
    AUTO_FOCUS = "#chat-input"

    def __init__(self, carried: Carried | None = None) -> None:
        super().__init__(id="main")
        self._carried = carried  # the first screen's input (the project was loading)
        self.generation = 0
        self.viewing: int | None = None
        self.reload: ReloadResult | None = None
        self.reloaded_at: float = 0.0
        self.correcting: Correction | None = None  # a corrected turn being re-run
        self.actions_error: str | None = None
        self.actions_label = ""

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def wb(self) -> WorkbenchApp:
        return self.app  # type: ignore[return-value]

    @property
    def conversation(self) -> Conversation:
        return self.wb.conversation

    @property
    def project(self):
        return self.conversation.project

    @property
    def chat(self) -> ChatPane:
        return self.query_one("#chat", ChatPane)

    @property
    def panels(self) -> PanelArea:
        return self.query_one("#panels", PanelArea)

    def compose(self) -> ComposeResult:
        yield WorkbenchHeader(id="header")
        yield ErrorBanner(id="banner")
        with Horizontal(id="body"):
            yield ChatPane(id="chat")
            yield PanelArea(id="panels", lazy=True)
        yield Footer()

    async def on_mount(self) -> None:
        self.reload = self.wb.initial_load
        self.reloaded_at = self.wb.clock()
        self._show_problems()
        for note in self.project.notes:
            self.notify(note, title="Project", timeout=8)
        self.update_header()
        knowledge = self.conversation.parts.knowledge
        if knowledge is not None:
            self.panels.set_knowledge_answers(knowledge.label)
        conversation = self.conversation
        self.panels.sender_id = lambda: conversation.sender_id
        self.panels.show(None, self.project)
        self.set_interval(1.0, self.update_header)
        self.call_after_refresh(warmup.release)  # held while this screen was built
        # after the first paint: making it (imports, probes) would delay the screen
        self.call_after_refresh(self.prepare_actions)
        # likewise the model: its client takes seconds to import, which the user spends
        # reading the screen instead of waiting on the first answer
        self.call_after_refresh(warmup.start_for, self.conversation.generator)
        if self.wb.watch_enabled:
            # after the first paint too: watchfiles is imported on the way
            self.call_after_refresh(self.watch_project)
        self._take_over_input()
        if self.wb.open_session is not None:
            self.call_after_refresh(self.open_stored, *self.wb.open_session)
        if self.wb.greet:
            self._start_turn(SESSION_START_MESSAGE)
        else:
            self._send_queued()

    def _take_over_input(self) -> None:
        """The first screen's input lives on here: its history and what it held."""
        field, carried = self.chat.input, self._carried
        self._carried = None
        if carried is not None:
            for text in carried.history:
                field.remember(text)
            typed_since = field.value  # keys that reached this screen before its mount
            field.value = carried.value + typed_since
            field.cursor_position = carried.cursor_position + len(typed_since)
        self.chat.focus_input()

    def _send_queued(self) -> None:
        """A message sent while the project was loading goes now (after the greeting)."""
        text, self.wb.queued_message = self.wb.queued_message, None
        if text is not None and not self.chat.busy:
            self._start_turn(text)

    async def on_resize(self, event) -> None:
        await self.panels.set_wide(event.size.width >= WIDE_AT)

    # -- header and banner --------------------------------------------------------------------

    def update_header(self) -> None:
        result = self.reload
        problem = bool(result and result.errors) or bool(self.actions_error)
        if result is not None and result.errors:
            count = len(result.errors)
            kept = "last good project in use" if self.wb.watcher.last_good else "fix and save"
            status = f"⚠ {count} error{'s' if count > 1 else ''}: {kept}"
        elif self.actions_error:
            status = "⚠ actions do not import: last good actions in use"
        else:
            when = ago(self.wb.clock() - self.reloaded_at)
            if result is not None and result.changed:
                what = result.what.rsplit("/", 1)[-1]
                status = f"reloaded {what} in {result.elapsed_ms:.0f} ms · {when}"
            else:
                status = f"loaded {when}"
        generator = self.conversation.label
        prompt_label = getattr(self.conversation.generator, "prompt_label", None)
        if callable(prompt_label):  # a model generator: say which command prompt it gets
            generator = f"{generator} · {prompt_label(self.project)}"
        if self.actions_label:
            generator = f"{generator} · {self.actions_label}"
        self.query_one(WorkbenchHeader).show(
            self.project.root.name, generator, status, problem=problem
        )

    def _show_problems(self) -> None:
        errors = self.reload.errors if self.reload is not None else ()
        self.query_one(ErrorBanner).show_problems(
            errors, self.actions_error, have_good=self.wb.watcher.last_good is not None
        )

    @work(thread=True, exclusive=True, group="actions", exit_on_error=False)
    def prepare_actions(self) -> None:
        """Make the action runner off the event loop: it may probe an action server's
        URL, check another Python, or start a server. After the model's preparation,
        which the first message needs sooner (a turn that runs an action makes the
        runner itself if it is not made yet)."""
        worker = get_current_worker()
        waited = 0.0
        while not warmup.wait_idle(0.1) and waited < ACTIONS_WAIT_S:
            if worker.is_cancelled:  # the app is ending: it must not wait for this
                return
            waited += 0.1
        actions = self.conversation.actions
        self.post_message(
            ActionsReady(
                str(getattr(actions, "label", "") or ""),
                list(getattr(actions, "problems", None) or []),
            )
        )

    @on(ActionsReady)
    def _actions_ready(self, message: ActionsReady) -> None:
        self.actions_label = message.label
        self.update_header()
        for problem in message.problems:
            self.notify(problem, title="Custom actions", severity="warning", timeout=15)

    def _check_actions(self) -> None:
        error = getattr(self.conversation.actions, "load_error", None)
        if error != self.actions_error:
            self.actions_error = error
            self._show_problems()
            self.update_header()

    # -- turns ------------------------------------------------------------------------------------

    def _start_turn(self, text: str) -> None:
        self.chat.set_busy(True, text)
        self.run_turn(text, self.generation)

    @work(exclusive=True, group="turn", exit_on_error=False)
    async def run_turn(self, text: str, generation: int) -> None:
        try:
            trace = await self.conversation.send(text)  # saved before it is shown
        except Exception as exc:  # a bug below must not end the app
            self.post_message(TurnFailed(f"{type(exc).__name__}: {exc}", generation))
            return
        self.post_message(TurnDone(trace, generation))

    @on(ChatPane.Send)
    def _send(self, event: ChatPane.Send) -> None:
        if self.chat.busy:
            return
        self._start_turn(event.text)

    @on(SlotsPanel.EditSlot)
    def _edit_slot(self, event: SlotsPanel.EditSlot) -> None:
        from workbench.tui.screens.slot_edit import SlotEditScreen

        event.stop()
        why = self._why_not_live()
        slot = self.project.slot(event.name)
        if why is None and slot is None:
            why = f"'{event.name}' is a built-in slot: its patterns set it"
        if why is not None:
            self.notify(f"Cannot set the slot: {why}", severity="warning", timeout=5)
            return
        assert slot is not None
        current = self.conversation.session.tracker.slots.get(slot.name)

        def chosen(message: str | None) -> None:
            if message is not None:
                self.send_from_panel(message)

        self.app.push_screen(SlotEditScreen(slot, current), chosen)

    @on(FlowChosen)
    def _flow_chosen(self, event: FlowChosen) -> None:
        """A flow picked in the Flows or Stack table: show it, start it or cancel the
        active flow (asked, since the last two change the conversation)."""
        from workbench.tui.screens.flow_actions import CANCEL, SHOW, START, FlowActionScreen

        event.stop()
        flow = self.project.flow(event.flow_id)
        live = self._why_not_live() is None
        startable = live and flow is not None and not flow.is_pattern and not flow.is_link_only
        active = self.active_user_flow() if live else None

        def chosen(choice: str | None) -> None:
            if choice == SHOW:
                self.panels.select_flow(event.flow_id)
                self.panels.reveal("flow")
            elif choice == START:
                self.send_from_panel(f"/start flow {event.flow_id}")
            elif choice == CANCEL:
                self.send_from_panel("/cancel flow")

        screen = FlowActionScreen(event.flow_id, startable=startable, active=active)
        self.app.push_screen(screen, chosen)

    def action_correct(self) -> None:
        from workbench.testing.replay import model_message
        from workbench.tui.screens.correct import CorrectScreen
        from workbench.understanding.prompt import syntax_for

        why = self._why_not_live()
        traces = self.conversation.traces
        last = traces[-1] if traces else None
        if why is None and (last is None or model_message(last) is None):
            why = "the latest message did not go to the command generator"
        if why is not None:
            self.notify(f"Nothing to correct: {why}", severity="warning", timeout=5)
            return
        assert last is not None
        screen = CorrectScreen(last.user_text, last.raw_output or "", syntax_for(self.project))
        self.app.push_screen(screen, self.correct_latest)

    def correct_latest(self, correction: Correction | None) -> None:
        """Re-run the conversation with `correction` as the generator's answer to the
        latest message: a new store session, whose cassette holds the corrected answer."""
        traces = list(self.conversation.traces)
        if correction is None or not traces or self._why_not_live() is not None:
            return
        last = traces[-1]
        fixed = dataclasses.replace(
            last,
            raw_output=correction.output,
            errors=[e for e in last.errors if GeneratorFailure.from_text(e) is None],
        )
        self.correcting = correction
        title = f"{conversation_title(traces)} (corrected turn {last.index})"
        self._rebuild([*traces[:-1], fixed], what=f"Corrected turn {last.index}", title=title)

    def send_from_panel(self, message: str) -> None:
        """Send `message` as the next turn, as typing it would (a slot set from the Slots
        panel, a flow started from the palette); says why when it cannot be sent now."""
        why = self._why_not_live()
        if why is not None:
            self.notify(f"Not sent: {why}", severity="warning", timeout=5)
            return
        self._start_turn(message)

    def active_user_flow(self) -> str | None:
        """The flow of the top user flow frame of the live conversation."""
        traces = self.conversation.traces
        return active_flow(traces[-1]) if traces else None

    def _why_not_live(self) -> str | None:
        """Why the conversation cannot take a message from a panel now (None: it can)."""
        if self.chat.read_only:
            return "this session is open read-only"
        if self.viewing is not None:
            return "an earlier turn is shown (Esc goes back to the latest)"
        if self.chat.busy:
            return "the last message is still being answered"
        return None

    @on(TurnDone)
    @guarded("Showing the turn")
    async def _turn_done(self, message: TurnDone) -> None:
        if message.generation != self.generation:
            return
        self.chat.set_busy(False)
        self.viewing = None
        self.chat.show_viewing(None, 0)
        await self.chat.add_turn(message.trace)
        self.panels.show(message.trace, self.project, history=self.conversation.traces)
        self._check_actions()
        self._send_queued()

    @on(TurnFailed)
    def _turn_failed(self, message: TurnFailed) -> None:
        if message.generation != self.generation:
            return
        self.chat.set_busy(False)
        self.notify(message.error, title="The turn failed", severity="error", timeout=10)
        self._send_queued()

    # -- time travel ------------------------------------------------------------------------------

    @on(ChatPane.TurnSelected)
    @guarded("Showing that turn")
    def _turn_selected(self, event: ChatPane.TurnSelected) -> None:
        self.show_turn(event.index)

    def show_turn(self, index: int | None) -> None:
        """Show an earlier turn in every panel (None: the latest, live)."""
        traces = self.conversation.traces
        if index is not None and not 0 <= index < len(traces) - 1:
            index = None
        moved = index != self.viewing
        self.viewing = index
        self.chat.show_viewing(index, len(traces) - 1)
        trace = traces[index] if index is not None else (traces[-1] if traces else None)
        if index is None:
            self.panels.show(trace, self.project, history=traces)
        else:  # an older turn is drawn against the project it was made with
            self.panels.show(trace, *self.conversation.project_for(trace), history=traces)
        if moved:  # what the keys do depends on whether a past turn is shown
            self.refresh_bindings()

    @on(ChatPane.RewindRequested)
    def _rewind_requested(self, event: ChatPane.RewindRequested) -> None:
        self.rewind_to(event.index)

    def rewind_to(self, index: int) -> None:
        traces = list(self.conversation.traces[: index + 1])
        first = conversation_title(traces)
        title = f"{first} (rewound to turn {index})" if first else None
        self._rebuild(traces, what=f"Rewound to turn {index}", title=title)

    def resume(self, session_id: str, traces: list[TurnTrace], seed: int) -> None:
        self._rebuild(
            traces, what=f"Resumed session {session_id}", seed=seed, continue_id=session_id
        )

    def _rebuild(
        self,
        traces: list[TurnTrace],
        *,
        what: str,
        seed: int | None = None,
        continue_id: str | None = None,
        title: str | None = None,
    ) -> None:
        self.generation += 1
        self.workers.cancel_group(self, "turn")
        self.chat.set_busy(True)
        self.run_replay(traces, self.generation, what, seed, continue_id, title)

    @work(exclusive=True, group="turn", exit_on_error=False)
    async def run_replay(
        self,
        traces: list[TurnTrace],
        generation: int,
        what: str,
        seed: int | None,
        continue_id: str | None,
        title: str | None,
    ) -> None:
        try:
            outcome = await self.conversation.replay(
                traces, self.project, seed=seed, continue_store_session=continue_id, title=title
            )
        except Exception as exc:
            self.post_message(TurnFailed(f"replay failed: {type(exc).__name__}: {exc}", generation))
            return
        self.post_message(ConversationRebuilt(outcome, generation, what))

    @on(ConversationRebuilt)
    @guarded("Showing the conversation")
    async def _rebuilt(self, message: ConversationRebuilt) -> None:
        if message.generation != self.generation:
            return
        self.chat.set_busy(False)
        await self._show_conversation()
        outcome = message.outcome
        note = f"{message.what}: {len(outcome.traces)} turns replayed, now live."
        corrected, self.correcting = self.correcting, None
        if corrected is not None:
            last = outcome.traces[-1] if outcome.traces else None
            if corrected.save_test:
                self.export_now()
            if last is not None and last.errors:
                self.notify(
                    f"The corrected turn {last.index} went wrong: {last.errors[0]}",
                    severity="warning",
                    timeout=10,
                )
            return
        if outcome.diverged_at is not None:
            self.notify(
                f"{note} From turn {outcome.diverged_at} on, the assistant behaves differently "
                "than when this was recorded (the project changed since).",
                severity="warning",
                timeout=10,
            )
        else:
            self.notify(note)

    async def _show_conversation(self) -> None:
        traces = self.conversation.traces
        self.viewing = None
        self.chat.show_viewing(None, 0)
        await self.chat.set_turns(traces)
        self.panels.show(traces[-1] if traces else None, self.project, history=traces)
        self.chat.focus_input()
        self.refresh_bindings()

    # -- hot reload -------------------------------------------------------------------------------

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_project(self) -> None:
        try:
            async for result in self.wb.watcher.watch():
                self.post_message(ProjectReloaded(result))
        except Exception as exc:
            self.post_message(WatchStopped(f"{type(exc).__name__}: {exc}"))

    @on(ProjectReloaded)
    @guarded("Using the reloaded project")
    def _reloaded(self, message: ProjectReloaded) -> None:
        result = message.result
        self.reload = result
        if result.ok:
            from workbench.agents.mcp_client import forget_tools

            forget_tools()  # a server edited beside the project may offer other tools now
            edits = self.conversation.replace_project(result.project)
            self.reloaded_at = self.wb.clock()
            self.notify(f"Reloaded {result.what} in {result.elapsed_ms:.0f} ms", timeout=3)
            for edit in edits:
                self.notify(
                    edit.message(),
                    title="The running flow changed",
                    severity="information" if edit.continued else "warning",
                    timeout=8,
                )
            # panels that draw the project see the new one, once the header and the
            # notification say the reload happened
            self.call_after_refresh(self._redraw_reloaded)
        else:
            count = len(result.errors)
            first = result.errors[0]
            self.notify(
                f"{first.location}: {first.message}",
                title=f"{count} error{'s' if count > 1 else ''}: the last good project stays",
                severity="warning",
                timeout=6,
            )
        if any(path.endswith(".py") for path in result.changed):
            refresh = getattr(self.conversation.actions, "refresh", None)
            if callable(refresh):
                try:
                    refresh(self.project)
                except Exception as exc:
                    self.notify(f"checking the custom actions failed: {exc!r}", severity="error")
        self.actions_error = getattr(self.conversation.actions, "load_error", None)
        self._show_problems()
        self.update_header()
        if not result.ok:
            self.wb.reload_count += 1

    def _redraw_reloaded(self) -> None:
        self.show_turn(self.viewing)
        self.wb.reload_count += 1

    def reload_now(self) -> None:
        """Load the project again without waiting for a change on disk."""
        self.post_message(ProjectReloaded(self.wb.watcher.load()))

    @on(WatchStopped)
    def _watch_stopped(self, message: WatchStopped) -> None:
        self.notify(f"Hot reload stopped: {message.error}", severity="error", timeout=10)

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rewind":
            return self.viewing is not None
        return True

    @guarded("Restart")
    def action_restart(self) -> None:
        self.generation += 1
        self.workers.cancel_group(self, "turn")
        self.chat.set_busy(False)
        self.conversation.restart(self.project)
        self.call_later(self._restarted)

    @guarded("Restart")
    async def _restarted(self) -> None:
        await self._show_conversation()
        self.notify("New conversation", timeout=2)
        if self.wb.greet:
            self._start_turn(SESSION_START_MESSAGE)

    def action_rewind(self) -> None:
        viewing = self.viewing
        if viewing is None:
            self.notify("Select an earlier turn first (↑ in the chat).", severity="warning")
            return
        later = len(self.conversation.traces) - 1 - viewing

        def answered(yes: bool | None) -> None:
            if yes and self.viewing == viewing:
                self.rewind_to(viewing)

        self.ask(
            f"Restart the conversation from turn {viewing}? The {later} later turn"
            f"{'s' if later != 1 else ''} stay in the stored session, which Sessions can resume.",
            answered,
            yes="Rewind",
        )

    def ask(self, question: str, then: Callable[[bool | None], None], *, yes: str) -> None:
        from workbench.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question, yes=yes, no="Cancel", danger=False), then)

    def action_export(self) -> None:
        if len(self.conversation.traces) < 2:  # the greeting alone is not a test
            self.notify("Nothing to export yet: say something first.", severity="warning")
            return
        folder = _relative(self.project.root / "e2e_tests", self.project.root)

        def answered(yes: bool | None) -> None:
            if yes:
                self.export_now()

        self.ask(
            f"Write this conversation as an e2e test (and its cassette) into {folder}/? "
            "No file is overwritten.",
            answered,
            yes="Write",
        )

    def export_now(self) -> None:
        from workbench.testing.export import NothingToExport

        try:
            result = self.conversation.export(self.project)
        except NothingToExport:
            self.notify("Nothing to export yet: say something first.", severity="warning")
            return
        except Exception as exc:
            self.notify(f"Export failed: {exc}", severity="error", timeout=10)
            return
        shown = _relative(result.test_path, self.project.root)
        extra = " (+ cassette)" if result.cassette_path else ""
        self.notify(f"Exported {shown}{extra}", title="e2e test written", timeout=8)
        self.wb.last_export = result

    def comparison_choice(self) -> str | None:
        """What this conversation can be compared with: the offline generator when a
        model (or cassette) understands it, else the project's model when it has one."""
        if not self.conversation.traces:
            return None
        if self.conversation.generator.name != "offline":
            return OFFLINE_LABEL
        from workbench.understanding.models import command_generator_model

        try:
            model = command_generator_model(self.project)
        except Exception:  # a broken model config: nothing to compare with
            return None
        return model.model if model is not None else None

    def compare_with(self, other: str) -> None:
        self.run_comparison(other, list(self.conversation.traces))

    @work(exclusive=True, group="comparison", exit_on_error=False)
    async def run_comparison(self, other: str, traces: list[TurnTrace]) -> None:
        from workbench.testing.replay import replay_session
        from workbench.tui.screens.comparison import ComparisonScreen
        from workbench.wiring import Options, make_generator

        options = Options(offline=True) if other == OFFLINE_LABEL else Options(model=other)
        self.notify(f"Replaying {len(traces)} turns with {other} ...", timeout=3)
        try:
            generator, label = make_generator(self.project, options)
            report = await replay_session(self.project, traces, generator=generator)
        except Exception as exc:
            self.notify(f"The comparison failed: {exc}", severity="error", timeout=8)
            return
        self.app.push_screen(ComparisonScreen(report, label))

    def open_stored(self, session_id: str, turn: int | None = None) -> None:
        """Show a stored session read-only, at `turn` (a failed test's diverging turn)."""
        from workbench.store.sessions import SessionStore
        from workbench.tui.screens.sessions import TranscriptScreen

        try:
            with SessionStore(self.project.root) as store:
                summary = store.get_session_exact(session_id)
                traces = store.get_turns(session_id) if summary is not None else []
        except Exception as exc:
            self.notify(f"The session cannot be read: {exc}", severity="error")
            return
        if summary is None:
            self.notify(f"No session {session_id} in this project", severity="warning")
            return
        root, current = self.project.root, self.conversation.store_session_id
        screen = TranscriptScreen(summary, traces, root=root, current_id=current, start_at=turn)
        self.app.push_screen(screen, self._sessions_closed)

    def action_sessions(self) -> None:
        from workbench.tui.screens.sessions import SessionsScreen

        self.app.push_screen(
            SessionsScreen(
                self.project.root,
                clock=self.wb.clock,
                current_id=self.conversation.store_session_id,
            ),
            self._sessions_closed,
        )

    @guarded("Resume")
    def _sessions_closed(self, result: Resume | None) -> None:
        if result is None:
            return
        session_id, traces, seed, fork = result
        if fork:  # replayed into a new store session, as a rewind is
            self._rebuild(
                traces,
                what=f"Forked session {session_id}",
                seed=seed,
                title=f"fork of {session_id}",
            )
        else:
            self.resume(session_id, traces, seed)

    def action_maximize_panel(self) -> None:
        toggle_maximize(self)

    def action_knowledge(self) -> None:
        """Bring the Docs tab (knowledge) forward and put the focus in it (the palette)."""
        self.panels.reveal("knowledge")

    def action_agents(self) -> None:
        """Bring the Calls tab (agents and tools) forward and focus it (the palette)."""
        self.panels.reveal("agents")

    async def action_copy_tracker(self) -> None:
        await self.panels.mount_pending()
        self.query_one(HistoryPanel).copy_tracker()

    def action_reload(self) -> None:
        self.reload_now()

    def action_help(self) -> None:
        from workbench.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(keys.MAIN + tuple(a for a in keys.CHART if a.footer)))

    # -- typing -----------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """A printable key typed where nothing takes typing goes to the message input, so
        typing a sentence with the focus on the chat log or a panel only writes it."""
        if event.is_printable and event.character and not keys.takes_typing(self.focused):
            event.stop()
            event.prevent_default()
            self.chat.type_into_input(event.character)

    def on_paste(self, event: events.Paste) -> None:
        if not keys.takes_typing(self.focused):
            event.stop()
            self.chat.type_into_input(event.text)

    def action_originals(self) -> None:
        shown = self.chat.toggle_originals()
        self.notify("originals of rephrased messages " + ("shown" if shown else "hidden"))

    def action_back(self) -> None:
        """Esc: un-maximize, else back to live, else between the input and the chat."""
        if self.maximized is not None:
            self.minimize()
        elif self.viewing is not None:
            self.show_turn(None)
            self.chat.focus_input()
        elif self.focused is self.chat.input:
            self.chat.chat_log.focus()
        else:
            self.chat.focus_input()


def _relative(path, root) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
