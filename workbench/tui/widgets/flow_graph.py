"""A flow as an outline: its steps as nodes, their `next` links as child nodes.

`flow_outline` is pure (no Textual) so it is tested on its own; `FlowPanel` turns the
nodes into a `Tree`. The loader flattens nested `then`/`else` step lists into the flow's
step tuple; the raw YAML each `Step` keeps tells which steps were written inside which
branch, so the outline nests them again under their `if`/`else` node. A link that merely
falls through to the next step of the same list is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.project.model import END_STEP, ConditionalNext, Flow, StaticNext, Step
from workbench.trace.text import truncate

ARROW = "→"


@dataclass(frozen=True)
class OutlineNode:
    """One line of a flow outline.

    A step node has `kind` = the step kind and `step_id` set; its children are link
    nodes. A link node has `kind` "branch" (an `if`/`else` entry; `condition` None for
    the else) or "next" (a static jump) and `target` = a step id or END; a branch written
    with a nested step list has those steps as its children instead of an arrow.
    """

    label: str
    kind: str
    step_id: str | None = None
    target: str | None = None
    target_label: str | None = None
    condition: str | None = None
    current: bool = False
    explicit_id: bool = False
    description: str | None = None
    children: tuple[OutlineNode, ...] = ()

    @property
    def is_step(self) -> bool:
        return self.step_id is not None

    def walk(self):
        """This node and all nodes below it, in display order."""
        yield self
        for child in self.children:
            yield from child.walk()


def _value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def step_label(step: Step) -> str:
    """`collect order_id`, `action utter_x`, `set_slots a=1, b=null`, `link x`, `call y`,
    `noop`."""
    if step.kind == "set_slots":
        pairs = ", ".join(f"{name}={_value(value)}" for name, value in step.slot_values)
        return truncate(f"set_slots {pairs}".rstrip(), 60)
    if step.kind == "noop":
        return "noop"
    return f"{step.kind} {step.target or '?'}"


def target_label(flow: Flow, target: str) -> str:
    """How a link names where it goes: END, an explicit step id, or the step's label
    (generated ids like `check_order_status_2_utter_x` are noise to a reader)."""
    if target == END_STEP:
        return END_STEP
    step = flow.step(target)
    if step is None:
        return f"{target} (missing)"
    return step.id if step.explicit_id else step_label(step)


def nested_lists(flow: Flow) -> dict[tuple[str, int], list[Step]]:
    """(step id, branch index) -> the steps written inside that `then`/`else` list, in
    order, recovered from each step's raw YAML. Branches that name a step id are absent."""
    by_raw = {id(step.raw): step for step in flow.steps if step.raw}
    nested: dict[tuple[str, int], list[Step]] = {}
    for step in flow.steps:
        raw_next = step.raw.get("next") if isinstance(step.raw, dict) else None
        if not isinstance(step.next, ConditionalNext) or not isinstance(raw_next, list):
            continue
        entries = [e for e in raw_next if isinstance(e, dict) and ({"if", "else"} & set(e))]
        if len(entries) != len(step.next.branches):
            continue  # the YAML had broken entries: do not guess
        for index, entry in enumerate(entries):
            body = entry.get("else") if "else" in entry else entry.get("then")
            if not isinstance(body, list):
                continue
            members = [by_raw.get(id(item)) for item in body if isinstance(item, dict)]
            steps = [m for m in members if m is not None]
            if steps and steps[0].id == step.next.branches[index].target:
                nested[(step.id, index)] = steps
    return nested


def flow_outline(flow: Flow, current_step: str | None = None) -> list[OutlineNode]:
    """The flow's top-level steps in order, nested branches below them; the step whose
    id is `current_step` is marked current."""
    nested = nested_lists(flow)
    inside = {step.id for steps in nested.values() for step in steps}
    top = [step for step in flow.steps if step.id not in inside]
    seen: set[str] = set()

    def sequence(steps: list[Step], is_root: bool) -> list[OutlineNode]:
        nodes = []
        for index, step in enumerate(steps):
            if step.id in seen:  # a malformed flow must not recurse forever
                continue
            seen.add(step.id)
            following = steps[index + 1] if index + 1 < len(steps) else None
            nodes.append(
                OutlineNode(
                    step_label(step),
                    step.kind,
                    step_id=step.id,
                    current=current_step is not None and step.id == current_step,
                    explicit_id=step.explicit_id,
                    description=step.description,
                    children=links(step, following, is_root),
                )
            )
        return nodes

    def links(step: Step, following: Step | None, is_root: bool) -> tuple[OutlineNode, ...]:
        nxt = step.next
        if isinstance(nxt, ConditionalNext):
            nodes = []
            for index, branch in enumerate(nxt.branches):
                head = "else" if branch.condition is None else f"if {branch.condition}"
                where = target_label(flow, branch.target)
                body = nested.get((step.id, index))
                children = tuple(sequence(body, False)) if body else ()
                nodes.append(
                    OutlineNode(
                        head if children else f"{head} {ARROW} {where}",
                        "branch",
                        target=branch.target,
                        target_label=where,
                        condition=branch.condition,
                        children=children,
                    )
                )
            return tuple(nodes)
        if isinstance(nxt, StaticNext):
            if following is not None and nxt.target == following.id:
                return ()
            if following is None and is_root and nxt.target == END_STEP:
                return ()
            where = target_label(flow, nxt.target)
            return (OutlineNode(f"{ARROW} {where}", "next", target=nxt.target, target_label=where),)
        return ()

    return sequence(top, True)


__all__ = ["OutlineNode", "flow_outline", "nested_lists", "step_label", "target_label"]
