"""Stack changes shared by commands, the flow executor and built-in actions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from workbench.calm.names import (
    PATTERN_COLLECT_INFORMATION,
    PATTERN_CORRECTION,
    PATTERN_VALIDATE_SLOT,
    action_ask,
    utter_ask,
)
from workbench.calm.values import JSONObject
from workbench.engine import events as ev
from workbench.engine.stack import CALL, FLOW, INTERRUPT, LINK, REGULAR, Frame, new_frame_id
from workbench.engine.tracker import Tracker
from workbench.project.model import END_STEP, NEXT_PREFIX, Project

NEXT_END = NEXT_PREFIX + END_STEP


def push_flow(
    project: Project, tracker: Tracker, flow_id: str, frame_type: str, index: int | None = None
) -> Frame | None:
    """Push a user flow (or, for link targets, a pattern) frame."""
    flow = project.flow(flow_id)
    if flow is None:
        return None
    if flow.is_pattern:
        frame = Frame(new_frame_id(tracker.rng), flow_id, flow_id=flow_id)
    else:
        frame = Frame(new_frame_id(tracker.rng), FLOW, flow_id=flow_id, frame_type=frame_type)
    tracker.stack.push(frame, index)
    return frame


def push_pattern(
    project: Project,
    tracker: Tracker,
    pattern_id: str,
    context: JSONObject | None = None,
    index: int | None = None,
) -> Frame | None:
    """Push a pattern frame; a project without that pattern (no flows at all) skips it."""
    if project.flow(pattern_id) is None:
        return None
    frame = Frame(new_frame_id(tracker.rng), pattern_id, flow_id=pattern_id, context=context or {})
    tracker.stack.push(frame, index)
    return frame


def push_validation(project: Project, tracker: Tracker, name: str) -> Frame | None:
    """Push `pattern_validate_slot` for a slot with domain `validation` that was just set
    (also on top of the slot's own open question: the validation re-asks with its refill
    response, then the question checks its step's rejections)."""
    slot = project.slot(name)
    if slot is None or not slot.validation or tracker.slots.get(name) is None:
        return None
    validation = slot.validation
    return push_pattern(
        project,
        tracker,
        PATTERN_VALIDATE_SLOT,
        {
            "validate": name,
            "refill_utter": validation.get("refill_utter") or utter_ask(name),
            "refill_action": action_ask(name),
            "rejections": list(cast(Iterable[object], validation.get("rejections") or [])),
        },
    )


def remove_frame(project: Project, tracker: Tracker, frame: Frame) -> None:
    """Drop a frame that is abandoned (e.g. a pending question), logging its completion."""
    tracker.stack.remove(frame)
    if frame.flow_id:
        tracker.add(ev.flow_event("flow_completed", frame.flow_id, frame.step_id))


def remove_pattern_on_top(project: Project, tracker: Tracker, pattern_id: str) -> bool:
    """Remove `pattern_id` if it is the top flow frame (looking through an open question
    it is asking), together with that question."""
    top = tracker.stack.top_flow_frame(skip_collect=True)
    if top is None or top.type != pattern_id:
        return False
    for frame in reversed(tracker.stack.frames[tracker.stack.index(top) :]):
        remove_frame(project, tracker, frame)
    return True


def interrupted_flow_frames(tracker: Tracker) -> list[Frame]:
    """Unfinished regular/interrupt user flows, bottom of the stack first."""
    return [
        f
        for f in tracker.stack.frames
        if f.is_user_flow
        and f.frame_type in (REGULAR, INTERRUPT)
        and f.step_id not in (END_STEP, NEXT_END)
    ]


def move_group_to_top(tracker: Tracker, frame: Frame, below: Frame | None = None) -> None:
    """Move a flow with its called flows and open patterns to the top of the stack, or
    just below `below` (the pattern doing the move, which must finish first)."""
    group = [f for f in tracker.stack.group_of(frame) if f is not below]
    for item in group:
        tracker.stack.remove(item)
    index = tracker.stack.index(below) if below is not None else None
    for offset, item in enumerate(group):
        tracker.stack.push(item, None if index is None else index + offset)


def end_frames(tracker: Tracker, frame_ids: list[str]) -> None:
    for frame in tracker.stack:
        if frame.frame_id in frame_ids:
            frame.step_id = NEXT_END


def end_open_correction(tracker: Tracker) -> int | None:
    """A correction that arrives while another one is still open (e.g. a project's
    correction pattern asks for confirmation) winds that one up first: it and every flow
    frame above it continue at END, and the new correction goes in below them, so it
    starts as soon as they have ended. Returns where the new correction goes (None: on
    top)."""
    open_frame = next(
        (
            f
            for f in reversed(tracker.stack.frames)
            if f.is_flow_frame
            and f.type != PATTERN_COLLECT_INFORMATION
            and not (f.is_user_flow and f.frame_type == CALL)
        ),
        None,
    )
    if open_frame is None or open_frame.type != PATTERN_CORRECTION:
        return None
    index = tracker.stack.index(open_frame)
    for frame in tracker.stack.frames[index:]:
        if frame.is_flow_frame:
            frame.step_id = NEXT_END
    return index


def user_flow_group_ids(tracker: Tracker) -> list[str]:
    """Frame ids from the top down to the topmost user flow that is not a `call` frame."""
    ids: list[str] = []
    for frame in reversed(tracker.stack.frames):
        ids.append(frame.frame_id)
        if frame.is_user_flow and frame.frame_type != CALL:
            break
    return ids


def join_names(names: list[str], last: str = "and") -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


__all__ = [
    "CALL",
    "INTERRUPT",
    "LINK",
    "NEXT_END",
    "REGULAR",
    "end_frames",
    "end_open_correction",
    "interrupted_flow_frames",
    "join_names",
    "move_group_to_top",
    "push_flow",
    "push_pattern",
    "push_validation",
    "remove_frame",
    "remove_pattern_on_top",
    "user_flow_group_ids",
]
