"""What a test run reached of the project: per flow its steps, branches, `if` conditions,
collects and rejections; the responses uttered (and those of the domain never uttered);
the patterns that ran.

Pure: `measure(project, conversations)` reads the turn traces of each test case, nothing
else. Steps come from the way each run of a flow went (`trace/flow_path.py`): the steps
the executor stopped at are known from the logged stacks; the steps it passed between
two of them count only where one way alone leads there, so the figures never claim a
step no run can be shown to have passed. A branch counts as taken when its link was
followed; where several branches of one step lead to the same step, following that link
is not credited to any of them (which condition held cannot be told). An `if` is seen
false when a later branch of its step was taken, true when its own was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.calm.names import ACTION_RUN_SLOT_REJECTIONS
from workbench.calm.values import JSONObject, JSONValue
from workbench.project.flow_links import step_links
from workbench.project.model import ConditionalNext, Flow, Project, Step
from workbench.trace.flow_path import flow_runs
from workbench.trace.turn import TurnTrace

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Count:
    covered: int
    total: int

    @property
    def percent(self) -> float | None:
        """None when there is nothing to cover."""
        return round(100 * self.covered / self.total, 1) if self.total else None

    def __add__(self, other: Count) -> Count:
        return Count(self.covered + other.covered, self.total + other.total)

    def as_dict(self) -> JSONObject:
        return {"covered": self.covered, "total": self.total, "percent": self.percent}


NONE = Count(0, 0)


@dataclass(frozen=True)
class BranchCoverage:
    """One way out of a conditional `next`: `condition` None is the `else` (or, where
    the step has none, the end of the flow when no condition holds)."""

    step: str
    condition: str | None
    target: str
    taken: bool

    def as_dict(self) -> JSONObject:
        return {
            "step": self.step,
            "condition": self.condition,
            "target": self.target,
            "taken": self.taken,
        }


@dataclass(frozen=True)
class ConditionCoverage:
    step: str
    condition: str
    seen_true: bool
    seen_false: bool

    def as_dict(self) -> JSONObject:
        return {
            "step": self.step,
            "condition": self.condition,
            "true": self.seen_true,
            "false": self.seen_false,
        }


@dataclass(frozen=True)
class RejectionCoverage:
    """A collect's rejection; `fired` when the slot was refused with its response."""

    step: str
    slot: str
    condition: str
    utter: str | None
    fired: bool

    def as_dict(self) -> JSONObject:
        return {
            "step": self.step,
            "slot": self.slot,
            "condition": self.condition,
            "utter": self.utter,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class FlowCoverage:
    flow_id: str
    file: str
    runs: int
    steps: tuple[Step, ...]
    reached: frozenset[str]
    branches: tuple[BranchCoverage, ...]
    conditions: tuple[ConditionCoverage, ...]
    rejections: tuple[RejectionCoverage, ...]

    @property
    def step_count(self) -> Count:
        return Count(sum(s.id in self.reached for s in self.steps), len(self.steps))

    @property
    def branch_count(self) -> Count:
        return Count(sum(b.taken for b in self.branches), len(self.branches))

    @property
    def condition_count(self) -> Count:
        """Each `if` has two outcomes to see: true and false."""
        seen = sum(c.seen_true + c.seen_false for c in self.conditions)
        return Count(seen, 2 * len(self.conditions))

    @property
    def collect_count(self) -> Count:
        collects = [s for s in self.steps if s.kind == "collect"]
        return Count(sum(s.id in self.reached for s in collects), len(collects))

    @property
    def rejection_count(self) -> Count:
        return Count(sum(r.fired for r in self.rejections), len(self.rejections))

    def counts(self) -> dict[str, Count]:
        return {
            "steps": self.step_count,
            "branches": self.branch_count,
            "conditions": self.condition_count,
            "collects": self.collect_count,
            "rejections": self.rejection_count,
        }

    def as_dict(self) -> JSONObject:
        return {
            "file": self.file,
            "runs": self.runs,
            "totals": {name: count.as_dict() for name, count in self.counts().items()},
            "steps": [
                {"id": s.id, "kind": s.kind, "reached": s.id in self.reached} for s in self.steps
            ],
            "branches": [b.as_dict() for b in self.branches],
            "conditions": [c.as_dict() for c in self.conditions],
            "rejections": [r.as_dict() for r in self.rejections],
        }


@dataclass(frozen=True)
class Coverage:
    """What a test run of `cases` test cases reached: the user flows (in file order),
    the responses uttered (name → times; defaults included), the domain's own responses,
    and how often each pattern ran."""

    project: str
    cases: int
    flows: tuple[FlowCoverage, ...]
    uttered: dict[str, int]
    responses: tuple[str, ...]
    patterns: dict[str, int]

    def flow(self, flow_id: str) -> FlowCoverage | None:
        return next((f for f in self.flows if f.flow_id == flow_id), None)

    @property
    def never_uttered(self) -> tuple[str, ...]:
        return tuple(r for r in self.responses if r not in self.uttered)

    def totals(self) -> dict[str, Count]:
        """The project's figures: the flows' added up, then responses and patterns."""
        totals: dict[str, Count] = {}
        for flow in self.flows:
            for name, count in flow.counts().items():
                totals[name] = totals.get(name, NONE) + count
        if not self.flows:
            totals = dict.fromkeys(
                ("steps", "branches", "conditions", "collects", "rejections"), NONE
            )
        totals["responses"] = Count(
            len(self.responses) - len(self.never_uttered), len(self.responses)
        )
        totals["patterns"] = Count(sum(n > 0 for n in self.patterns.values()), len(self.patterns))
        return totals

    def as_dict(self) -> JSONObject:
        flows: JSONObject = {f.flow_id: f.as_dict() for f in self.flows}
        uttered: JSONObject = dict(sorted(self.uttered.items()))
        patterns: JSONObject = dict(sorted(self.patterns.items()))
        never: list[JSONValue] = list(self.never_uttered)
        return {
            "version": FORMAT_VERSION,
            "project": self.project,
            "cases": self.cases,
            "totals": {name: count.as_dict() for name, count in self.totals().items()},
            "flows": flows,
            "responses": {"uttered": uttered, "never": never},
            "patterns": patterns,
        }


def measure(project: Project, conversations: Iterable[Sequence[TurnTrace]]) -> Coverage:
    """The coverage of the test cases whose turns are `conversations` (one sequence of
    traces per case, oldest first). Frame ids repeat from case to case (each session
    is seeded alike), so every case is read on its own."""
    cases = [list(turns) for turns in conversations]
    user_flows = [f for f in project.flows.values() if not f.is_pattern]
    uttered: Counter[str] = Counter()
    patterns: Counter[str] = Counter()
    fired: set[tuple[str, str, int]] = set()
    for turns in cases:
        for trace in turns:
            uttered.update(m.response for m in trace.bot_messages if m.response)
            patterns.update(
                e.flow_id
                for e in trace.events
                if e.type == "flow_started" and e.flow_id and _is_pattern(project, e.flow_id)
            )
            fired |= _fired_rejections(project, trace)
    flows = tuple(_flow_coverage(flow, cases, fired) for flow in user_flows)
    own = tuple(sorted(n for n, r in project.domain.responses.items() if not r.is_default))
    all_patterns = {f.id: patterns.get(f.id, 0) for f in project.flows.values() if f.is_pattern}
    return Coverage(
        project.root.name, len(cases), flows, dict(uttered), own, dict(sorted(all_patterns.items()))
    )


def _is_pattern(project: Project, flow_id: str) -> bool:
    flow = project.flow(flow_id)
    return flow is not None and flow.is_pattern


def _flow_coverage(
    flow: Flow, cases: list[list[TurnTrace]], fired: set[tuple[str, str, int]]
) -> FlowCoverage:
    reached: set[str] = set()
    taken: set[tuple[str, str]] = set()
    runs = 0
    for turns in cases:
        for path in flow_runs(flow, turns):
            runs += 1
            reached |= path.visited
            taken |= path.taken
    branches: list[BranchCoverage] = []
    conditions: list[ConditionCoverage] = []
    rejections: list[RejectionCoverage] = []
    for step in flow.steps:
        if isinstance(step.next, ConditionalNext):
            b, c = _step_branches(step, taken)
            branches += b
            conditions += c
        rejections += [
            RejectionCoverage(
                step.id,
                step.collect or "",
                rejection.condition,
                rejection.utter,
                (flow.id, step.id, index) in fired,
            )
            for index, rejection in enumerate(step.rejections)
        ]
    return FlowCoverage(
        flow.id,
        flow.source.file,
        runs,
        flow.steps,
        frozenset(reached),
        tuple(branches),
        tuple(conditions),
        tuple(rejections),
    )


def _step_branches(
    step: Step, taken: set[tuple[str, str]]
) -> tuple[list[BranchCoverage], list[ConditionCoverage]]:
    links = step_links(step)
    targets = [target for _, target, _ in links]
    followed = [i for i, target in enumerate(targets) if (step.id, target) in taken]
    branches = [
        BranchCoverage(step.id, condition, target, i in followed and targets.count(target) == 1)
        for i, (condition, target, _) in enumerate(links)
    ]
    # an `if` before the first branch that leads where a followed link went was false
    false_before = max((targets.index(targets[i]) for i in followed), default=0)
    conditions = [
        ConditionCoverage(step.id, condition, branches[i].taken, i < false_before)
        for i, (condition, _, _) in enumerate(links)
        if condition is not None
    ]
    return branches, conditions


def _fired_rejections(project: Project, trace: TurnTrace) -> set[tuple[str, str, int]]:
    """(flow id, step id, rejection index) of each rejection that refused a slot in this
    turn: `action_run_slot_rejections` reset the slot and sent that rejection's response,
    while a collect of that slot was on the stack."""
    out: set[tuple[str, str, int]] = set()
    for run in trace.actions:
        if run.name != ACTION_RUN_SLOT_REJECTIONS:
            continue
        refused = {e.name for e in run.events if e.type == "slot" and e.value is None}
        said = {m.response for m in run.messages}
        for flow_id, step_id in _collects_on_stack(project, trace):
            step = project.flows[flow_id].step(step_id)
            if step is None or step.collect not in refused:
                continue
            silent = [i for i, r in enumerate(step.rejections) if r.utter is None]
            for index, rejection in enumerate(step.rejections):
                if rejection.utter in said or (not said and silent == [index]):
                    out.add((flow_id, step_id, index))
    return out


def _collects_on_stack(project: Project, trace: TurnTrace) -> set[tuple[str, str]]:
    """(flow id, step id) of every user flow frame the turn's stacks show at a collect."""
    stacks = [trace.stack_before, *(e.frames for e in trace.events if e.type == "stack")]
    out: set[tuple[str, str]] = set()
    for frame in (f for frames in stacks for f in frames if f.is_flow):
        flow = project.flow(frame.flow_id or "")
        step = flow.step(frame.step_id or "") if flow else None
        if flow is not None and step is not None and step.kind == "collect":
            out.add((flow.id, step.id))
    return out


__all__ = [
    "BranchCoverage",
    "ConditionCoverage",
    "Count",
    "Coverage",
    "FlowCoverage",
    "RejectionCoverage",
    "measure",
]
