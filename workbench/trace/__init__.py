"""What a turn produced, as records; `text.py` renders them."""

from workbench.trace.turn import ActionRun, ModelUsage, RetrievedFlow, TurnTrace

__all__ = ["ActionRun", "ModelUsage", "RetrievedFlow", "TurnTrace"]
