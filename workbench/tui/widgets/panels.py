"""The panels of the workbench screen. Each renders one `TurnTrace` against the project:

    panel.show_trace(trace, project)   # trace None: "No turn yet"

`PANELS` lists them in the order the screen shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Input, Static

from workbench.calm.values import SlotValue
from workbench.project.model import Project
from workbench.terminal_text import printable
from workbench.trace.records import CommandRecord
from workbench.trace.text import (
    command_text,
    dropped_text,
    frame_cells,
    rewritten_text,
    truncate,
    usage_brief,
    usage_parts,
    value_text,
)
from workbench.trace.turn import SESSION_START_SOURCE, TurnTrace
from workbench.tui.widgets.agents_panel import AgentsPanel
from workbench.tui.widgets.base import (
    NO_TURN,
    FlowChosen,
    Line,
    TableNotePanel,
    TextPanel,
    TracePanel,
    looks,
    update_static,
)
from workbench.tui.widgets.flow_panel import FlowPanel
from workbench.tui.widgets.history_panel import HistoryPanel
from workbench.tui.widgets.knowledge_panel import KnowledgePanel

MUTED = "$text-muted"
VALUE_LIMIT = 40
DETAIL_LIMIT = 400  # the slot detail line wraps; only a huge value is cut
DUPLICATE = "\0"  # joins a repeated row key and its count


class _TablePanel(TableNotePanel):
    """A note line (empty states) above a DataTable."""

    def compose(self):
        yield Static(NO_TURN, classes="panel-note", id="trace-note", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=False, id="trace-table")

    _rows: object = None  # `looks` of the rows last shown, and their height

    def set_note(self, text: str) -> None:
        update_static(self.note, text)
        self.note.display = bool(text)

    def set_rows(self, rows: Sequence[tuple[str, tuple[object, ...]]], height: int = 1) -> None:
        shown = (looks(tuple(rows)), height)
        if shown == self._rows:  # unchanged: the cursor stays where the user put it
            return
        self._rows = shown
        table = self.table
        table.clear()
        used: set[str] = set()
        for key, cells in rows:
            unique, n = key, 1
            while unique in used:  # a trace may name a flow (or frame) twice
                n += 1
                unique = f"{key}{DUPLICATE}{n}"
            used.add(unique)
            table.add_row(*cells, key=unique, height=height)
        table.display = bool(rows)

    def draw_empty(self, project: Project | None) -> None:
        self.set_subtitle("")
        self.set_rows([])
        self.set_note(NO_TURN)

    def chosen_flow(self, row_key: str) -> str | None:
        """The flow a selected row stands for (None: the row is not a user flow)."""
        return None

    @on(DataTable.RowSelected, "#trace-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        flow_id = self.chosen_flow(str(event.row_key.value).split(DUPLICATE)[0])
        if flow_id is not None:
            event.stop()
            self.post_message(FlowChosen(flow_id))


# --- flows in the prompt ----------------------------------------------------------------


class RetrievedFlowsPanel(_TablePanel):
    """The flows that went into the prompt, in rank order: score, reason, active ones ●."""

    panel_title = "Flows"
    COLUMNS = (("active", " "), ("flow", "flow"), ("score", "score"), ("reason", "reason"))

    def chosen_flow(self, row_key: str) -> str | None:
        return row_key

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        rows = []
        for flow in trace.retrieved_flows:
            style = "bold" if flow.active else ""
            score = "—" if flow.score is None else f"{flow.score:.2f}"
            rows.append(
                (
                    flow.flow_id,
                    (
                        Text("●" if flow.active else "", style="bold green"),
                        Text(printable(flow.flow_id, multiline=False), style=style),
                        Text(score, style=style, justify="right"),
                        Text(truncate(flow.reason, 60), style="dim"),
                    ),
                )
            )
        self.set_rows(rows)
        active = sum(1 for f in trace.retrieved_flows if f.active)
        self.set_subtitle(f"{len(rows)} · {active} active" if rows else "")
        if rows:
            self.set_note("")
        elif trace.source != "user":
            self.set_note(f"no retrieval ({trace.source} input skips the model)")
        else:
            self.set_note("no flows were retrieved for this turn")


# --- commands -----------------------------------------------------------------------


def _heading(text: str, style: str = "bold") -> Content:
    return Content.styled(text, style)


def _indented(text: str, style: str = "", prefix: str = "  ") -> Line:
    return (prefix, Content.styled(text, style) if style else Content(text))


class CommandsPanel(TextPanel):
    """Raw model output, parsed and accepted commands, dropped (red) and rewritten (yellow)."""

    panel_title = "Commands"

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        lines: list[Line] = []
        total = trace.timings_ms.get("total")
        header: list[str | tuple[str, str]] = [
            (f"turn {trace.index}", "bold"),
            " · ",
            (printable(trace.source, multiline=False), "$text-accent"),
        ]
        if trace.generator:
            header += [" · ", printable(trace.generator, multiline=False)]
        if total is not None:
            header += [(f" · {total:.1f} ms", MUTED)]
        lines.append(Content.assemble(*header))

        lines.append(_heading("Raw output"))
        if trace.raw_output is None:
            lines.append(_indented("(no model output)", MUTED))
        elif not trace.raw_output.strip():
            lines.append(_indented("(empty)", MUTED))
        else:
            for raw_line in trace.raw_output.splitlines():
                lines.append(Content.assemble(("│ ", MUTED), printable(raw_line)))

        parsed = [command_text(c) for c in trace.parsed_commands]
        accepted = [command_text(c) for c in trace.commands]
        if parsed == accepted:
            lines.append(_heading(f"Commands ({len(accepted)}) · parsed = accepted"))
            lines += _command_lines(trace.commands)
        else:
            lines.append(_heading(f"Parsed ({len(parsed)})"))
            lines += [_indented(c) for c in parsed] or [_indented("none", MUTED)]
            lines.append(_heading(f"Accepted ({len(accepted)})"))
            lines += _command_lines(trace.commands)

        if trace.dropped:
            lines.append(_heading(f"Dropped ({len(trace.dropped)})", "bold $text-error"))
            for dropped in trace.dropped:
                lines.append(_indented(dropped_text(dropped), "$text-error", "  ✗ "))
        if trace.rewritten:
            lines.append(_heading(f"Rewritten ({len(trace.rewritten)})", "bold $text-warning"))
            for rewritten in trace.rewritten:
                lines.append(_indented(rewritten_text(rewritten), "$text-warning", "  ↻ "))
        self.set_body(lines)
        summary = f"{len(accepted)} accepted"
        if trace.dropped:
            summary += f" · {len(trace.dropped)} dropped"
        if trace.rewritten:
            summary += f" · {len(trace.rewritten)} rewritten"
        self.set_subtitle(summary)


def _command_lines(commands: list[CommandRecord]) -> list[Line]:
    """Each command, and under it why it was made when the generator said."""
    lines = []
    for command in commands:
        lines.append(_indented(command_text(command)))
        if command.why:
            lines.append(_indented(f"why: {printable(command.why)}", MUTED, "      "))
    return lines or [_indented("none", MUTED)]


# --- slots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRow:
    name: str
    type: str
    value: SlotValue
    old: SlotValue = None
    changed: bool = False
    builtin: bool = False


def slot_rows(trace: TurnTrace, project: Project) -> list[SlotRow]:
    """Every slot (domain slots first, then built-in pattern slots, then any the trace has
    that the project no longer defines), the ones changed this turn first."""
    changed = trace.changed_slots
    rows = []
    slots = project.domain.slots
    ordered = [s for s in slots.values() if not s.is_builtin] + [
        s for s in slots.values() if s.is_builtin
    ]
    for slot in ordered:
        old, _ = changed.get(slot.name, (None, None))
        rows.append(
            SlotRow(
                slot.name,
                slot.type,
                trace.slots_after.get(slot.name, slot.initial_value),
                old,
                slot.name in changed,
                slot.is_builtin,
            )
        )
    for name, value in trace.slots_after.items():
        if name not in slots:
            old, _ = changed.get(name, (None, None))
            rows.append(SlotRow(name, "?", value, old, name in changed))
    return sorted(rows, key=lambda r: not r.changed)  # stable: keeps the order otherwise


class SlotsPanel(_TablePanel):
    """Name, type and value of every slot; changed ones bold yellow with the old value.
    The filter box narrows by name as you type; the checkbox shows built-in slots."""

    panel_title = "Slots"
    COLUMNS = (("name", "slot"), ("type", "type"), ("value", "value"))

    DEFAULT_CSS = """
    SlotsPanel > .slot-bar {
        height: auto;
    }
    SlotsPanel #slot-filter {
        width: 1fr;
    }
    SlotsPanel #slot-builtin {
        width: auto;
    }
    SlotsPanel > #slot-detail {
        height: auto;
        max-height: 8;
        border-top: solid $foreground 30%;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[SlotRow] = []

    def compose(self):
        with Horizontal(classes="slot-bar"):
            yield Input(placeholder="filter slots", compact=True, id="slot-filter")
            yield Checkbox("built-in", compact=True, id="slot-builtin")
        yield from super().compose()
        # the highlighted slot in full: a long name or value is cut in the table
        yield Static(id="slot-detail", markup=False)

    class EditSlot(Message):
        """Enter (or a click) on a slot row: the user wants to set or clear it."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    @on(DataTable.RowSelected, "#trace-table")
    def _edit_slot(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.EditSlot(str(event.row_key.value).split(DUPLICATE)[0]))

    @on(DataTable.RowHighlighted, "#trace-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = str(event.row_key.value).split(DUPLICATE)[0]
        row = next((r for r in self.rows if r.name == name), None)
        self.show_detail(row)

    def show_detail(self, row: SlotRow | None) -> None:
        detail = self.query_one("#slot-detail", Static)
        detail.display = row is not None
        if row is None:
            return
        parts: list[str | tuple[str, str]] = [
            (printable(row.name, multiline=False), "bold"),
            (f" ({printable(row.type, multiline=False)})", "dim"),
            " = ",
            (value_text(row.value, DETAIL_LIMIT), "bold yellow" if row.changed else ""),
        ]
        if row.changed:
            parts += [("  was ", "dim"), value_text(row.old, DETAIL_LIMIT)]
        update_static(detail, Text.assemble(*parts))

    @property
    def filter_text(self) -> str:
        return self.query_one("#slot-filter", Input).value.strip().lower()

    @property
    def show_builtin(self) -> bool:
        return self.query_one("#slot-builtin", Checkbox).value

    @on(Input.Changed, "#slot-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.trace is not None:
            self.fill()

    @on(Input.Submitted, "#slot-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # never let Enter here reach the app's chat input handler

    @on(Checkbox.Changed, "#slot-builtin")
    def _builtin_toggled(self, event: Checkbox.Changed) -> None:
        event.stop()
        if self.trace is not None:
            self.fill()

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        self.rows = slot_rows(trace, project)
        changed = sum(1 for r in self.rows if r.changed)
        self.set_subtitle(f"{changed} changed" if changed else "")
        self.fill()

    def draw_empty(self, project: Project | None) -> None:
        self.rows = []
        super().draw_empty(project)
        self.show_detail(None)

    def fill(self) -> None:
        """Apply the filter and the built-in toggle to the rows of the last trace."""
        needle = self.filter_text
        show_builtin = self.show_builtin
        shown = [
            row
            for row in self.rows
            if needle in row.name.lower() and (show_builtin or row.changed or not row.builtin)
        ]
        self.set_rows([(row.name, self._cells(row)) for row in shown])
        self.show_detail(shown[0] if shown else None)
        if shown:
            self.set_note("")
        elif needle:
            self.set_note(f"no slot matches '{printable(needle, multiline=False)}'")
        else:
            self.set_note("no slots")

    @staticmethod
    def _cells(row: SlotRow) -> tuple[Text, Text, Text]:
        if row.changed:
            value = Text.assemble(
                (value_text(row.value, VALUE_LIMIT), "bold yellow"),
                ("  was ", "dim"),
                (value_text(row.old, VALUE_LIMIT // 2), "dim"),
            )
            return (
                Text(printable(row.name, multiline=False), style="bold yellow"),
                Text(printable(row.type, multiline=False), style="dim"),
                value,
            )
        style = "dim" if row.builtin or row.value is None else ""
        return (
            Text(printable(row.name, multiline=False), style="dim" if row.builtin else ""),
            Text(printable(row.type, multiline=False), style="dim"),
            Text(value_text(row.value, VALUE_LIMIT), style=style),
        )


# --- stack ------------------------------------------------------------------------------


class StackPanel(_TablePanel):
    """The dialogue stack after the turn, top first, two lines a frame (flow id and step;
    frame type and pattern context): + new this turn, ~ moved, − ended this turn."""

    panel_title = "Stack"
    COLUMNS = (("mark", " "), ("frame", "frame @ step"), ("type", "type / context"))

    def chosen_flow(self, row_key: str) -> str | None:
        frames = [*(self.trace.stack_after if self.trace else ())]
        frames += self.trace.stack_before if self.trace else []
        frame_id = row_key.removeprefix("ended:")
        for frame in frames:
            if frame.frame_id == frame_id and frame.is_flow:
                return frame.flow_id
        return None

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        before = {f.frame_id: f for f in trace.stack_before}
        after_ids = {f.frame_id for f in trace.stack_after}
        rows = []
        for frame in reversed(trace.stack_after):
            old = before.get(frame.frame_id)
            if old is None:
                mark, style = Text("+", style="bold green"), "green"
            elif old != frame:
                mark, style = Text("~", style="bold yellow"), "yellow"
            else:
                mark, style = Text(""), ""
            rows.append((frame.frame_id, (mark, *frame_cells(frame, style))))
        ended = [f for f in reversed(trace.stack_before) if f.frame_id not in after_ids]
        for frame in ended:
            key = f"ended:{frame.frame_id}"
            rows.append((key, (Text("−", style="dim"), *frame_cells(frame, "dim strike"))))
        self.set_rows(rows, height=2)
        self.set_note("" if rows else "the stack is empty")
        depth = len(trace.stack_after)
        subtitle = f"{depth} frame{'s' if depth != 1 else ''}"
        self.set_subtitle(f"{subtitle} · {len(ended)} ended" if ended else subtitle)


# --- prompt -----------------------------------------------------------------------------


def _why_no_model(trace: TurnTrace) -> str:
    if trace.source in ("direct", "button", "intent", SESSION_START_SOURCE):
        return {"direct": "direct command", "button": "button payload"}.get(
            trace.source, trace.source
        )
    if trace.generator:
        return f"{printable(trace.generator, multiline=False)} generator"
    return "no generator ran"


class PromptPanel(TextPanel):
    """The exact prompt and completion, tokens, latency, cost and model."""

    panel_title = "Prompt"

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        lines: list[Content] = []
        usage = trace.usage
        if trace.prompt is None:
            lines.append(Content.styled(f"no model call ({_why_no_model(trace)})", MUTED))
            self.set_subtitle("")
            if usage is not None and usage.error:
                lines.append(Content.styled(f"error: {printable(usage.error)}", "bold $text-error"))
            if trace.raw_output is not None:
                lines.append(_heading("Generator output"))
                lines += [Content(printable(line)) for line in trace.raw_output.splitlines()]
            if trace.prompt_preview is not None:
                lines.append(_heading("The prompt a model would be sent (not sent)"))
                lines.append(Content(printable(trace.prompt_preview.rstrip("\n"))))
            self.set_body(lines)
            return
        model, *rest = usage_parts(usage, trace.prompt_tokens)
        facts: list[str | tuple[str, str]] = [(model, "bold" if usage and usage.model else MUTED)]
        for part in rest:
            facts += [" · ", part]
        lines.append(Content.assemble(*facts))
        if usage is not None and usage.error:
            lines.append(Content.styled(f"error: {printable(usage.error)}", "bold $text-error"))
        template = f" · {trace.prompt_template}" if trace.prompt_template else ""
        lines.append(_heading(printable(f"Prompt{template}", multiline=False)))
        lines.append(
            Content(printable(trace.prompt.rstrip("\n")))
        )  # one block: prompts can be long
        lines.append(_heading("Completion"))
        if trace.raw_output is None:
            lines.append(Content.styled("(no completion)", MUTED))
        elif not trace.raw_output.strip():
            lines.append(Content.styled("(empty)", MUTED))
        else:
            lines.append(Content(printable(trace.raw_output.rstrip("\n"))))
        self.set_body(lines)
        self.set_subtitle(usage_brief(usage, trace.prompt_tokens))


PANELS: tuple[type[TracePanel], ...] = (
    RetrievedFlowsPanel,
    CommandsPanel,
    SlotsPanel,
    StackPanel,
    PromptPanel,
    HistoryPanel,  # the events of every turn; the shown turn's highlighted
    FlowPanel,
    # last, the tabs a project may not need: shown or hidden, they never move the others
    AgentsPanel,
    KnowledgePanel,
)

__all__ = [
    "PANELS",
    "AgentsPanel",
    "CommandsPanel",
    "FlowChosen",
    "FlowPanel",
    "HistoryPanel",
    "KnowledgePanel",
    "PromptPanel",
    "RetrievedFlowsPanel",
    "SlotRow",
    "SlotsPanel",
    "StackPanel",
    "TextPanel",
    "TracePanel",
    "slot_rows",
]
