"""Stack events as Rasa stores them: a JSON Patch of the frames (`update`), small
whatever the stack holds; traces read both that and the whole-stack form of earlier
versions."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.engine.stack_patch import apply_patch, make_patch, patch_text
from workbench.trace.records import Event, StackFrame, resolve_stack_events
from workbench.trace.turn import TurnTrace

frame = st.fixed_dictionaries(
    {
        "frame_id": st.sampled_from(["A", "B", "C", "D"]),
        "type": st.sampled_from(["flow", "pattern_collect_information"]),
        "step_id": st.sampled_from(["START", "ask", "NEXT:END", "a/b~c"]),
    },
    optional={"collect": st.sampled_from(["order_id", "email"]), "x/y": st.integers(0, 3)},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(frame, max_size=6), st.lists(frame, max_size=6))
def test_a_patch_turns_the_old_frames_into_the_new(old, new):
    ops = make_patch(old, new)
    assert apply_patch(old, patch_text(ops)) == new
    assert (ops == []) == (old == new)


def test_a_patch_costs_what_changed_not_the_stack():
    rng = random.Random(0)
    stack = [
        {
            "frame_id": f"F{i}",
            "type": "flow",
            "flow_id": f"f{i}",
            "step_id": "ask",
            "notes": "x" * rng.randint(50, 100),
        }
        for i in range(200)
    ]
    moved = [dict(f) for f in stack]
    moved[-1]["step_id"] = "done"
    update = patch_text(make_patch(stack, moved))
    assert json.loads(update) == [{"op": "replace", "path": "/199/step_id", "value": "done"}]
    assert len(update) < 100


def test_patches_made_by_rasa_apply_too():
    frames = [{"frame_id": "A", "type": "flow"}, {"frame_id": "B", "type": "flow"}]
    update = json.dumps(
        [
            {"op": "test", "path": "/0/frame_id", "value": "A"},
            {"op": "move", "from": "/1", "path": "/0"},
            {"op": "copy", "from": "/0/type", "path": "/1/kind"},
            {"op": "add", "path": "/-", "value": {"frame_id": "C", "type": "search"}},
        ]
    )
    assert apply_patch(frames, update) == [
        {"frame_id": "B", "type": "flow"},
        {"frame_id": "A", "type": "flow", "kind": "flow"},
        {"frame_id": "C", "type": "search"},
    ]


def test_a_trace_resolves_patches_and_reads_the_whole_stack_form_of_earlier_versions():
    before = [StackFrame("A", "flow", "greet", "ask")]
    patched = Event.from_dict(
        {
            "event": "stack",
            "update": patch_text(
                make_patch([before[0].as_dict()], [{**before[0].as_dict(), "step_id": "x"}])
            ),
        }
    )
    whole = Event.from_dict({"event": "stack", "frames": []})
    damaged = Event.from_dict({"event": "stack", "update": '[{"op": "remove", "path": "/7"}]'})
    resolved = resolve_stack_events(before, [patched, whole, damaged])
    assert [f.step_id for f in resolved[0].frames] == ["x"]
    assert resolved[1].frames == ()
    assert resolved[2].frames == ()  # a patch that does not fit is shown as it is
    stored = TurnTrace(0, "hi", stack_before=before, events=[patched]).to_dict()
    assert "frames" not in json.dumps(stored["events"])  # the frames are not stored twice
    again = TurnTrace.from_dict(json.loads(json.dumps(stored)))
    assert [f.step_id for f in again.events[0].frames] == ["x"]
