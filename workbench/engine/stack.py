"""The dialogue stack: what the assistant is doing now (top) and what waits below.

A frame is a user flow (`type == "flow"`, with a `frame_type` of regular, interrupt,
link or call) or a pattern (`type` is the pattern id), plus the pattern's context
fields. Frames serialise to plain dicts in Rasa's shape; the topmost frame's dict is the
`context` that conditions and response templates see.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

from workbench.calm.names import PATTERN_COLLECT_INFORMATION, is_pattern
from workbench.calm.values import JSONObject, JSONValue
from workbench.project.model import START_STEP

FLOW = "flow"
REGULAR, INTERRUPT, LINK, CALL = "regular", "interrupt", "link", "call"
SEARCH, CHITCHAT = "search", "chitchat"
# a sub-agent waiting for the user, above the flow that called it (`state`, `agent_id`)
AGENT = "agent"

_ID_CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits


def new_frame_id(rng: random.Random) -> str:
    return "".join(rng.choice(_ID_CHARS) for _ in range(8))


@dataclass
class Frame:
    frame_id: str
    type: str
    flow_id: str | None = None
    step_id: str = START_STEP
    frame_type: str | None = None
    # pattern context (collect, utter, canceled_name, ...), kept in insertion order
    context: JSONObject = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        """A context entry the engine writes as a string (a slot, a response, an id)."""
        value = self.context.get(key)
        return value if isinstance(value, str) else None

    def entries(self, key: str) -> list[JSONValue]:
        """A context entry the engine writes as a list (flow ids, rejections, frames)."""
        value = self.context.get(key)
        return list(value) if isinstance(value, (list, tuple)) else []

    def names(self, key: str) -> list[str]:
        return [str(item) for item in self.entries(key)]

    @property
    def is_user_flow(self) -> bool:
        return self.type == FLOW

    @property
    def is_pattern(self) -> bool:
        return is_pattern(self.type)

    @property
    def is_flow_frame(self) -> bool:
        """Frames the flow executor advances (user flows and patterns)."""
        return self.flow_id is not None and self.type != AGENT

    def as_dict(self) -> JSONObject:
        data: JSONObject = {"frame_id": self.frame_id, "type": self.type}
        if self.flow_id is not None:
            data["flow_id"] = self.flow_id
            data["step_id"] = self.step_id
        if self.frame_type is not None:
            data["frame_type"] = self.frame_type
        data.update(self.context)
        return data

    @classmethod
    def from_dict(cls, data: JSONObject) -> Frame:
        known = {"frame_id", "type", "flow_id", "step_id", "frame_type"}
        return cls(
            frame_id=str(data.get("frame_id", "")),
            type=str(data.get("type", FLOW)),
            flow_id=_text_or_none(data.get("flow_id")),
            step_id=str(data.get("step_id", START_STEP)),
            frame_type=_text_or_none(data.get("frame_type")),
            context={k: copy.deepcopy(v) for k, v in data.items() if k not in known},
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class DialogueStack:
    """Frames bottom→top. Mutable; the tracker snapshots it as dicts after each turn."""

    def __init__(self, frames: list[Frame] | None = None) -> None:
        self.frames: list[Frame] = list(frames or [])

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __bool__(self) -> bool:
        return bool(self.frames)

    def top(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def push(self, frame: Frame, index: int | None = None) -> None:
        if index is None:
            self.frames.append(frame)
        else:
            self.frames.insert(index, frame)

    def pop(self) -> Frame:
        return self.frames.pop()

    def remove(self, frame: Frame) -> None:
        self.frames = [f for f in self.frames if f is not frame]

    def index(self, frame: Frame) -> int:
        for i, candidate in enumerate(self.frames):
            if candidate is frame:
                return i
        raise ValueError("frame not on the stack")

    def top_user_frame(self, skip_calls: bool = False) -> Frame | None:
        """The topmost user flow frame; with `skip_calls`, a called flow stands for the
        flow that called it (it is part of that flow, not a flow of its own)."""
        for frame in reversed(self.frames):
            if frame.is_user_flow and not (skip_calls and frame.frame_type == CALL):
                return frame
        return None

    def active_user_frame(self) -> Frame | None:
        """The topmost regular or interrupt flow: the user's current task. Called and
        linked flows belong to the task that reached them; a linked flow left on its own
        is no task in this sense (Rasa's `top_user_flow_frame`), which decides the order
        of commands and whether a new flow interrupts one."""
        for frame in reversed(self.frames):
            if frame.is_user_flow and frame.frame_type in (REGULAR, INTERRUPT):
                return frame
        return None

    def top_flow_frame(self, skip_collect: bool = False) -> Frame | None:
        """The topmost frame the executor advances, optionally looking through the
        collect-information pattern that sits on top while a question is open."""
        for frame in reversed(self.frames):
            if not frame.is_flow_frame:
                continue
            if skip_collect and frame.type == PATTERN_COLLECT_INFORMATION:
                continue
            return frame
        return None

    def user_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.is_user_flow]

    def find_user_flow(self, flow_id: str) -> Frame | None:
        for frame in reversed(self.frames):
            if frame.is_user_flow and frame.flow_id == flow_id:
                return frame
        return None

    def find_pattern(self, pattern_id: str) -> Frame | None:
        for frame in reversed(self.frames):
            if frame.type == pattern_id:
                return frame
        return None

    def group_base(self, frame: Frame) -> Frame:
        """The regular/interrupt flow whose group holds `frame` (itself unless called)."""
        for candidate in reversed(self.frames[: self.index(frame) + 1]):
            if candidate.is_user_flow and candidate.frame_type in (REGULAR, INTERRUPT):
                return candidate
        return frame

    def group_of(self, frame: Frame) -> list[Frame]:
        """A regular/interrupt flow with everything above it up to the next
        regular/interrupt flow: its called flows, links and open patterns."""
        start = self.index(frame)
        group = [frame]
        for above in self.frames[start + 1 :]:
            if above.is_user_flow and above.frame_type in (REGULAR, INTERRUPT):
                break
            group.append(above)
        return group

    def as_dicts(self) -> list[JSONObject]:
        return [frame.as_dict() for frame in self.frames]

    @classmethod
    def from_dicts(cls, data: list[JSONObject]) -> DialogueStack:
        return cls([Frame.from_dict(item) for item in data])
