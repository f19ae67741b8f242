"""Conversation events as plain dicts in Rasa's event format.

Dicts (not classes) because they cross every boundary as they are: the action server
protocol, the SQLite store, e2e assertions and exports all speak this format.
"""

from __future__ import annotations

from typing import cast

from workbench.calm.values import JSONObject, JSONValue, SlotValue

# An event in Rasa's format: its values are narrowed where they are read (the helpers
# below for what the engine writes: nested records, lists of records, texts, slot values).
Event = JSONObject


def record(event: JSONObject, key: str) -> JSONObject:
    """A nested record of an event (`metadata`, `data`, `parse_data`); {} when absent."""
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def records(value: JSONValue) -> list[JSONObject]:
    """The records in a list an event holds (`commands`, `buttons`)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(event: JSONObject, key: str = "text") -> str | None:
    value = event.get(key)
    return value if isinstance(value, str) else None


def slot_value(event: Event) -> SlotValue:
    """The value of a `slot` event: whatever the slot was set to."""
    return cast(SlotValue, event.get("value"))


def user(
    text: str, commands: list[JSONObject] | None = None, metadata: JSONObject | None = None
) -> Event:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"commands": commands or []},
        "metadata": metadata or {},
    }


def bot(
    text: str | None, data: JSONObject | None = None, metadata: JSONObject | None = None
) -> Event:
    return {"event": "bot", "text": text, "data": data or {}, "metadata": metadata or {}}


def slot(name: str, value: SlotValue, filled_by: str | None = None, reset: bool = False) -> Event:
    event: Event = {"event": "slot", "name": name, "value": value}
    if filled_by:
        event["filled_by"] = filled_by
    if reset:
        event["metadata"] = {"reset": True}
    return event


def action(name: str, **extra: object) -> Event:
    return {"event": "action", "name": name, **extra}


def session_started() -> Event:
    return {"event": "session_started"}


def flow_started(flow_id: str, metadata: JSONObject | None = None) -> Event:
    return {"event": "flow_started", "flow_id": flow_id, "metadata": metadata or {}}


def flow_event(kind: str, flow_id: str, step_id: str | None) -> Event:
    """flow_interrupted / flow_resumed / flow_completed / flow_cancelled."""
    return {"event": kind, "flow_id": flow_id, "step_id": step_id}


def agent_event(kind: str, agent_id: str, flow_id: str, **extra: object) -> Event:
    """agent_started / agent_resumed / agent_completed / agent_cancelled (Rasa's agent
    events, which e2e tests and the prompt's `completed_agents` read)."""
    return {"event": kind, "agent_id": agent_id, "flow_id": flow_id, **extra}


def mcp_tool_executed(
    tool: str,
    server: str,
    arguments: JSONObject,
    result: JSONObject | None,
    error: str | None,
    flow_id: str,
    step_id: str,
) -> Event:
    """Rasa's `McpToolExecuted`: a flow's direct tool call, its arguments and result."""
    return {
        "event": "mcp_tool_executed",
        "tool_name": tool,
        "arguments": arguments,
        "result": result,
        "is_error": error is not None,
        "error_message": error,
        "metadata": {"flow_id": flow_id, "step_id": step_id, "mcp_server": server},
    }


def stack(update: str) -> Event:
    """Rasa's `DialogueStackUpdated`: `update` is a JSON Patch of the frames list (see
    engine/stack_patch.py); earlier versions stored the whole stack as `frames`."""
    return {"event": "stack", "update": update}


def error(message: str, **details: object) -> Event:
    """Not a Rasa event: a problem the workbench wants visible in the trace."""
    return {"event": "error", "message": message, **details}


def notice(message: str, **details: object) -> Event:
    """Not a Rasa event: something the user should know about this turn that is no error
    (e.g. a step this version skips)."""
    return {"event": "notice", "message": message, **details}
