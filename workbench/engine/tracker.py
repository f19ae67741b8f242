"""One conversation's state: slots, the dialogue stack and the event log."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import cast

from workbench.calm.names import LANGUAGE_SLOT, PATTERN_COLLECT_INFORMATION
from workbench.calm.values import JSONObject, SlotValue
from workbench.engine import events as ev
from workbench.engine.events import Event
from workbench.engine.stack import DialogueStack
from workbench.engine.stack_patch import make_patch, patch_text
from workbench.project.model import Project

COLLECT_PATTERN = PATTERN_COLLECT_INFORMATION


@dataclass(frozen=True)
class StepVisit:
    """A collect step the executor entered (corrections rewind to these)."""

    frame_id: str
    flow_id: str
    step_id: str


class Tracker:
    def __init__(self, project: Project, sender_id: str = "default", seed: int = 0) -> None:
        self.sender_id = sender_id
        self.seed = seed
        self.rng = random.Random(seed)
        self.default_language = project.config.language
        self.slots: dict[str, SlotValue] = {
            name: copy.deepcopy(slot.initial_value) for name, slot in project.domain.slots.items()
        }
        self.filled_by: dict[str, str] = {}
        self.events: list[Event] = []
        # how many events, from the start of the conversation, are no longer in `events`
        # (`forget_before_restart`): an event's position in the conversation is
        # `forgotten` + its index
        self.forgotten = 0
        self._last_restart = 0  # where the latest `restart` event is in `events` (0: none)
        self.stack = DialogueStack()
        # the frames each `stack` event of the current turn leads to, by event index: the
        # turn's trace shows them without applying the patches (the session clears it)
        self.logged_stacks: dict[int, list[JSONObject]] = {}
        self.flow_hashes: dict[str, str] = {}
        self.visits: list[StepVisit] = []
        self.session_started = False
        self.latest_message: Event | None = None
        # corrected slots with domain validation, validated once the action after the
        # correction has run (`Engine.predict`), and whether that action was predicted
        self.corrected_to_validate: list[str] = []
        self.correction_followed = False
        self._logged_stack: list[JSONObject] = []

    # -- events -------------------------------------------------------------------------

    @property
    def language(self) -> str:
        """The conversation's language: the `language` slot, else config.yml's."""
        value = self.slots.get(LANGUAGE_SLOT)
        return str(value) if value else self.default_language

    def add(self, event: Event) -> Event:
        self.events.append(event)
        kind = event.get("event")
        if kind == "slot":
            # slot events always name their slot (`events.slot`, an action's SlotSet)
            name = cast(str, event.get("name"))
            self.slots[name] = ev.slot_value(event)
            filled_by = event.get("filled_by")
            if filled_by:
                self.filled_by[name] = str(filled_by)
            else:
                self.filled_by.pop(name, None)
        elif kind == "user":
            self.latest_message = event
        elif kind == "session_started":
            self.session_started = True
        elif kind == "restart":
            self._last_restart = len(self.events) - 1
        return event

    def set_slot(
        self, name: str, value: SlotValue, filled_by: str | None = None, reset: bool = False
    ) -> Event:
        return self.add(ev.slot(name, value, filled_by=filled_by, reset=reset))

    def log_stack(self) -> None:
        """Add a `stack` event with the change to the frames, if they changed since the
        last one."""
        frames = self.stack.as_dicts()
        if frames != self._logged_stack:
            # the change only, as Rasa stores it: a patch, not the whole stack
            update = patch_text(make_patch(self._logged_stack, frames))
            self._logged_stack = frames
            self.add(ev.stack(update))
            self.logged_stacks[len(self.events) - 1] = frames

    def forget_before_restart(self, limit: int) -> int:
        """Drop the events before the latest restart once the log holds more than
        `limit` events; returns how many were dropped. Nothing reads them again (a
        restart ends everything they describe); the session store keeps them."""
        cut = self._last_restart
        if len(self.events) <= limit or not cut:
            return 0
        del self.events[:cut]
        self._last_restart = 0  # the restart is now the first event: nothing before it
        self.forgotten += cut
        self.logged_stacks = {i - cut: f for i, f in self.logged_stacks.items() if i >= cut}
        on_stack = {frame.frame_id for frame in self.stack.frames}
        self.visits = [visit for visit in self.visits if visit.frame_id in on_stack]
        return cut

    def get_slot(self, name: str) -> SlotValue:
        return self.slots.get(name)

    # -- views ----------------------------------------------------------------------------

    def context(self) -> JSONObject:
        """The top frame's dict. Only the collect question shows the frame below it too
        (that frame's fields win), since it asks on behalf of that flow; every other
        frame, a validation included, sees just its own fields, so stacked validations
        each keep their own `validate`."""
        frames = self.stack.frames
        if not frames:
            return {}
        context = frames[-1].as_dict()
        index = len(frames) - 1
        while index > 0 and frames[index].type == COLLECT_PATTERN:
            index -= 1
            context = {**context, **frames[index].as_dict()}
        return context

    def condition_document(self) -> JSONObject:
        return {"slots": self.slots, "context": self.context()}

    def bot_messages_since_last_user(self, skip_current: bool = False) -> list[Event]:
        """Bot events after the latest user event (or after the one before it)."""
        users = [i for i, e in enumerate(self.events) if e.get("event") == "user"]
        if skip_current:
            if len(users) < 1:
                return []
            end = users[-1]
            start = users[-2] if len(users) > 1 else -1
        else:
            start = users[-1] if users else -1
            end = len(self.events)
        return [e for e in self.events[start + 1 : end] if e.get("event") == "bot"]

    def record_visit(self, frame_id: str, flow_id: str, step_id: str) -> None:
        self.visits.append(StepVisit(frame_id, flow_id, step_id))
