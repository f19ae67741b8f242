"""Where the trace panels live: tabs at the usual sizes; on a wide terminal the slots
and the stack get a column of their own beside the tabs, so the three things read after
every turn (commands, slots, stack) are visible at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from workbench.project.model import Project
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.agents_panel import AgentsPanel
from workbench.tui.widgets.base import TracePanel
from workbench.tui.widgets.flow_panel import FlowPanel
from workbench.tui.widgets.history_panel import HistoryPanel
from workbench.tui.widgets.knowledge_panel import KnowledgePanel
from workbench.tui.widgets.panels import PANELS

WIDE_AT = 150  # terminal columns from which slots and stack are pinned beside the tabs
PINNED = ("SlotsPanel", "StackPanel")
FIRST = ("CommandsPanel", "SlotsPanel", "StackPanel")  # tab order: these first
# the tabs in the bar only for projects (or turns) that use them, or once asked for
OPTIONAL: tuple[type[AgentsPanel] | type[KnowledgePanel], ...] = (AgentsPanel, KnowledgePanel)


def panel_id(cls: type) -> str:
    """`CommandsPanel` -> `commands`."""
    return cls.__name__.removesuffix("Panel").lower()


def ordered_panels() -> list[type[TracePanel]]:
    first = [c for name in FIRST for c in PANELS if c.__name__ == name]
    return first + [c for c in PANELS if c not in first]


class PanelTabs(TabbedContent):
    ALLOW_MAXIMIZE = True


class PanelBox(Vertical):
    """Holds a pinned panel (the panel draws its own border and title)."""

    ALLOW_MAXIMIZE = True


class PanelArea(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.wide = False
        self.trace: TurnTrace | None = None
        self.project: Project | None = None
        self.note = ""
        self.history: Sequence[TurnTrace] = ()
        # the conversation's sender id, for the History panel's tracker: the screen that
        # owns the conversation sets it (a restart makes a new one)
        self.sender_id: Callable[[], str | None] = lambda: None
        self.failed: set[str] = set()
        self.revealed: set[str] = set()  # optional tabs the user asked for (the palette)

    def compose(self) -> ComposeResult:
        ordered = ordered_panels()
        pinned = [c for c in ordered if self.wide and c.__name__ in PINNED]
        tabbed = [c for c in ordered if c not in pinned]
        tabs = PanelTabs(id="panel-tabs")
        with Horizontal(id="panel-row"):
            with tabs:
                for cls in tabbed:
                    with TabPane(cls.panel_title, id=f"tab-{panel_id(cls)}"):
                        yield cls(id=f"panel-{panel_id(cls)}")
            if pinned:
                with Vertical(id="pinned"):
                    for cls in pinned:
                        with PanelBox(classes="pinned-box"):
                            yield cls(id=f"panel-{panel_id(cls)}")

    @property
    def panels(self) -> list[Widget]:
        return [w for w in self.query("*") if isinstance(w, PANELS)]

    def show(
        self,
        trace: TurnTrace | None,
        project: Project,
        note: str = "",
        history: Sequence[TurnTrace] = (),
    ) -> None:
        """Every panel shows `trace` (None: the empty state) against `project`; `note`
        says when that is not the project the turn was made with; `history` is the
        conversation's turns (the Flow panel marks the way a flow went). A panel that
        fails is reported once and does not stop the others."""
        self.trace, self.project, self.note, self.history = trace, project, note, history
        for flow_panel in self.query(FlowPanel):
            flow_panel.show_history(history)
        for history_panel in self.query(HistoryPanel):
            history_panel.show_conversation(history, self.sender_id())
        for panel in self.panels:
            try:
                panel.project_note = note  # type: ignore[attr-defined]
                panel.show_trace(trace, project)  # type: ignore[attr-defined]
            except Exception as exc:
                name = type(panel).__name__
                if name not in self.failed:
                    self.failed.add(name)
                    self.app.notify(
                        f"The {panel.panel_title} panel failed: {exc!r}",  # type: ignore[attr-defined]
                        severity="error",
                    )
        self._show_optional_tabs(trace, project)

    def _show_optional_tabs(self, trace: TurnTrace | None, project: Project) -> None:
        """The Calls and Docs tabs are in the bar for projects that call agents or
        tools, or answer from documents (or a turn that did), or once asked for:
        elsewhere they would only crowd a narrow bar. They are the last tabs, so showing
        or hiding them moves no other."""
        found = self.query(PanelTabs)
        if not found:
            return
        tabs = found.first()
        for cls in OPTIONAL:
            pane = f"tab-{panel_id(cls)}"
            if not tabs.query(f"#{pane}"):
                continue
            hidden = not (cls.wanted(trace, project) or pane in self.revealed)
            tab = tabs.get_tab(pane)
            if tab.has_class("-hidden") == hidden:
                continue
            tab.set_class(hidden, "-hidden")
            if hidden and tabs.active == pane:
                tabs.active = f"tab-{panel_id(ordered_panels()[0])}"

    def reveal(self, name: str) -> None:
        """Bring the tab of the panel `name` (`knowledge`, `agents`, ...) forward and
        focus it."""
        pane = f"tab-{name}"
        tabs = self.query_one(PanelTabs)
        if tabs.query(f"#{pane}"):
            self.revealed.add(pane)
            tabs.get_tab(pane).remove_class("-hidden")
        self._activate(pane, f"#panel-{name}")

    def _activate(self, pane: str, panel: str, tries: int = 25) -> None:
        tabs = self.query_one(PanelTabs)
        if tabs.query(f"#{pane}"):
            # the bar scrolls to its active tab only once a tab that was hidden has its
            # place in the bar (after a modal screen such as the palette, that takes a while)
            if tabs.get_tab(pane).region.width == 0 and tries:
                self.set_timer(0.02, partial(self._activate, pane, panel, tries - 1))
                return
            tabs.active = pane
        self.query_one(panel).focus()

    async def set_wide(self, wide: bool) -> None:
        if wide == self.wide:
            return
        self.wide = wide
        active = self.query_one(PanelTabs).active
        await self.recompose()
        tabs = self.query_one(PanelTabs)
        if active and tabs.query(f"#{active}"):
            tabs.active = active
        if self.project is not None:
            self.show(self.trace, self.project, self.note, self.history)
