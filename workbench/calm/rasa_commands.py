"""Commands as Rasa stores them (`parse_data.commands` of a user event in its tracker
store: `Command.as_dict()`, the dataclass fields plus `command`) read as ours.

Rasa's field names differ from ours in places: `set slot` has `name` and `extractor`
(ours `slot`, `filled_by`), `correct slot` a list of `corrected_slots`, `restart agent`
an `agent_id`. A command this version does not know comes back as None."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from workbench.calm import commands as c
from workbench.calm.values import JSONValue, SlotValue


def _slot_value(value: JSONValue) -> SlotValue:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _text(data: Mapping[str, JSONValue], key: str, default: str = "") -> str:
    value = data.get(key)
    return default if value is None else str(value)


def _set_slot(data: Mapping[str, JSONValue]) -> c.Command:
    return c.SetSlot(
        _text(data, "name") or _text(data, "slot"),
        _slot_value(data.get("value")),
        _text(data, "extractor") or _text(data, "filled_by") or c.FROM_LLM,
    )


def _correct_slots(data: Mapping[str, JSONValue]) -> c.Command:
    given = data.get("corrected_slots")
    slots = [s for s in given if isinstance(s, Mapping)] if isinstance(given, list) else []
    return c.CorrectSlots(
        tuple((_text(s, "name"), _slot_value(s.get("value"))) for s in slots),
        next((_text(s, "filled_by") for s in slots if s.get("filled_by")), c.FROM_LLM),
    )


def _clarify(data: Mapping[str, JSONValue]) -> c.Command:
    options = data.get("options")
    return c.Clarify(tuple(str(o) for o in options) if isinstance(options, list) else ())


def _error(data: Mapping[str, JSONValue]) -> c.Command:
    info = data.get("info")
    return c.Error(
        _text(data, "error_type", c.ERROR_DEFAULT),
        {str(k): v for k, v in info.items()} if isinstance(info, Mapping) else {},
    )


_READERS: dict[str, Callable[[Mapping[str, JSONValue]], c.Command]] = {
    "start flow": lambda d: c.StartFlow(_text(d, "flow")),
    "set slot": _set_slot,
    "correct slot": _correct_slots,
    "cancel flow": lambda d: c.CancelFlow(),
    "clarify": _clarify,
    "knowledge": lambda d: c.KnowledgeAnswer(),
    "chitchat": lambda d: c.ChitChatAnswer(),
    "repeat": lambda d: c.RepeatBotMessages(),
    "skip question": lambda d: c.SkipQuestion(),
    "continue agent": lambda d: c.ContinueAgent(),
    "restart agent": lambda d: c.RestartAgent(_text(d, "agent_id") or _text(d, "agent")),
    # Rasa writes `reason: null` for the default
    "cannot handle": lambda d: c.CannotHandle(_text(d, "reason") or c.CANNOT_HANDLE_DEFAULT),
    "error": _error,
    "handle code change": lambda d: c.HandleCodeChange(),
    "session start": lambda d: c.SessionStart(),
    "session end": lambda d: c.SessionEnd(),
    "restart": lambda d: c.Restart(),
    "noop": lambda d: c.Noop(),
}


def command_from_rasa(data: Mapping[str, JSONValue]) -> c.Command | None:
    """The command a stored Rasa command dict stands for; None for one we do not know."""
    reader = _READERS.get(_text(data, "command"))
    return None if reader is None else reader(data)
