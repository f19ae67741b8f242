"""`FlowChart`: paints a laid-out `Chart` (flow_layout.py) in a scrollable view, with a
cursor on one step. Arrows move the cursor from step to step, shift+arrows pan, ctrl+e
switches between compact boxes and full labels (the keys live in `tui/keys.py`). A click
puts the cursor on a step; Enter, or a click on the step under the cursor, chooses it."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.tui import keys
from workbench.tui.widgets.flow_layout import Chart

PAN = 4  # columns (half as many rows) a shift+arrow moves the view
ROLES = (
    "box",
    "text",
    "current",
    "visited",
    "untested",
    "edge",
    "taken",
    "label",
    "taken-label",
    "end",
    "loop",
    "start",
    "cursor",
)


class FlowChart(ScrollView, can_focus=True):
    """A flow chart; `chart` is set with `show`, the cursor is a node key."""

    BINDINGS: ClassVar[list[BindingType]] = keys.bindings(keys.CHART)
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"flow-chart--{role}" for role in ROLES}

    DEFAULT_CSS = """
    FlowChart {
        height: 1fr;
        scrollbar-size: 1 1;
    }
    FlowChart > .flow-chart--box { color: $foreground-muted; }
    FlowChart > .flow-chart--text { color: $foreground; }
    FlowChart > .flow-chart--visited { color: $text-success; }
    FlowChart > .flow-chart--untested { color: $foreground-muted; text-style: dim; }
    FlowChart > .flow-chart--current { color: $text-accent; text-style: bold; }
    FlowChart > .flow-chart--edge { color: $foreground-muted; }
    FlowChart > .flow-chart--taken { color: $text-success; text-style: bold; }
    FlowChart > .flow-chart--label { color: $foreground-muted; text-style: italic; }
    FlowChart > .flow-chart--taken-label { color: $text-success; text-style: italic; }
    FlowChart > .flow-chart--end { color: $foreground; text-style: bold; }
    FlowChart > .flow-chart--loop { color: $text-warning; }
    FlowChart > .flow-chart--start { color: $foreground; text-style: bold; }
    FlowChart > .flow-chart--cursor { text-style: reverse; }
    FlowChart:blur > .flow-chart--cursor { text-style: underline; }
    """

    class Highlighted(Message):
        """The cursor moved to the node `key` (None: the chart is empty)."""

        def __init__(self, chart: FlowChart, key: str | None) -> None:
            super().__init__()
            self.chart = chart
            self.key = key

    class Chosen(Message):
        """Enter, or a click on the node under the cursor: `key`."""

        def __init__(self, chart: FlowChart, key: str) -> None:
            super().__init__()
            self.chart = chart
            self.key = key

    class ZoomToggled(Message):
        """ctrl+e: the user wants the other zoom."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: Chart | None = None
        self.cursor: str | None = None
        self._styles: dict[str, Style] = {}

    # -- content ------------------------------------------------------------------------

    def show(self, chart: Chart, cursor: str | None = None) -> None:
        """Draw `chart`; the cursor stays on its node if the chart still has it, else goes
        to `cursor` (or the first step)."""
        self.chart = chart
        self.virtual_size = Size(chart.width, chart.height)
        selectable = chart.selectable()
        if self.cursor not in selectable:
            self.cursor = cursor if cursor in selectable else next(iter(selectable), None)
        self._styles = {}
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor))

    def move_to(self, key: str | None, *, center: bool = False) -> None:
        """Put the cursor on `key` and scroll it into view."""
        if self.chart is None or key not in self.chart.nodes:
            return
        self.cursor = key
        node = self.chart.nodes[key]
        region = Region(node.x, node.y, node.width, node.height)
        self.scroll_to_region(region.grow((1, 2, 1, 2)), animate=False, center=center, force=True)
        self.refresh()
        self.post_message(self.Highlighted(self, key))

    # -- painting -----------------------------------------------------------------------

    def _style(self, role: str) -> Style:
        style = self._styles.get(role)
        if style is None:
            style = self.get_component_rich_style(f"flow-chart--{role}", partial=True)
            self._styles[role] = style
        return style

    def notify_style_update(self) -> None:
        self._styles = {}  # the theme changed
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        chart = self.chart
        row = chart.rows[y + scroll_y] if chart and 0 <= y + scroll_y < chart.height else []
        mixed: dict[tuple[str, bool], Style] = {}
        segments: list[Segment] = []
        run, run_style = "", None
        for cell in row[scroll_x : scroll_x + width]:
            on_cursor = cell.owner is not None and cell.owner == self.cursor
            style = mixed.get((cell.role, on_cursor))
            if style is None:
                style = base + self._style(cell.role) if cell.role else base
                style = style + self._style("cursor") if on_cursor else style
                mixed[(cell.role, on_cursor)] = style
            if style != run_style and run:
                segments.append(Segment(run, run_style))
                run = ""
            run += cell.char
            run_style = style
        if run:
            segments.append(Segment(run, run_style))
        return Strip(segments).extend_cell_length(width, base)

    # -- keys and mouse -----------------------------------------------------------------

    def action_cursor(self, direction: str) -> None:
        """Move to the nearest step in that direction: up/down by rank, left/right in
        the same rank."""
        chart = self.chart
        if chart is None or self.cursor is None:
            return
        here = chart.nodes[self.cursor]
        steps = [chart.nodes[k] for k in chart.selectable()]
        if direction in ("left", "right"):
            same = [n for n in steps if n.rank == here.rank]
            same.sort(key=lambda n: n.x)
            at = same.index(here) + (1 if direction == "right" else -1)
            if 0 <= at < len(same):
                self.move_to(same[at].key)
            return
        if direction == "down":
            ranks = sorted({n.rank for n in steps if n.rank > here.rank})
        else:
            ranks = sorted({n.rank for n in steps if n.rank < here.rank}, reverse=True)
        if ranks:
            near = [n for n in steps if n.rank == ranks[0]]
            best = min(near, key=lambda n: abs(n.center - here.center))
            self.move_to(best.key)

    def action_pan(self, dx: int, dy: int) -> None:
        self.scroll_to(self.scroll_x + dx * PAN, self.scroll_y + dy * PAN // 2, animate=False)

    def action_choose(self) -> None:
        if self.cursor is not None:
            self.post_message(self.Chosen(self, self.cursor))

    def action_zoom(self) -> None:
        self.post_message(self.ZoomToggled())

    def on_click(self, event: events.Click) -> None:
        if self.chart is None:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        scroll = self.scroll_offset
        key = self.chart.owner_at(offset.x + scroll.x, offset.y + scroll.y)
        if key is not None and key == self.cursor:
            self.post_message(self.Chosen(self, key))  # a second click: as Enter
        elif key is not None:
            self.move_to(key)


__all__ = ["FlowChart"]
