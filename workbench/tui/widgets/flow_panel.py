"""`FlowPanel`: the steps of the active flow (or one picked in the select) as a tree, the
step the flow waits at highlighted. Selecting a link node jumps to the step it leads to."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.widgets import Select, Static, Tree
from textual.widgets.tree import TreeNode

from workbench.calm.names import is_pattern
from workbench.project.model import END_STEP, Flow, Project
from workbench.trace.text import printable, short_step
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.base import NO_TURN, TracePanel
from workbench.tui.widgets.flow_graph import ARROW, OutlineNode, flow_outline

ACTIVE = "\0active"  # the select option that follows the active flow
ACTIVE_LABEL = "active flow"
FLOW_EVENTS = ("flow_started", "flow_resumed", "flow_completed", "flow_cancelled")


def active_flow(trace: TurnTrace) -> tuple[str | None, str | None, str]:
    """(flow id, current step id, status) of the flow to show for `trace`: the top user
    flow frame after the turn; else the last user flow an event of this turn names."""
    for frame in reversed(trace.stack_after):
        if frame.is_flow and frame.flow_id:
            return frame.flow_id, frame.step_id, f"active · {frame.kind}"
    for event in reversed(trace.events):
        flow_id = event.flow_id
        if event.type in FLOW_EVENTS and flow_id and not is_pattern(flow_id):
            verb = event.type.removeprefix("flow_")
            return str(flow_id), None, f"{verb} this turn"
    return None, None, ""


def frame_step(trace: TurnTrace | None, flow_id: str) -> str | None:
    """The step the top-most frame of `flow_id` is at after the turn, if it is on the stack."""
    if trace is None:
        return None
    for frame in reversed(trace.stack_after):
        if frame.flow_id == flow_id and frame.is_flow:
            return frame.step_id
    return None


def node_text(node: OutlineNode) -> Text:
    """The tree label of an outline node (its text comes from the flow file: shown as it
    reads, controls made visible)."""
    if not node.is_step:
        where = _shown(node.target_label or node.target or "?")
        parts: list[str | tuple[str, str]] = []
        if node.kind == "branch" and node.condition is not None:
            parts += [("if ", "dim"), (_shown(node.condition), "italic")]
        elif node.kind == "branch":
            parts.append(("else", "dim"))
        if not node.children:
            parts += [(f" {ARROW} " if parts else f"{ARROW} ", "dim")]
            parts.append((where, "bold" if where == END_STEP else ""))
        return Text.assemble(*parts)
    parts = []
    if node.current:
        parts += [("▶ ", "bold"), (_shown(node.label), "bold reverse")]
    else:
        parts.append(_shown(node.label))
    if node.explicit_id and not node.label.endswith(f" {node.step_id}"):
        parts.append((_shown(f"  #{node.step_id}"), "dim"))
    if inline_next(node):
        for child in node.children:
            where = _shown(child.target_label or child.target or "?")
            parts += [(f" {ARROW} ", "dim"), (where, "bold" if where == END_STEP else "")]
    return Text.assemble(*parts)


def _shown(text: str) -> str:
    return printable(text, multiline=False)


def inline_next(node: OutlineNode) -> bool:
    """A step whose only link is a static jump shows it on the step's line: `x → END`."""
    return node.is_step and bool(node.children) and all(c.kind == "next" for c in node.children)


class FlowPanel(TracePanel):
    """A flow's steps as a `Tree`: the active flow (top user flow frame), or the flow
    chosen in the select ("selected flow" mode; pick "active flow" to follow again)."""

    panel_title = "Flow"

    DEFAULT_CSS = """
    FlowPanel > #flow-select {
        width: 1fr;
    }
    FlowPanel > #flow-tree {
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
        self.selected: str | None = None  # None: follow the active flow
        self.shown_flow: str | None = None
        self.current_step: str | None = None
        self._flow_ids: tuple[str, ...] = ()
        self._shown_key: tuple[object, ...] | None = None
        self._step_nodes: dict[str, TreeNode[OutlineNode]] = {}

    def compose(self):
        yield Select(
            [(ACTIVE_LABEL, ACTIVE)],
            value=ACTIVE,
            allow_blank=False,
            compact=True,
            id="flow-select",
        )
        yield Static(NO_TURN, classes="panel-note", id="trace-note", markup=False)
        tree: Tree[OutlineNode] = Tree("flow", id="flow-tree")
        tree.guide_depth = 3
        tree.auto_expand = False
        yield tree

    @property
    def flow_tree(self) -> Tree[OutlineNode]:
        return self.query_one("#flow-tree", Tree)

    @property
    def flow_select(self) -> Select:
        return self.query_one("#flow-select", Select)

    # -- selection ------------------------------------------------------------------------

    def select_flow(self, flow_id: str | None) -> None:
        """Show `flow_id` whatever the stack says (None: follow the active flow again)."""
        self.selected = flow_id
        value = flow_id if flow_id in self._flow_ids else ACTIVE
        if self.is_mounted and self.flow_select.value != value:
            self.flow_select.value = value
        if self.is_mounted:
            self._draw()

    @on(Select.Changed, "#flow-select")
    def _selection_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if value != self.flow_select.value:  # stale: set_options and restores post these
            return
        selected = None if value == ACTIVE or value is Select.BLANK else str(value)
        if selected != self.selected:
            self.selected = selected
            self._draw()

    @on(Tree.NodeSelected, "#flow-tree")
    def _jump_to_target(self, event: Tree.NodeSelected) -> None:
        event.stop()
        node: OutlineNode | None = event.node.data
        if node is not None and node.target in self._step_nodes:
            self.flow_tree.move_cursor(self._step_nodes[node.target])

    # -- drawing --------------------------------------------------------------------------

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        self._draw_flow(trace, project)

    def draw_empty(self, project: Project | None) -> None:
        self._draw_flow(None, project)

    def _sync_options(self, project: Project) -> None:
        ids = tuple(sorted(f.id for f in project.user_flows))
        if ids == self._flow_ids:
            return
        self._flow_ids = ids
        select = self.flow_select
        select.set_options(
            [(ACTIVE_LABEL, ACTIVE), *((printable(i, multiline=False), i) for i in ids)]
        )
        if self.selected in ids:
            select.value = self.selected
        else:
            self.selected = None
            select.value = ACTIVE

    def _draw_flow(self, trace: TurnTrace | None, project: Project | None) -> None:
        if project is not None:
            self._sync_options(project)
        if self.selected is not None:
            flow_id, step, status = self.selected, frame_step(trace, self.selected), "selected"
        elif trace is None:
            flow_id, step, status = None, None, ""
        else:
            flow_id, step, status = active_flow(trace)
        flow = project.flow(flow_id) if project is not None and flow_id else None
        self.shown_flow, self.current_step = (flow_id if flow else None), step
        if flow is None:
            if trace is None and self.selected is None:
                note = NO_TURN
            elif flow_id is None:
                note = "no active flow (pick one above)"
            else:
                note = f"flow '{flow_id}' is not in the project"
            self._show_note(note)
            return
        self._show_tree(flow, step, status)

    def _show_note(self, text: str) -> None:
        note = self.query_one("#trace-note", Static)
        note.update(printable(text))
        note.display = True
        self.flow_tree.display = False
        self._shown_key = None
        self.border_subtitle = ""

    def _show_tree(self, flow: Flow, step: str | None, status: str) -> None:
        self.query_one("#trace-note", Static).display = False
        tree = self.flow_tree
        tree.display = True
        where = f" @ {short_step(flow.id, step)}" if step else ""
        self.border_subtitle = printable(f"{flow.id}{where}", multiline=False)
        if self.project_note:
            self.border_subtitle += f" · {self.project_note}"
        key = (flow.id, flow.fingerprint, flow.steps, step, status)
        if key == self._shown_key:
            return
        self._shown_key = key
        tree.clear()
        tree.root.set_label(
            Text.assemble((printable(flow.id, multiline=False), "bold"), (f"  {status}", "dim"))
        )
        tree.root.expand()
        self._step_nodes = {}
        lines = [0]  # every node is expanded, so display lines follow insertion order
        current_line: int | None = None

        def add(parent: TreeNode[OutlineNode], node: OutlineNode) -> None:
            nonlocal current_line
            lines[0] += 1
            if node.current:
                current_line = lines[0]
            if node.children and not inline_next(node):
                tree_node = parent.add(node_text(node), data=node, expand=True)
                for child in node.children:
                    add(tree_node, child)
            else:
                tree_node = parent.add_leaf(node_text(node), data=node)
            if node.step_id is not None:
                self._step_nodes[node.step_id] = tree_node

        for node in flow_outline(flow, step):
            add(tree.root, node)
        if current_line is not None:
            try:
                tree.move_cursor_to_line(current_line)
            except IndexError:  # pragma: no cover - lines are built from the nodes above
                pass


__all__ = ["ACTIVE", "FlowPanel", "active_flow", "frame_step", "node_text"]
