"""Edit and continue: a reloaded project applied to a running conversation.

Rasa ends a flow whose definition changed while it ran (the code-change pattern). While a
flow is being written that is rarely what its author wants, so by default the conversation
goes on at the step of the edited flow that matches the one it was at. Generated step ids
hold the step's position (`transfer_money_2_collect_amount`), so a step is matched by its
explicit `id` first, else by kind and target (the collected slot, the action, the linked or
called flow) nearest to its old position. A frame with no matching step leaves the flow to
the code-change pattern, as in Rasa; so does `code_change: rasa` in workbench.yml."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from workbench.engine.tracker import StepVisit, Tracker
from workbench.project.model import END_STEP, NEXT_PREFIX, START_STEP, Flow, Project, Step


@dataclass(frozen=True)
class FlowEdit:
    """What became of one running flow that the reload changed."""

    flow_id: str
    step: str  # the step it was at, as a reader names it ("collect amount")
    continued: bool  # False: the code-change pattern handles it at the next message

    def message(self) -> str:
        if self.continued:
            return f"flow {self.flow_id} changed; continuing at {self.step}"
        return (
            f"flow {self.flow_id} changed and {self.step} is gone; "
            "the code-change pattern restarts it at the next message"
        )


def describe(step: Step | None, step_id: str) -> str:
    if step is None:
        return "the start" if step_id == START_STEP else f"step {step_id}"
    target = step.target
    return f"{step.kind.replace('_', ' ')} {target}" if target else step.kind.replace("_", " ")


def _signature(step: Step) -> tuple[str, ...]:
    if step.kind == "set_slots":
        return (step.kind, *[slot for slot, _ in step.slot_values])
    return (step.kind, step.target or "")


def match_step(old: Flow, new: Flow, step_id: str) -> str | None:
    """The id in `new` of the step that `step_id` was in `old` (None: no match)."""
    if step_id in (START_STEP, END_STEP):
        return step_id
    step = old.step(step_id)
    if step is None:
        return None
    if step.explicit_id:
        same = new.step(step_id)
        return step_id if same is not None and same.explicit_id else None
    position = next(i for i, s in enumerate(old.steps) if s.id == step_id)
    wanted = _signature(step)
    candidates = [
        (abs(i - position), i, s.id)
        for i, s in enumerate(new.steps)
        if not s.explicit_id and _signature(s) == wanted
    ]
    return min(candidates)[2] if candidates else None


def _match_pointer(old: Flow, new: Flow, step_id: str) -> str | None:
    """As `match_step`, for a frame's pointer, which may be `NEXT:<id>`."""
    if step_id.startswith(NEXT_PREFIX):
        inner = step_id[len(NEXT_PREFIX) :]
        if inner == END_STEP:
            return step_id
        matched = match_step(old, new, inner)
        return None if matched is None else NEXT_PREFIX + matched
    return match_step(old, new, step_id)


def add_new_slots(project: Project, tracker: Tracker) -> list[str]:
    """Slots the reload added exist from now on, with their initial values."""
    added = [name for name in project.domain.slots if name not in tracker.slots]
    for name in added:
        tracker.slots[name] = copy.deepcopy(project.domain.slots[name].initial_value)
    return added


def continue_edited_flows(old: Project, new: Project, tracker: Tracker) -> list[FlowEdit]:
    """Move every frame of a changed flow to its matching step; a flow whose frames all
    match is taken as the current version (no code change)."""
    edits: list[FlowEdit] = []
    for flow_id, stored_hash in list(tracker.flow_hashes.items()):
        was, now = old.flow(flow_id), new.flow(flow_id)
        frames = [f for f in tracker.stack if f.flow_id == flow_id]
        if not frames or was is None or (now is not None and now.fingerprint == stored_hash):
            continue
        where = frames[-1].step_id.removeprefix(NEXT_PREFIX)
        label = describe(was.step(where), where)
        pointers = [_match_pointer(was, now, f.step_id) if now else None for f in frames]
        if now is None or any(p is None for p in pointers):
            edits.append(FlowEdit(flow_id, label, continued=False))
            continue
        for frame, pointer in zip(frames, pointers, strict=True):
            assert pointer is not None
            frame.step_id = pointer
        tracker.visits = [_moved(visit, was, now) for visit in tracker.visits]
        tracker.flow_hashes[flow_id] = now.fingerprint
        where = frames[-1].step_id.removeprefix(NEXT_PREFIX)
        edits.append(FlowEdit(flow_id, describe(now.step(where), where), continued=True))
    # the moved pointers reach the event log with the next turn's stack change
    return edits


def _moved(visit: StepVisit, old: Flow, new: Flow) -> StepVisit:
    if visit.flow_id != old.id:
        return visit
    matched = match_step(old, new, visit.step_id)
    return visit if matched is None else StepVisit(visit.frame_id, visit.flow_id, matched)
