"""`TracePanel`, the base of every panel: it renders one `TurnTrace` (or the empty state)
against the project, and nothing else. Re-exported by `panels.py`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.project.model import Project
from workbench.trace.turn import TurnTrace

NO_TURN = "No turn yet"


class FlowChosen(Message):
    """Posted when the user picks a flow in a panel (Enter or click on a row of the Flows
    or Stack table). The screen may route it to `FlowPanel.select_flow(flow_id)`."""

    def __init__(self, flow_id: str) -> None:
        super().__init__()
        self.flow_id = flow_id


class TracePanel(Widget):
    """A view of one turn. Subclasses implement `draw_trace` and `draw_empty`.

    `show_trace` may be called before the panel is mounted; the last trace given is drawn
    on mount. Panels never reach into the engine: everything comes from the trace and
    the project.
    """

    panel_title: ClassVar[str] = "Panel"

    DEFAULT_CSS = """
    TracePanel {
        height: 1fr;
        width: 1fr;
        layout: vertical;
    }
    TracePanel .panel-note {
        height: auto;
        color: $text-muted;
    }
    TracePanel > DataTable {
        height: 1fr;
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
        self.trace: TurnTrace | None = None
        self.project: Project | None = None
        # said when the project drawn is not the one the turn was made with
        self.project_note = ""
        self.render_ms: float = 0.0  # how long the last draw took, for the curious
        self._shown_subtitle: str | None = None
        self.border_title = self.panel_title

    # -- the contract ---------------------------------------------------------------------

    def show_trace(self, trace: TurnTrace | None, project: Project) -> None:
        """Show `trace` (None: the "No turn yet" state) against `project`, the one the
        turn was made with where known (`project_note` says when it is not). Cheap;
        safe before mount."""
        self.trace = trace
        self.project = project
        if self.is_mounted:
            self._draw()

    def set_subtitle(self, text: str) -> None:
        """The border's subtitle. Setting it repaints the whole panel, so an unchanged
        one is not set again (a reload redraws every panel with what they showed)."""
        if text != self._shown_subtitle:
            self._shown_subtitle = text
            self.border_subtitle = text

    # -- for subclasses -----------------------------------------------------------------

    def prepare(self) -> None:
        """Once, on mount, before the first draw (add table columns, ...)."""

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        raise NotImplementedError

    def draw_empty(self, project: Project | None) -> None:
        raise NotImplementedError

    # -- plumbing -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.prepare()
        self._draw()

    def _draw(self) -> None:
        started = time.perf_counter()
        if self.trace is None or self.project is None:
            self.draw_empty(self.project)
        else:
            self.draw_trace(self.trace, self.project)
        self.render_ms = (time.perf_counter() - started) * 1000

    def focus(self, scroll_visible: bool = True) -> TracePanel:
        """Focus the panel, or its first focusable child when the panel itself is not."""
        if self.can_focus:
            super().focus(scroll_visible)
            return self
        for child in self.query("*"):
            if child.focusable:
                child.focus(scroll_visible)
                break
        return self


class TableNotePanel(TracePanel):
    """A panel with a note line (its empty states) and a DataTable of `COLUMNS`."""

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()  # (key, label)
    TABLE_ID: ClassVar[str] = "trace-table"

    @property
    def table(self) -> DataTable:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    @property
    def note(self) -> Static:
        return self.query_one("#trace-note", Static)

    def prepare(self) -> None:
        for key, label in self.COLUMNS:
            self.table.add_column(label, key=key)


# a line of a TextPanel: styled text, or (prefix, text) with a hanging indent
Line = Content | tuple[str, Content]


def _laid_out(lines: Sequence[Line], width: int) -> list[Content]:
    out: list[Content] = []
    for line in lines:
        if isinstance(line, Content):
            out.append(line)
            continue
        prefix, text = line
        if width <= len(prefix) + 8:  # not laid out yet, or too narrow to indent
            out.append(Content.assemble(prefix, text))
            continue
        pieces = text.wrap(width - len(prefix)) or [Content("")]
        out.append(Content.assemble(prefix, pieces[0]))
        out += [Content.assemble(" " * len(prefix), piece) for piece in pieces[1:]]
    return out


def looks(value: object) -> object:
    """What a cell or line looks like on screen, comparable: its text and its styles
    (Textual's `Content` compares equal on its text alone)."""
    if isinstance(value, Content):
        return (value.plain, tuple(value.spans))
    if isinstance(value, tuple):
        return tuple(looks(part) for part in value)
    if isinstance(value, Text):
        return (value.plain, tuple(value.spans), value.style)
    return value


def update_static(static: Static, content: str | Content | Text) -> None:
    """`static.update(content)`, unless it already shows that: an update lays the whole
    screen out again."""
    shown = looks(content)
    if getattr(static, "_looks", None) != shown:
        static._looks = shown  # type: ignore[attr-defined]
        static.update(content)


class TextPanel(TracePanel, can_focus=True):
    """A panel that is one scrollable, focusable block of styled text (`#trace-body`)."""

    # the lines last shown, and the width they were wrapped at (re-wrapped on a resize)
    _lines: Sequence[Line] = ()
    _wrapped_at = 0

    BINDINGS: ClassVar[list[BindingType]] = list(ScrollableContainer.BINDINGS)

    DEFAULT_CSS = """
    TextPanel {
        overflow-y: auto;
        overflow-x: hidden;
    }
    TextPanel > #trace-body {
        width: 1fr;
        height: auto;
    }
    """

    def compose(self):
        yield Static(id="trace-body", markup=False)

    @property
    def body(self) -> Static:
        return self.query_one("#trace-body", Static)

    def set_body(self, lines: Sequence[Line]) -> None:
        """Show `lines`; a `(prefix, text)` line wraps under its text, not its prefix."""
        self._lines = list(lines)
        self._wrapped_at = self._text_width()
        update_static(self.body, Content("\n").join(_laid_out(self._lines, self._wrapped_at)))

    def _text_width(self) -> int:
        return self.scrollable_content_region.width

    def on_resize(self) -> None:
        if self._lines and self._text_width() != self._wrapped_at:
            self.set_body(self._lines)

    def draw_empty(self, project: Project | None) -> None:
        self.set_subtitle("")
        self.set_body([Content.styled(NO_TURN, "$text-muted")])


__all__ = ["NO_TURN", "FlowChosen", "TextPanel", "TracePanel"]
