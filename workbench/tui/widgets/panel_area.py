"""Where the trace panels live: tabs at the usual sizes; on a wide terminal the slots
and the stack get a column of their own beside the tabs, so the three things read after
every turn (commands, slots, stack) are visible at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from textual import on
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
    """The trace panels. With `lazy`, only the first tab's panel (and the pinned ones)
    is mounted with the area; the panel of another tab is mounted when its tab is first
    shown (in tens of milliseconds), so that building the screen, and preparing the
    model meanwhile, are not slowed by ~50 widgets nobody may ever look at."""

    def __init__(self, *, id: str | None = None, lazy: bool = False) -> None:
        super().__init__(id=id)
        self.lazy = lazy
        # tab pane id -> the class of the panel it will hold
        self.pending: dict[str, type[TracePanel]] = {}
        # what the knowledge panels say answers a project's questions
        self.knowledge_answers: Callable[[Project], str | None] | None = None
        self._flow_selection: str | None = None  # a flow to show once the flow panel is up
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
        self.pending = {}
        with Horizontal(id="panel-row"):
            with tabs:
                for cls in tabbed:
                    pane = f"tab-{panel_id(cls)}"
                    with TabPane(cls.panel_title, id=pane):
                        if self.lazy and cls is not tabbed[0]:
                            self.pending[pane] = cls
                        else:
                            yield cls(id=f"panel-{panel_id(cls)}")
            if pinned:
                with Vertical(id="pinned"):
                    for cls in pinned:
                        with PanelBox(classes="pinned-box"):
                            yield cls(id=f"panel-{panel_id(cls)}")

    @property
    def panels(self) -> list[Widget]:
        """The panels mounted (see `pending` for the others)."""
        return [w for w in self.query("*") if isinstance(w, PANELS)]

    # -- panels mounted later --------------------------------------------------------------

    async def mount_panel(self, pane: str) -> None:
        """Mount the panel of tab pane `pane` now, if it is still to come, showing what
        the others show."""
        cls = self.pending.pop(pane, None)
        found = self.query(f"#{pane}")
        if cls is None or not found:
            return
        panel = cls(id=f"panel-{panel_id(cls)}")
        self._feed(panel)
        await found.first().mount(panel)

    async def mount_pending(self) -> None:
        """Mount every panel still to come (for a command that needs one of them)."""
        while self.pending:
            await self.mount_panel(next(iter(self.pending)))

    @on(TabbedContent.TabActivated)
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id
        if pane is not None and pane in self.pending:
            await self.mount_panel(pane)

    def select_flow(self, flow_id: str) -> None:
        """Show `flow_id` in the flow panel (once it is mounted, if it is not yet)."""
        flow_panels = self.query(FlowPanel)
        if not flow_panels:
            self._flow_selection = flow_id
        for panel in flow_panels:
            panel.select_flow(flow_id)

    def set_knowledge_answers(self, label: Callable[[Project], str | None]) -> None:
        self.knowledge_answers = label
        for panel in self.query(KnowledgePanel):
            panel.answers = label

    def _feed(self, panel: Widget) -> None:
        """Give a panel what the area shows: the turn, the project, the conversation."""
        if isinstance(panel, FlowPanel):
            panel.show_history(self.history)
            if self._flow_selection is not None:
                panel.select_flow(self._flow_selection)
                self._flow_selection = None
        if isinstance(panel, HistoryPanel):
            panel.show_conversation(self.history, self.sender_id())
        if isinstance(panel, KnowledgePanel) and self.knowledge_answers is not None:
            panel.answers = self.knowledge_answers
        if self.project is not None:
            panel.project_note = self.note  # type: ignore[attr-defined]
            panel.show_trace(self.trace, self.project)  # type: ignore[attr-defined]

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
        for panel in self.panels:
            try:
                self._feed(panel)
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
        if not self.query(panel) and tries:  # its tab was not shown before: mounting it
            self.call_later(self.mount_panel, pane)
            self.set_timer(0.02, partial(self._activate, pane, panel, tries - 1))
            return
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
