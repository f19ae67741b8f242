"""The checks of an e2e test case, with the semantics of Rasa Pro's e2e runner
(reference section f).

Two styles:

* **steps** (`bot`, `utter`, `slot_was_set`, `slot_was_not_set`): each must match *some*
  `bot`/`slot` event logged while the preceding user message was handled; order, extra
  events and repeats are not checked. `check_step` returns None or the reason it failed.
* **assertions** (a `user` step's `assertions:` list): each runs on that step's turn.
  `run_assertion` returns (reason it failed or None, the event it matched).

Events are Rasa event dicts (see `engine/events.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

from workbench.calm.names import PATTERN_CLARIFICATION, UTTER_ACTION_KEY
from workbench.calm.values import JSONObject, JSONValue
from workbench.errors import WorkbenchError
from workbench.project.model import TestStep

# an assertion's check: (its value as written, the turn's events) -> (failure, event)
_Check = Callable[[object, list[JSONObject]], tuple[str | None, JSONObject | None]]

CLARIFICATION_PATTERN = PATTERN_CLARIFICATION
LLM_JUDGE_ASSERTIONS = frozenset(
    {"generative_response_is_relevant", "generative_response_is_grounded"}
)
ASSERTION_KINDS = (
    "flow_started",
    "flow_completed",
    "flow_cancelled",
    "pattern_clarification_contains",
    "action_executed",
    "slot_was_set",
    "slot_was_not_set",
    "bot_uttered",
    "bot_did_not_utter",
    *sorted(LLM_JUDGE_ASSERTIONS),
)
# these also see the events before the turn (session start, fixtures) on the first step
SEES_PRIOR_ON_FIRST_STEP = frozenset(
    {
        "action_executed",
        "slot_was_set",
        "slot_was_not_set",
        "bot_uttered",
        "bot_did_not_utter",
    }
)
_UNDEFINED = object()  # an asserted slot without `value`


class AssertionSpecError(WorkbenchError, ValueError):
    """An assertion whose value does not have the documented shape."""


# --- step style ---------------------------------------------------------------------------


def slot_entries(value: object) -> list[tuple[str, JSONValue]]:
    """`slot_was_set` / `slot_was_not_set` step entries: `name` or `{name: value}`, as
    (name, value or _UNDEFINED) pairs."""
    items = value if isinstance(value, list) else [value]
    entries: list[tuple[str, JSONValue]] = []
    for item in items:
        if isinstance(item, dict):
            entries.extend((str(name), slot_value) for name, slot_value in item.items())
        elif item is not None:
            entries.append((str(item), _UNDEFINED))
    return entries


def describe_slot(name: str, value: object) -> str:
    return name if value is _UNDEFINED else f"{name}: {value!r}"


def check_step(step: TestStep, events: Sequence[JSONObject]) -> str | None:
    """Check one bot/utter/slot step against a turn's events; the reason it failed."""
    bots = [e for e in events if e.get("event") == "bot"]
    slots = [e for e in events if e.get("event") == "slot"]
    if step.kind == "bot":
        expected = str(step.value).strip()
        if any(e.get("text") == expected for e in bots):
            return None
        return f"the bot did not say {expected!r}"
    if step.kind == "utter":
        if any(_utter_name(e) == step.value for e in bots):
            return None
        return f"the bot did not utter '{step.value}'"
    if step.kind == "slot_was_set":
        for name, value in slot_entries(step.value):
            if not any(_slot_matches(e, name, value) for e in slots):
                if value is _UNDEFINED:
                    return f"slot '{name}' was not set"
                actual = [e.get("value") for e in slots if e.get("name") == name]
                if actual:
                    shown = ", ".join(repr(v) for v in actual)
                    return f"slot '{name}' was set to {shown}, not to {value!r}"
                return f"slot '{name}' was not set (expected {value!r})"
        return None
    if step.kind == "slot_was_not_set":
        for name, value in slot_entries(step.value):
            hit = next((e for e in slots if _slot_matches(e, name, value)), None)
            if hit is not None:
                return f"slot '{name}' was set to {hit.get('value')!r} but should not have been"
        return None
    return f"unknown step kind '{step.kind}'"


def _slot_matches(event: JSONObject, name: str, value: object) -> bool:
    if event.get("name") != name:
        return False
    return value is _UNDEFINED or event.get("value") == value


def _utter_name(event: JSONObject) -> JSONValue:
    return _mapping(event.get("metadata")).get(UTTER_ACTION_KEY)


def _mapping(value: object) -> Mapping[str, object]:
    """An event's `metadata` or `data`: a dict wherever the engine writes one."""
    return value if isinstance(value, dict) else {}


# --- assertion style ------------------------------------------------------------------------


def assertion_kind(assertion: JSONObject) -> str:
    return str(next(iter(assertion), "")) if isinstance(assertion, dict) else ""


def run_assertion(
    assertion: JSONObject,
    turn_events: list[JSONObject],
    prior_events: list[JSONObject],
    *,
    first_step: bool = False,
) -> tuple[str | None, JSONObject | None]:
    """Run one assertion on a turn: (why it failed or None, the event that matched it)."""
    kind = assertion_kind(assertion)
    if kind not in ASSERTION_KINDS:
        known = ", ".join(ASSERTION_KINDS)
        return f"unknown assertion '{kind}' (known: {known})", None
    if kind in LLM_JUDGE_ASSERTIONS:
        # the runner judges them (testing/judge.py): they need the conversation's models
        return f"'{kind}' needs an LLM judge (testing/judge.py)", None
    events = turn_events
    if first_step and kind in SEES_PRIOR_ON_FIRST_STEP:
        events = prior_events + turn_events
    try:
        return _CHECKS[kind](assertion[kind], events)
    except AssertionSpecError as exc:
        return f"invalid '{kind}' assertion: {exc}", None
    except re.error as exc:
        return f"invalid regular expression in '{kind}': {exc}", None


def _of(events: Sequence[JSONObject], kind: str) -> list[JSONObject]:
    return [e for e in events if e.get("event") == kind]


def _flow_started(value: object, events: list[JSONObject]) -> tuple[str | None, JSONObject | None]:
    started = _of(events, "flow_started")
    if isinstance(value, str):
        ids = [value]
        operator = "all"
    elif isinstance(value, dict):
        operator = str(value.get("operator") or "").lower()
        ids = [str(i) for i in _as_list(value.get("flow_ids"))]
        if operator not in ("any", "all"):
            raise AssertionSpecError("`operator` must be 'any' or 'all'")
        if not ids:
            raise AssertionSpecError("`flow_ids` must list at least one flow id")
        if operator == "all" and len(ids) != 1:
            raise AssertionSpecError("operator 'all' takes exactly one flow id")
    else:
        raise AssertionSpecError("expected a flow id or {operator, flow_ids}")
    for flow_id in ids:
        match = next((e for e in started if e.get("flow_id") == flow_id), None)
        if match is not None:
            return None, match
    if len(ids) == 1:
        return f"flow '{ids[0]}' did not start", None
    return f"none of the flows {', '.join(ids)} started", None


def _flow_ended(kind: str, verb: str) -> _Check:
    def check(value: object, events: list[JSONObject]) -> tuple[str | None, JSONObject | None]:
        if not isinstance(value, dict) or not value.get("flow_id"):
            raise AssertionSpecError("expected {flow_id, flow_step_id?}")
        flow_id = str(value["flow_id"])
        match = next((e for e in _of(events, kind) if e.get("flow_id") == flow_id), None)
        if match is None:
            return f"flow '{flow_id}' was not {verb}", None
        step_id = value.get("flow_step_id")
        if step_id is not None and match.get("step_id") != str(step_id):
            return (
                f"flow '{flow_id}' was not {verb} at step '{step_id}'; "
                f"the actual step was '{match.get('step_id')}'"
            ), None
        return None, match

    return check


def _clarification(value: object, events: list[JSONObject]) -> tuple[str | None, JSONObject | None]:
    if isinstance(value, dict):
        operator = str(value.get("operator") or "").lower()
        if operator not in ("any", "all"):
            raise AssertionSpecError("`operator` must be 'any' or 'all'")
        expected = [str(i) for i in _as_list(value.get("flow_ids"))]
    elif isinstance(value, list):
        operator = ""
        expected = [str(name) for name in value]
    else:
        raise AssertionSpecError("expected a list of flow names or {operator, flow_ids}")
    match = next(
        (e for e in _of(events, "flow_started") if e.get("flow_id") == CLARIFICATION_PATTERN),
        None,
    )
    if match is None:
        return f"'{CLARIFICATION_PATTERN}' did not start", None
    metadata = _mapping(match.get("metadata"))
    if not operator:  # a list of flow names: the exact set
        actual = {str(n) for n in _as_list(metadata.get("names"))}
        if actual != set(expected):
            return (
                f"'{CLARIFICATION_PATTERN}' offered {_set_text(actual)}, "
                f"expected exactly {_set_text(set(expected))}"
            ), None
        return None, match
    actual = {str(i) for i in _as_list(metadata.get("clarification_ids"))}
    if operator == "all" and actual != set(expected):
        return (
            f"'{CLARIFICATION_PATTERN}' offered {_set_text(actual)}, "
            f"expected exactly {_set_text(set(expected))}"
        ), None
    if operator == "any" and not actual.intersection(expected):
        return (
            f"'{CLARIFICATION_PATTERN}' offered {_set_text(actual)}, "
            f"none of {_set_text(set(expected))}"
        ), None
    return None, match


def _action_executed(
    value: object, events: list[JSONObject]
) -> tuple[str | None, JSONObject | None]:
    if not isinstance(value, str) or not value:
        raise AssertionSpecError("expected an action name")
    match = next((e for e in _of(events, "action") if e.get("name") == value), None)
    if match is None:
        return f"action '{value}' did not run", None
    return None, match


def _asserted_slots(value: object) -> list[tuple[str, JSONValue]]:
    if not isinstance(value, list):
        raise AssertionSpecError("expected a list of {name, value?}")
    slots = []
    for item in value:
        if not isinstance(item, dict) or not item.get("name"):
            raise AssertionSpecError("each entry needs a `name`")
        slots.append((str(item["name"]), item.get("value", _UNDEFINED)))
    return slots


def _slot_was_set(value: object, events: list[JSONObject]) -> tuple[str | None, JSONObject | None]:
    match = None
    slot_events = _of(events, "slot")
    for name, expected in _asserted_slots(value):
        matching = [e for e in slot_events if e.get("name") == name]
        if not matching:
            return f"slot '{name}' was not set", None
        if expected is _UNDEFINED:
            match = matching[0]
            continue
        match = next((e for e in matching if e.get("value") == expected), None)
        if match is None:
            return (
                f"slot '{name}' was set to {matching[-1].get('value')!r}, "
                f"not to the expected {expected!r}"
            ), None
    return None, match


def _slot_was_not_set(
    value: object, events: list[JSONObject]
) -> tuple[str | None, JSONObject | None]:
    match = None
    slot_events = _of(events, "slot")
    for name, expected in _asserted_slots(value):
        matching = [e for e in slot_events if e.get("name") == name]
        if not matching:
            continue
        match = matching[-1]  # the value the slot ended the turn with
        actual = match.get("value")
        if expected is _UNDEFINED and actual is not None:
            return f"slot '{name}' was set to {actual!r} but should not have been", None
        if expected is not _UNDEFINED and actual == expected:
            return f"slot '{name}' was set to {expected!r} but should not have been", None
    return None, match


def _bot_spec(value: object) -> tuple[str | None, str | None, list[tuple[JSONValue, JSONValue]]]:
    if not isinstance(value, dict):
        raise AssertionSpecError("expected {utter_name?, text_matches?, buttons?}")
    buttons = []
    for button in _as_list(value.get("buttons")):
        if not isinstance(button, dict):
            raise AssertionSpecError("each button is {title, payload}")
        buttons.append((button.get("title"), button.get("payload")))
    utter_name = value.get("utter_name")
    text_matches = value.get("text_matches")
    if not utter_name and not text_matches and not buttons:
        raise AssertionSpecError("give at least one of utter_name, text_matches, buttons")
    return (
        str(utter_name) if utter_name is not None else None,
        str(text_matches) if text_matches is not None else None,
        buttons,
    )


def _buttons(event: JSONObject) -> list[JSONObject]:
    buttons = _mapping(event.get("data")).get("buttons") or []
    return list(cast(Iterable[JSONObject], buttons))  # as the responses make them


def _buttons_match(event: JSONObject, expected: list[tuple[JSONValue, JSONValue]]) -> bool:
    """Pairwise in order; buttons beyond the shorter list are ignored."""
    actual = _buttons(event)
    if not actual:
        return False
    return all(
        button.get("title") == title and button.get("payload") == payload
        for button, (title, payload) in zip(actual, expected, strict=False)
    )


def _bot_uttered(value: object, events: list[JSONObject]) -> tuple[str | None, JSONObject | None]:
    utter_name, text_matches, buttons = _bot_spec(value)
    bots = _of(events, "bot")
    match = None
    problems = []
    if utter_name is not None:
        found = next((e for e in bots if _utter_name(e) == utter_name), None)
        if found is None:
            problems.append(f"the bot did not utter '{utter_name}'")
        match = found or match
    if text_matches is not None:
        pattern = re.compile(text_matches)
        found = next((e for e in bots if pattern.search(str(e.get("text") or ""))), None)
        if found is None:
            problems.append(f"no bot message matches the pattern {text_matches!r}")
        match = found or match
    if buttons:
        found = next((e for e in bots if _buttons_match(e, buttons)), None)
        if found is None:
            problems.append("no bot message has the expected buttons")
        match = found or match
    if problems:
        return "; ".join(problems), None
    return None, match


def _bot_did_not_utter(
    value: object, events: list[JSONObject]
) -> tuple[str | None, JSONObject | None]:
    utter_name, text_matches, buttons = _bot_spec(value)
    pattern = re.compile(text_matches) if text_matches is not None else None
    for event in _of(events, "bot"):
        problems = []
        if utter_name is not None and _utter_name(event) == utter_name:
            problems.append(f"the bot uttered the forbidden '{utter_name}'")
        if pattern is not None and pattern.search(str(event.get("text") or "")):
            problems.append(f"the bot said {event.get('text')!r}, matching {text_matches!r}")
        if buttons and any((b.get("title"), b.get("payload")) in buttons for b in _buttons(event)):
            problems.append("the bot sent a forbidden button")
        if problems:
            return "; ".join(problems), None
    return None, None


def _as_list(value: object) -> list[JSONValue]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _set_text(values: set[str]) -> str:
    return "{" + ", ".join(sorted(values)) + "}" if values else "nothing"


_CHECKS: dict[str, _Check] = {
    "flow_started": _flow_started,
    "flow_completed": _flow_ended("flow_completed", "completed"),
    "flow_cancelled": _flow_ended("flow_cancelled", "cancelled"),
    "pattern_clarification_contains": _clarification,
    "action_executed": _action_executed,
    "slot_was_set": _slot_was_set,
    "slot_was_not_set": _slot_was_not_set,
    "bot_uttered": _bot_uttered,
    "bot_did_not_utter": _bot_did_not_utter,
}
