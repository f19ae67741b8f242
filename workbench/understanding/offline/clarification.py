"""After "Which of these would you like to do: A or B?": the option the user picked, by
position ("the first one") or by name."""

from __future__ import annotations

from workbench.calm.names import UTTER_ACTION_KEY, UTTER_CLARIFICATION_OPTIONS
from workbench.engine import events as ev
from workbench.understanding.offline.ranking import ranking, start
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.offline.values import parse_ordinal


def clarification_choice(turn: Turn) -> OfflineDecision | None:
    """The option chosen after a clarification, if the message picks one."""
    options = pending_clarification(turn)
    if not options:
        return None
    index = parse_ordinal(turn.text, len(options))
    if index is not None:
        return start(
            turn,
            options[index],
            f"start flow: picked option {index + 1} of the clarification ({options[index]})",
        )
    ranked = [r for r in ranking(turn) if r.flow_id in options and r.score > 0]
    if ranked and (len(ranked) == 1 or ranked[0].score > ranked[1].score * 1.1):
        best = ranked[0]
        return start(
            turn,
            best.flow_id,
            f"start flow: picked a clarification option by name: {best.evidence(turn)} "
            f"(score {best.score:.3g})",
        )
    return None


def pending_clarification(turn: Turn) -> list[str]:
    """The flows the last clarification offered, if the assistant asked it since the
    last user message."""
    events = turn.tracker.events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") != "user":
            continue
        options = []
        for command in ev.records(ev.record(event, "parse_data").get("commands")):
            if command.get("command") == "clarify":
                listed = command.get("options")
                options = [str(o) for o in listed] if isinstance(listed, list) else []
        asked = any(
            e.get("event") == "bot"
            and ev.record(e, "metadata").get(UTTER_ACTION_KEY) == UTTER_CLARIFICATION_OPTIONS
            for e in events[index + 1 :]
        )
        return [o for o in options if o in turn.model.startable] if asked else []
    return []
