"""Loops found before they run: `next` cycles inside a flow that never ask anything, and
`call`/`link` cycles across flows.

At runtime such a loop trips the flow executor's step breaker or the per-turn action cap
(Rasa's limits, see engine/policy.py and session.py); here it is named with the steps or
flows that go round, so it can be fixed before a conversation meets it. Both checks are
linear in the number of steps (strongly connected components, then one shortest path).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from workbench.project.issues import IssueList
from workbench.project.model import END_STEP, ConditionalNext, Flow, Project, StaticNext, Step

ARROW = " → "


def cycle_issues(project: Project) -> IssueList:
    issues = IssueList()
    listens = _listening_flows(project)
    for flow in project.flows.values():
        if not flow.is_default_pattern:
            _step_cycles(flow, listens, issues)
    _flow_cycles(project, listens, issues)
    return issues


# -- inside one flow -----------------------------------------------------------------------


def _targets(step: Step) -> list[str]:
    if isinstance(step.next, StaticNext):
        return [step.next.target]
    if isinstance(step.next, ConditionalNext):
        targets = [b.target for b in step.next.branches]
        if step.next.else_target is None:
            targets.append(END_STEP)  # no branch matches: the flow ends
        return targets
    return [END_STEP]


def _step_cycles(flow: Flow, listens: set[str], issues: IssueList) -> None:
    """A cycle of steps none of which waits for the user. One with no way out is an error
    (it always trips the step breaker or the action cap); one a condition may leave is a
    warning (e.g. a retry counter an action raises)."""

    def waits(step: Step) -> bool:
        return step.kind == "collect" or (step.kind == "call" and (step.call or "") in listens)

    quiet = {step.id: step for step in flow.steps if not waits(step)}
    edges = {sid: [t for t in _targets(step) if t in quiet] for sid, step in quiet.items()}
    for component in cyclic_components(list(quiet), edges.__getitem__):
        members = set(component)
        first = min((quiet[sid] for sid in members), key=lambda step: step.source.line)
        cycle = _shortest_cycle(first.id, members, edges.__getitem__)
        if cycle is None:
            continue
        leaves = any(t not in members for sid in members for t in _targets(quiet[sid]))
        spelled = ARROW.join([*cycle, cycle[0]])
        if leaves:
            issues.warning(
                first.source.file,
                first.source.line,
                "loop",
                f"flow '{flow.id}' may loop without asking anything: {spelled}",
                "only a condition ends this loop; at runtime the step breaker (250 steps) "
                "or the action cap (1000 per turn) stops it",
            )
        else:
            issues.error(
                first.source.file,
                first.source.line,
                "loop",
                f"flow '{flow.id}' loops without asking anything: {spelled}",
                "add a collect step to the loop or point a `next` out of it",
            )


# -- across flows ----------------------------------------------------------------------------


def _listening_flows(project: Project) -> set[str]:
    """Flows that ask the user something, themselves or through a flow they call."""
    calls: dict[str, list[str]] = {}
    listening: set[str] = set()
    for flow in project.flows.values():
        if any(step.kind == "collect" for step in flow.steps):
            listening.add(flow.id)
        calls[flow.id] = [s.call for s in flow.steps if s.kind == "call" and s.call]
    callers: dict[str, list[str]] = {}
    for caller, called in calls.items():
        for target in called:
            callers.setdefault(target, []).append(caller)
    todo = list(listening)
    while todo:
        for caller in callers.get(todo.pop(), []):
            if caller not in listening:
                listening.add(caller)
                todo.append(caller)
    return listening


def _flow_cycles(project: Project, listens: set[str], issues: IssueList) -> None:
    """`call` cycles never end (Rasa resolves called flows recursively while loading);
    `link` cycles are a menu loop when some flow on them asks something, and a loop that
    runs every turn when none does."""
    flows = project.flows
    edges: dict[str, list[tuple[str, Step]]] = {}
    for flow in flows.values():
        out = []
        for step in flow.steps:
            if step.kind == "link":
                target = step.link
            elif step.kind == "call" and not step.calls_mcp_tool and step.call != flow.id:
                target = step.call  # calling itself is reported by the call check
            else:
                continue
            if target in flows:
                out.append((target, step))
        edges[flow.id] = out

    def successors(flow_id: str) -> list[str]:
        return [target for target, _ in edges.get(flow_id, [])]

    for component in cyclic_components(list(flows), successors):
        members = set(component)
        cycle = _shortest_cycle(min(component), members, successors)
        if cycle is None:
            continue
        hops = [
            next(step for target, step in edges[a] if target == b)
            for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True)
        ]
        kinds = {step.kind for step in hops}
        quiet = not (members & listens)
        if "call" not in kinds and not quiet:
            continue
        words = " and ".join(sorted(kinds))
        spelled = ARROW.join([*cycle, cycle[0]])
        first = hops[0]
        if "call" in kinds:
            message = f"flows {words} each other in a cycle: {spelled}"
            hint = "a called flow must not lead back to its caller"
        else:
            message = f"flows link each other in a cycle without asking anything: {spelled}"
            hint = "add a collect step to one of them, or end the cycle"
        issues.error(first.source.file, first.source.line, "loop", message, hint)


# -- graphs -----------------------------------------------------------------------------------


def cyclic_components(
    nodes: list[str], successors: Callable[[str], Iterable[str]]
) -> list[list[str]]:
    """Strongly connected components that hold a cycle (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors(node):
                    found.append(component[::-1])
    return found


def _shortest_cycle(
    start: str, members: set[str], successors: Callable[[str], Iterable[str]]
) -> list[str] | None:
    """The nodes of a shortest cycle through `start` within `members` (breadth first)."""
    parent: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for child in successors(node):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            if child not in seen:
                seen.add(child)
                parent[child] = node
                queue.append(child)
    return None
