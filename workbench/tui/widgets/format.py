"""Plain-text views of trace parts (commands, values, events, stack frames).

Pure functions, no Textual: the panels style what these return, and the tests read them
without an app.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.calm.commands import FROM_LLM
from workbench.calm.names import UTTER_ACTION_KEY, is_pattern

ELLIPSIS = "…"

# pattern context keys that are plumbing rather than something a reader wants to see
_QUIET_CONTEXT = {
    "utter",
    "collect_action",
    "rejections",
    "refill_utter",
    "refill_action",
    "canceled_frames",
    "reset_flow_id",
    "reset_step_id",
    "reset_frame_id",
    "new_slot_values",
    "filled_by",
    "is_reset_only",
    "clarification_options",
}
# the context key that says most about a pattern frame, shown first
_CONTEXT_VERBS = (
    ("collect", "collect"),
    ("validate", "validate"),
    ("canceled_name", "cancel"),
    ("previous_flow_name", "after"),
    ("corrected_slots", "correct"),
    ("names", "options"),
    ("reason", "reason"),
    ("error_type", "error"),
)


def truncate(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis marks the cut)."""
    flat = " ".join(text.split()) if "\n" in text or "\r" in text else text
    if limit > 0 and len(flat) > limit:
        return flat[: max(limit - 1, 0)] + ELLIPSIS
    return flat


def value_text(value: Any, limit: int = 48) -> str:
    """A slot value as a reader would write it: `'A1001'`, `3.0`, `True`, `null`, `[...]`."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return truncate(repr(value), limit)
    if isinstance(value, (dict, list, tuple)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
        return truncate(text, limit)
    return truncate(repr(value), limit)


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[0], str):
            return f"{value[0]}={_plain(value[1])}"
        return " ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def command_text(command: dict[str, Any] | None) -> str:
    """A trace command dict as one line, close to the DSL: `set slot order_id A1001`,
    `correct slot order_id=A1002`, `clarify a b`. A source other than the model is named."""
    if not command:
        return "?"
    parts = [str(command.get("command", "?"))]
    for key, value in command.items():
        if key in ("command", "filled_by") or value in (None, "", [], {}, ()):
            continue
        parts.append(_plain(value))
    filled_by = command.get("filled_by")
    if filled_by and filled_by != FROM_LLM:
        parts.append(f"({filled_by})")
    return " ".join(parts)


def dropped_text(dropped: dict[str, Any]) -> tuple[str, str]:
    """(what was dropped, why) for one `TurnTrace.dropped` entry."""
    command = dropped.get("command")
    if isinstance(command, dict):
        what = command_text(command)
    else:
        what = str(dropped.get("line") or "").strip()
    return what, str(dropped.get("reason") or "")


def rewritten_text(rewritten: dict[str, Any]) -> str:
    """`a → b: reason` for one `TurnTrace.rewritten` entry."""
    original = command_text(rewritten.get("original"))
    replacement = command_text(rewritten.get("replacement"))
    return f"{original} → {replacement}: {rewritten.get('reason', '')}"


def short_step(flow_id: str | None, step_id: str | None) -> str:
    """A generated step id without its flow prefix: `check_order_status_0_collect_order_id`
    -> `0_collect_order_id`; explicit ids, START and END are kept."""
    if not step_id:
        return ""
    if flow_id and step_id.startswith(flow_id + "_") and len(step_id) > len(flow_id) + 1:
        return step_id[len(flow_id) + 1 :]
    return step_id


def frame_kind(frame: dict[str, Any]) -> str:
    """`regular`/`interrupt`/`call`/`link` for a user flow frame, `pattern` for patterns."""
    frame_type = frame.get("type", "")
    if frame_type == "flow":
        return str(frame.get("frame_type") or "regular")
    if is_pattern(str(frame_type)):
        return "pattern"
    return str(frame_type)


def frame_context(frame: dict[str, Any], limit: int = 40) -> str:
    """The pattern context that matters, e.g. `collect order_id` or `cancel check order`."""
    known = {"frame_id", "type", "flow_id", "step_id", "frame_type"}
    context = {k: v for k, v in frame.items() if k not in known}
    parts: list[str] = []
    used: set[str] = set()
    for key, verb in _CONTEXT_VERBS:
        value = context.get(key)
        if value in (None, "", [], {}):
            continue
        parts.append(f"{verb} {_plain(value)}")
        used.add(key)
    for key, value in context.items():
        if key in used or key in _QUIET_CONTEXT or value in (None, "", [], {}):
            continue
        parts.append(f"{key}={_plain(value)}")
    return truncate(", ".join(parts), limit)


def event_line(event: dict[str, Any], text_limit: int = 40) -> tuple[str, str]:
    """One event as (kind, text): kind is the event name (used for styling), text reads
    like `slot order_id = 'A1001'` or `bot "Hello…" (utter_greet)`."""
    kind = str(event.get("event", "?"))
    if kind == "user":
        return kind, f'user "{truncate(str(event.get("text") or ""), text_limit)}"'
    if kind == "bot":
        text = event.get("text")
        shown = f'"{truncate(str(text), text_limit)}"' if text else "(no text)"
        metadata = event.get("metadata") or {}
        utter = metadata.get(UTTER_ACTION_KEY) if isinstance(metadata, dict) else None
        data = event.get("data") or {}
        extras = []
        if isinstance(data, dict):
            if data.get("buttons"):
                extras.append(f"{len(data['buttons'])} buttons")
            extras.extend(k for k in ("custom", "image", "attachment") if data.get(k))
        suffix = f" ({utter})" if utter else ""
        if extras:
            suffix += " [" + ", ".join(extras) + "]"
        return kind, f"bot {shown}{suffix}"
    if kind == "slot":
        metadata = event.get("metadata") or {}
        reset = isinstance(metadata, dict) and metadata.get("reset")
        line = f"slot {event.get('name')} = {value_text(event.get('value'), text_limit)}"
        if reset:
            line += " (reset)"
        elif event.get("filled_by") and event.get("filled_by") != FROM_LLM:
            line += f" ({event['filled_by']})"
        return kind, line
    if kind == "action":
        return kind, f"action {event.get('name')}"
    if kind.startswith("flow_"):
        return kind, f"{kind} {event.get('flow_id')}"
    if kind == "notice":
        return kind, f"note: {truncate(str(event.get('message', '')), 0)}"
    if kind == "error":
        action = event.get("action")
        where = f" ({action})" if action else ""
        return kind, f"error{where}: {truncate(str(event.get('message', '')), 0)}"
    if kind == "stack":
        frames = event.get("frames") or []
        if not frames:
            return kind, "stack (empty)"
        top = frames[-1]
        where = f"{top.get('flow_id') or top.get('type')} @ {top.get('step_id', '')}".strip(" @")
        return kind, f"stack ({len(frames)} frames) top: {where}"
    rest = {k: v for k, v in event.items() if k not in ("event", "timestamp")}
    details = " ".join(f"{k}={value_text(v, 24)}" for k, v in rest.items())
    return kind, f"{kind} {details}".rstrip()


__all__ = [
    "command_text",
    "dropped_text",
    "event_line",
    "frame_context",
    "frame_kind",
    "rewritten_text",
    "short_step",
    "truncate",
    "value_text",
]
