"""What a turn produced, as records; `text.py` renders them."""

from workbench.trace.records import (
    ActionRun,
    BotMessage,
    Button,
    CommandRecord,
    DroppedRecord,
    Event,
    ModelUsage,
    RetrievedFlow,
    RewrittenRecord,
    StackFrame,
)
from workbench.trace.turn import TurnTrace

__all__ = [
    "ActionRun",
    "BotMessage",
    "Button",
    "CommandRecord",
    "DroppedRecord",
    "Event",
    "ModelUsage",
    "RetrievedFlow",
    "RewrittenRecord",
    "StackFrame",
    "TurnTrace",
]
