"""The History panel: the whole conversation, where every other panel shows one turn.

Three modes, switched in its top row:
- log: every event (and the commands each message became) of every turn, with the turn
  number on each row, filtered by category; the rows of the turn the screen shows are
  highlighted and scrolled to (time travel moves the highlight, it hides nothing);
- timeline: one line per flow run with a character per turn (started, active,
  interrupted, resumed, ended) and what interrupted it;
- tracker: the tracker after the shown turn as Rasa's tracker JSON, copyable.

What is drawn comes from `workbench.trace.history`; this module only styles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, RadioButton, RadioSet, Select, Static

from workbench.project.model import Project
from workbench.terminal_text import printable
from workbench.trace import history
from workbench.trace.history import CATEGORIES, FlowRun, LogRow
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.base import NO_TURN, TracePanel, looks

MODES = ("log", "timeline", "tracker")

# (label, categories) offered by the log's filter; the first is the default
FILTERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("all events", frozenset(CATEGORIES)),
    ("all but stack", frozenset(CATEGORIES) - {history.STACK}),
    ("flow events", frozenset({history.FLOW})),
    ("slots", frozenset({history.SLOT})),
    ("actions", frozenset({history.ACTION})),
    ("commands", frozenset({history.COMMAND})),
    ("stack", frozenset({history.STACK})),
    ("bot/user", frozenset({history.CHAT})),
)

# Every style the panel draws text with. Only `$text-*` colours and the foreground:
# they keep WCAG AA contrast (4.5:1) on the background and on `SHOWN` (a test checks it
# against the default theme); the plain `$secondary`/`$error` colours do not.
MUTED = "$text-muted"
SHOWN = "on $primary-muted"  # the background of the shown turn's rows
STYLES: dict[str, str] = {
    "user": "bold $text-primary",
    "bot": "$text-success",
    "slot": "$text-accent",
    "command": "$text-primary",
    "dropped": "$text-error",
    "error": "bold $text-error",
    "notice": "$text-warning",
    "flow_started": "bold $foreground",
    "flow_completed": "bold $foreground",
    "flow_resumed": "bold $foreground",
    "flow_interrupted": "$text-warning",
    "flow_cancelled": "bold $text-warning",
    "action": "$foreground",
    "stack": MUTED,
    "quiet": MUTED,
    "turn": MUTED,
    "turn_shown": "bold $text-accent",
    # timeline
    "flow": "bold $foreground",
    "pattern": MUTED,
    history.STARTED: "bold $text-primary",
    history.RESUMED: "bold $text-primary",
    history.INTERRUPTED: "$text-warning",
    history.COMPLETED: "bold $text-success",
    history.CANCELLED: "bold $text-error",
    history.ENDED: "$text-warning",
    "active": "$text-primary",
    "paused": "$text-warning",
    "outside": MUTED,
    # tracker
    "json": "$foreground",
}


class HistoryPanel(TracePanel):
    """The whole conversation: event log, flow timeline, tracker state (see module)."""

    panel_title = "History"

    DEFAULT_CSS = """
    HistoryPanel > #history-bar {
        height: 1;
    }
    HistoryPanel #history-mode {
        layout: horizontal;
        width: auto;
        height: 1;
        margin-right: 1;
    }
    HistoryPanel #history-mode > RadioButton {
        width: auto;
        margin-right: 1;
    }
    /* the off button and the cursor of an unfocused row readable (WCAG AA) */
    HistoryPanel #history-mode > RadioButton > .toggle--button {
        color: $text-muted;
    }
    HistoryPanel #history-mode > RadioButton.-on > .toggle--button {
        color: $text-success;
    }
    HistoryPanel #history-mode > RadioButton.-selected > .toggle--label {
        background: transparent;
    }
    HistoryPanel #history-mode:focus > RadioButton.-selected > .toggle--label {
        background: $primary-muted;
        color: $foreground;
        text-style: bold underline;
    }
    HistoryPanel #history-filter {
        width: 20;
    }
    HistoryPanel #history-patterns, HistoryPanel #history-copy {
        width: auto;
        min-width: 0;
    }
    HistoryPanel > #history-scroll {
        height: 1fr;
        overflow-x: auto;
    }
    HistoryPanel #history-body {
        width: auto;
        min-width: 100%;
        height: auto;
        text-wrap: nowrap;
    }
    """

    @dataclass
    class ModeChanged(Message):
        """The panel now shows `mode` (one of `MODES`)."""

        mode: str

    @dataclass
    class Copied(Message):
        """The tracker state was put on the clipboard."""

        text: str

    def __init__(self, **options: str | None) -> None:  # name, id, classes
        super().__init__(**options)
        self.traces: list[TurnTrace] = []
        self.sender_id: str | None = None
        self.mode = MODES[0]
        self.categories = FILTERS[0][1]
        self.show_patterns = False
        self.tracker_text = ""
        self.rows: list[LogRow] = []  # the log rows shown, after the filter
        # the line to keep in view (None: the end), again whenever the panel is shown:
        # a panel on a hidden tab cannot scroll
        self.scroll_target: int | None = None
        self.line_count = 0
        self.stale = False  # turns came while the panel was hidden: draw when shown
        self._shown: object = None  # `looks` of the lines last shown, and their scroll

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-bar"):
            with RadioSet(id="history-mode", compact=True):
                for mode in MODES:
                    yield RadioButton(
                        mode, value=mode == self.mode, compact=True, id=f"mode-{mode}"
                    )
            yield Select(
                [(label, n) for n, (label, _) in enumerate(FILTERS)],
                value=0,
                allow_blank=False,
                compact=True,
                id="history-filter",
            )
            yield Checkbox("patterns", compact=True, id="history-patterns")
            yield Button("Copy JSON", compact=True, id="history-copy")
        with VerticalScroll(id="history-scroll"):
            yield Static(NO_TURN, id="history-body", markup=False)

    # -- the contract ---------------------------------------------------------------------

    def show_conversation(self, traces: Sequence[TurnTrace], sender_id: str | None) -> None:
        """The conversation's turns so far (the next `show_trace` draws them)."""
        self.traces = list(traces)
        self.sender_id = sender_id

    @property
    def shown_turn(self) -> int | None:
        return self.trace.index if self.trace is not None else None

    @property
    def turns(self) -> list[TurnTrace]:
        """The turns to draw: the conversation's, or the shown one alone when the panel
        was not told the conversation (or it does not hold that turn)."""
        if self.trace is None:
            return []
        if any(t is self.trace or t.index == self.trace.index for t in self.traces):
            return self.traces
        return [self.trace]

    def prepare(self) -> None:
        self._show_controls()

    def draw_empty(self, project: Project | None) -> None:
        self.set_subtitle("")
        self.rows = []
        self.tracker_text = ""
        self._set_body([Content.styled(NO_TURN, MUTED)])

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        if self.mode == "timeline":
            self._draw_timeline()
        elif self.mode == "tracker":
            self._draw_tracker()
        else:
            self._draw_log()

    # -- the controls ---------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """Show `mode` (one of `MODES`), as picking it in the top row does."""
        if mode not in MODES:
            raise ValueError(f"no such mode: {mode}")
        button = self.query_one(f"#mode-{mode}", RadioButton)
        if not button.value:
            button.value = True  # the RadioSet's Changed message does the rest

    @on(RadioSet.Changed, "#history-mode")
    def _mode_picked(self, event: RadioSet.Changed) -> None:
        event.stop()
        mode = MODES[event.index]
        if mode == self.mode:
            return
        self.mode = mode
        self._show_controls()
        self._draw()
        self.post_message(self.ModeChanged(mode))

    @on(Select.Changed, "#history-filter")
    def _filter_picked(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, int):
            self.categories = FILTERS[event.value][1]
            self._draw()

    @on(Checkbox.Changed, "#history-patterns")
    def _patterns_toggled(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.show_patterns = event.value
        self._draw()

    @on(Button.Pressed, "#history-copy")
    def _copy_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.copy_tracker()

    def copy_tracker(self) -> None:
        """Put the tracker state shown (of the shown turn) on the clipboard."""
        if self.trace is None:
            self.app.notify("No turn yet: nothing to copy.", severity="warning")
            return
        text = history.tracker_json(self._tracker_state())
        self.app.copy_to_clipboard(text)
        self.app.notify(
            f"Tracker state after turn {self.trace.index} copied ({len(text)} characters)",
            timeout=3,
        )
        self.post_message(self.Copied(text))

    def _show_controls(self) -> None:
        self.query_one("#history-filter").display = self.mode == "log"
        self.query_one("#history-patterns").display = self.mode == "timeline"
        self.query_one("#history-copy").display = self.mode == "tracker"

    # -- drawing --------------------------------------------------------------------------

    @property
    def scroller(self) -> VerticalScroll:
        return self.query_one("#history-scroll", VerticalScroll)

    def _set_body(self, lines: list[Content], scroll_to: int | None = None) -> None:
        """Show `lines`; then scroll so that line `scroll_to` is in view (None: the end).
        Unchanged lines are left alone (and where the user scrolled them)."""
        shown = (looks(tuple(lines)), scroll_to)
        if shown == self._shown:
            return
        self._shown = shown
        self.query_one("#history-body", Static).update(Content("\n").join(lines))
        self.scroll_target = scroll_to
        self.line_count = len(lines)
        self.call_after_refresh(self.scroll_to_target)

    def scroll_to_target(self, tries: int = 25) -> None:
        found = self.query("#history-scroll")
        if not found:  # removed meanwhile (the panel area recomposes on a resize)
            return
        scroller = found.first(VerticalScroll)
        if 0 < scroller.size.height < self.line_count and scroller.max_scroll_y == 0:
            # a panel just shown has no scroll range until its body is laid out
            if tries:
                self.set_timer(0.02, partial(self.scroll_to_target, tries - 1))
            return
        if self.scroll_target is None:
            scroller.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            y = max(self.scroll_target - 1, 0)
            scroller.scroll_to(y=y, animate=False, immediate=True)

    def _draw(self) -> None:
        """Draw now if the panel can be seen; on a hidden tab, when it is shown: a long
        conversation costs the whole log each time, and turns come while it is hidden."""
        if not all(node.display for node in self.ancestors_with_self):
            self.stale = True
            return
        self.stale = False
        super()._draw()

    def on_show(self) -> None:
        if self.stale or (self.mode == "log" and self.trace is not None):
            self._draw()  # the shown turn's block is as wide as the panel, known now
        else:
            self.call_after_refresh(self.scroll_to_target)

    def _draw_log(self) -> None:
        rows = history.shown_rows(history.conversation_log(self.turns), self.categories)
        self.rows = rows
        shown = self.shown_turn
        width = len(str(max((row.turn for row in rows), default=0)))
        lines = [_log_line(row, width, row.turn == shown) for row in rows]
        # the shown turn's rows are one block as wide as the widest row (or the panel)
        block = max([line.cell_length for line in lines] + [self.scroller.size.width])
        lines = [
            line.pad_right(block - line.cell_length).stylize(SHOWN) if row.turn == shown else line
            for row, line in zip(rows, lines, strict=True)
        ]
        if not lines:
            lines = [Content.styled("no events of this kind", MUTED)]
        span = history.turn_lines(rows, shown) if shown is not None else None
        # the shown turn from its first row (its message and commands), the latest too
        self._set_body(lines, None if span is None else span[0])
        turns = len(self.turns)
        self.set_subtitle(f"{len(rows)} rows · {turns} turn{'s' if turns != 1 else ''}")

    def _draw_timeline(self) -> None:
        turns = [t.index for t in self.turns]
        runs = history.flow_timeline(self.turns)
        shown_runs = [run for run in runs if self.show_patterns or not run.pattern]
        width = max((len(run.flow_id) for run in shown_runs), default=4)
        shown = self.shown_turn
        lines = [Content.styled(legend, MUTED) for legend in history.BAR_LEGEND]
        lines.append(_ruler(turns, width, shown))
        for run in shown_runs:
            lines += _timeline_lines(run, turns, width)
        if not shown_runs:
            lines.append(Content.styled("no flow has started yet", MUTED))
        self._set_body(lines, 0)
        hidden = len(runs) - len(shown_runs)
        subtitle = f"{len(shown_runs)} flow run{'s' if len(shown_runs) != 1 else ''}"
        if hidden:
            subtitle += f" · {hidden} pattern run{'s' if hidden != 1 else ''} hidden"
        self.set_subtitle(subtitle)

    def _tracker_state(self):
        return history.tracker_state(self.turns, self.shown_turn, self.sender_id)

    def _draw_tracker(self) -> None:
        state = self._tracker_state()
        self.tracker_text = history.tracker_json(state)
        lines = [Content.styled(line, STYLES["json"]) for line in self.tracker_text.splitlines()]
        self._set_body(lines, 0)
        events = state["events"]
        count = len(events) if isinstance(events, list) else 0
        self.set_subtitle(f"after turn {self.shown_turn} · {count} events")


def _log_line(row: LogRow, width: int, shown: bool) -> Content:
    style = STYLES["quiet"] if row.quiet else STYLES.get(row.kind, STYLES["action"])
    turn_style = STYLES["turn_shown"] if shown else STYLES["turn"]
    return Content.assemble(
        ("▌" if shown else " ", turn_style),
        (f"{row.turn:>{width}} ", turn_style),
        (row.text, style),
    )


def _ruler(turns: list[int], width: int, shown: int | None) -> Content:
    ruler = history.turn_ruler(turns)
    parts: list[tuple[str, str]] = [(f"{'turn':<{width}} ", STYLES["turn"])]
    at = turns.index(shown) if shown in turns else -1
    if at < 0:
        parts.append((ruler, STYLES["turn"]))
    else:
        parts += [
            (ruler[:at], STYLES["turn"]),
            (ruler[at], f"{STYLES['turn_shown']} {SHOWN}"),
            (ruler[at + 1 :], STYLES["turn"]),
        ]
    return Content.assemble(*parts)


def _timeline_lines(run: FlowRun, turns: list[int], width: int) -> list[Content]:
    """The run's name and bar, and under them what happened to it (a line of its own,
    so that it reads in a narrow panel)."""
    name_style = STYLES["pattern"] if run.pattern else STYLES["flow"]
    name = printable(run.flow_id, multiline=False)
    parts: list[tuple[str, str]] = [(f"{name:<{width}} ", name_style)]
    parts += [(history.BAR[cell], STYLES[cell]) for cell in history.timeline_cells(run, turns)]
    story = [Content.styled(f"  {line}", MUTED) for line in history.run_summary(run)]
    return [Content.assemble(*parts), *story]


__all__ = ["FILTERS", "MODES", "STYLES", "HistoryPanel"]
