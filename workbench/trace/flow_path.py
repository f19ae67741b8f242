"""The way a conversation went through a flow, read from its turn traces: the Flow
panel marks it, test coverage adds up every run.

Pure (no Textual). A trace does not list the steps a flow passed; what it has is the
dialogue stack before the turn, after each `stack` event and after the turn, the
`flow_started` events (which hold the new frame at its first step) and the
`flow_completed` / `flow_cancelled` events (which name the flow's last step). The stack
is logged whenever the executor stops at a step that runs an action (a collect that asks,
an action), so those steps are known for certain. Steps the executor passes without
stopping (a `set_slots`, a `noop`, a collect whose slot was already filled, a `call`
of a flow that ends at once) are filled in only where the flow leaves no choice: when
exactly one way leads from one known step to the next through such steps, or one alone
sets slot values the conversation's slot events show. Where two ways could have been
taken, the chart marks the known steps and no link between them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from workbench.project.flow_links import flow_links
from workbench.project.model import END_STEP, START_STEP, Flow
from workbench.trace.records import StackFrame
from workbench.trace.turn import TurnTrace

MAX_SILENT = 25  # steps passed without stopping between two known ones, at most
MAX_WAYS = 8  # ways between two known steps weighed against the slots set, at most
# turns looked back for a flow's latest run: an old turn may be packed (trace/log.py),
# and unpacking the whole of a long session on every turn would cost more than the path
LOOK_BACK = 200


@dataclass(frozen=True)
class FlowPath:
    """The latest run of a flow up to the shown turn: the steps it went through (in
    order) and the links between them known to have been followed ((source, target) step
    ids, START and END as themselves); `ended` is "completed", "cancelled" or ""."""

    steps: tuple[str, ...] = ()
    taken: frozenset[tuple[str, str]] = frozenset()
    ended: str = ""

    @property
    def visited(self) -> frozenset[str]:
        return frozenset(self.steps)


def _mentions(flow_id: str, trace: TurnTrace) -> bool:
    return any(f.flow_id == flow_id for f in trace.stack_before) or any(
        event.flow_id == flow_id or any(f.flow_id == flow_id for f in event.frames)
        for event in trace.events
        if event.type in ("stack", "flow_started", "flow_completed", "flow_cancelled")
    )


def latest_run_turns(
    flow_id: str, history: Sequence[TurnTrace], upto: int, look_back: int = LOOK_BACK
) -> list[TurnTrace]:
    """The turns `flow_path` needs for the latest run of `flow_id` up to turn `upto` of
    `history` (a conversation's turns, by index): back to the turn the run started in,
    at most `look_back` turns; none when the flow did not run in them."""
    turns: list[TurnTrace] = []
    seen = False
    for index in range(min(upto, len(history) - 1), max(-1, upto - look_back), -1):
        trace = history[index]
        turns.append(trace)
        seen = seen or _mentions(flow_id, trace)
        if seen and not any(f.flow_id == flow_id for f in trace.stack_before):
            break  # the run started in this turn
    return list(reversed(turns)) if seen else []


def _states(flow_id: str, traces: Sequence[TurnTrace]) -> list[tuple[str, str]]:
    """(frame id, step id) of every frame of `flow_id` in every stack the traces show,
    in order; ("", "completed:<step>") / ("", "cancelled:<step>") where the flow ended."""
    out: list[tuple[str, str]] = []

    def stack(frames: Sequence[StackFrame]) -> None:
        for frame in frames:
            if frame.flow_id == flow_id and frame.step_id:
                out.append((frame.frame_id, frame.step_id))

    for trace in traces:
        stack(trace.stack_before)
        for event in trace.events:
            if event.type == "stack":
                stack(event.frames)
            elif event.type == "flow_started" and event.flow_id == flow_id:
                # a run that starts and ends between two logged stacks (a called flow
                # of `set_slots` steps) is seen only here; its metadata is its frame
                frame_id, step = event.metadata.get("frame_id"), event.metadata.get("step_id")
                if frame_id and step:
                    out += [(str(frame_id), START_STEP), (str(frame_id), str(step))]
            elif event.type in ("flow_completed", "flow_cancelled") and event.flow_id == flow_id:
                out.append(("", f"{event.type.removeprefix('flow_')}:{event.step_id or ''}"))
        stack(trace.stack_after)
    return out


def flow_path(flow: Flow, traces: Sequence[TurnTrace]) -> FlowPath:
    """The path of the latest run of `flow` in `traces` (the conversation up to the
    shown turn, oldest first)."""
    states = _states(flow.id, traces)
    runs = [frame_id for frame_id, _ in states if frame_id]
    return _run_path(flow, states, runs[-1], _slots_set(traces)) if runs else FlowPath()


def flow_runs(flow: Flow, traces: Sequence[TurnTrace]) -> list[FlowPath]:
    """The path of every run of `flow` in `traces` (one conversation, oldest first),
    in the order the runs were first seen."""
    states = _states(flow.id, traces)
    runs = dict.fromkeys(frame_id for frame_id, _ in states if frame_id)
    slots_set = _slots_set(traces)
    return [_run_path(flow, states, run, slots_set) for run in runs]


def _slots_set(traces: Sequence[TurnTrace]) -> frozenset[tuple[str, str]]:
    """(slot, value as JSON) of every slot event in `traces`: what tells apart two ways
    that differ only in the `set_slots` steps on them."""
    return frozenset(
        (event.name or "", json.dumps(event.value, sort_keys=True, default=str))
        for trace in traces
        for event in trace.events
        if event.type == "slot"
    )


def _run_path(
    flow: Flow, states: list[tuple[str, str]], run: str, slots_set: frozenset[tuple[str, str]]
) -> FlowPath:
    """The path of the run in frame `run`: its known steps, then how it ended (the first
    end of the flow after the frame was last seen)."""
    last = max(i for i, (frame_id, _) in enumerate(states) if frame_id == run)
    known: list[str] = []
    for frame_id, step in states[: last + 1]:
        real = step == START_STEP or flow.step(step) is not None
        if frame_id == run and real and (not known or known[-1] != step):
            known.append(step)
    ended = ""
    for frame_id, marker in states[last + 1 :]:
        if not frame_id:
            ended, _, step = marker.partition(":")
            if flow.step(step) is not None and (not known or known[-1] != step):
                known.append(step)
            if ended == "completed":
                known.append(END_STEP)
            break
    return _fill_in(flow, known, ended, slots_set)


def _fill_in(
    flow: Flow, known: list[str], ended: str, slots_set: frozenset[tuple[str, str]]
) -> FlowPath:
    """Known steps joined by the one way between each two, where there is only one."""
    nexts: dict[str, list[str]] = {}
    for source, _, target, _ in flow_links(flow):
        nexts.setdefault(source, []).append(target)
    steps: list[str] = []
    taken: set[tuple[str, str]] = set()
    for index, step in enumerate(known):
        if step not in (START_STEP, END_STEP):
            steps.append(step)
        if index + 1 == len(known):
            break
        way = _only_way(flow, nexts, step, known[index + 1], slots_set)
        if way is None:
            continue
        steps += way[1:-1]
        taken.update(pairwise(way))
    return FlowPath(tuple(steps), frozenset(taken), ended)


def _only_way(
    flow: Flow,
    nexts: dict[str, list[str]],
    source: str,
    target: str,
    slots_set: frozenset[tuple[str, str]] = frozenset(),
) -> list[str] | None:
    """The one path from `source` to `target` through steps that run no action, or None
    when there is none or more than one; of several, the one whose `set_slots` steps
    alone set values the conversation shows (a branch that sets a flag either way)."""
    found: list[list[str]] = []
    stack: list[list[str]] = [[source]]
    while stack and len(found) < MAX_WAYS:
        path = stack.pop()
        for following in nexts.get(path[-1], []):
            if following == target:
                found.append([*path, following])
                continue
            step = flow.step(following)
            silent = step is not None and step.kind != "action"
            if silent and following not in path and len(path) <= MAX_SILENT:
                stack.append([*path, following])
    if len(found) > 1:
        found = [way for way in found if _sets_seen(flow, way, slots_set)]
    return found[0] if len(found) == 1 else None


def _sets_seen(flow: Flow, way: list[str], slots_set: frozenset[tuple[str, str]]) -> bool:
    for step_id in way[1:-1]:
        step = flow.step(step_id)
        for name, value in step.slot_values if step is not None else ():
            if (name, json.dumps(value, sort_keys=True, default=str)) not in slots_set:
                return False
    return True


__all__ = ["FlowPath", "flow_path", "flow_runs", "latest_run_turns"]
