"""Turning text into commands: the command generator's reply, and button payloads.

Pure (standard library only, no I/O). Two entry points:

* `parse_commands(text, syntax)` reads an LLM reply (or a command typed by a developer) the
  way Rasa's command parser does. The reply is split into lines; each stripped line is matched
  against the command patterns of the active syntax and every match yields a command:

  - ``v2`` (CompactLLMCommandGenerator) and ``v3`` (SearchReadyLLMCommandGenerator): lowercase
    keyword lines such as ``start flow transfer_money`` or ``set slot amount 50``. Matching is
    case-sensitive. A prefix of digits, spaces and punctuation (bullets, ``1.``, quotes,
    backticks, ``>``; not ``_``) is skipped. No-argument commands may only be followed by
    quotes, backticks or spaces. ``set slot`` drops every trailing non-word character of the
    value (``50%`` -> ``50``).
  - ``v1`` (the deprecated generators): ``StartFlow(x)``, ``SetSlot(s, v)``, ``CancelFlow()``
    and friends, found anywhere in a line, every occurrence.
  - ``any``: commands typed by a developer; v2, v3 and v1 forms are all accepted.

  Blank lines and code-fence lines are ignored. Every other line that yields nothing is
  reported in `ParseResult.dropped` with a reason. A reply that yields nothing at all parses
  to a single `CannotHandle`. Parsing never raises on any text.

  Flow, slot and agent names are not checked against the project here; that is the
  cleaner's job.

* `parse_button_payload(text)` recognises ``/SetSlots(a=1, b=x)`` and ``/intent{"e": "v"}``
  payloads, which Rasa handles without the LLM. Slot existence is checked later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from workbench.calm.commands import (
    FROM_BUTTON,
    CancelFlow,
    CannotHandle,
    ChitChatAnswer,
    Clarify,
    Command,
    ContinueAgent,
    DroppedCommand,
    KnowledgeAnswer,
    RepeatBotMessages,
    RestartAgent,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from workbench.calm.values import JSONObject, JSONValue, SlotValue

__all__ = [
    "MAX_PAYLOAD_ASSIGNMENTS",
    "NULL_VALUES",
    "PAYLOAD_NULL_VALUES",
    "SYNTAXES",
    "SYNTAX_BY_GENERATOR",
    "IntentPayload",
    "ParseResult",
    "SetSlotsPayload",
    "Syntax",
    "parse_button_payload",
    "parse_commands",
    "write_commands",
]

Syntax = Literal["v1", "v2", "v3", "any"]
SYNTAXES: tuple[Syntax, ...] = ("v1", "v2", "v3", "any")

SYNTAX_BY_GENERATOR: dict[str, Syntax] = {
    "CompactLLMCommandGenerator": "v2",
    "SearchReadyLLMCommandGenerator": "v3",
    "SingleStepLLMCommandGenerator": "v1",
    "LLMCommandGenerator": "v1",
    "MultiStepLLMCommandGenerator": "v1",
}

# `set slot` values that mean "clear the slot" (exact, case-sensitive); the empty value too
NULL_VALUES = frozenset({"None", "null", "undefined", "[missing]", "[missing information]"})
# `/SetSlots(...)` values that mean null (compared lowercased)
PAYLOAD_NULL_VALUES = frozenset({"none", "null", "undefined"})
# Rasa ignores a `/SetSlots(...)` payload with more `=` than this (a guard against ReDoS)
MAX_PAYLOAD_ASSIGNMENTS = 10

_GENERATOR_BY_SYNTAX = {
    "v1": "SingleStepLLMCommandGenerator and the other deprecated generators",
    "v2": "CompactLLMCommandGenerator",
    "v3": "SearchReadyLLMCommandGenerator",
}


@dataclass(frozen=True)
class ParseResult:
    """The commands read from a reply, and the lines that yielded none (with the reason)."""

    commands: tuple[Command, ...]
    dropped: tuple[DroppedCommand, ...] = ()


@dataclass(frozen=True)
class SetSlotsPayload:
    """A ``/SetSlots(a=1, b=x)`` button payload.

    Values are strings, None (``null``/``none``/``undefined``) or lists of strings
    (``[x, y]``); coercion by slot type happens later. A payload with an `error` is void: its
    `slots` are empty and it yields no commands.
    """

    slots: tuple[tuple[str, SlotValue], ...]
    error: str | None = None

    def commands(self) -> tuple[SetSlot, ...]:
        if self.error is not None:
            return ()
        return tuple(
            SetSlot(slot=name, value=value, filled_by=FROM_BUTTON) for name, value in self.slots
        )


@dataclass(frozen=True)
class IntentPayload:
    """A ``/intent_name`` or ``/intent_name{"entity": "value"}`` payload."""

    intent: str
    entities: JSONObject = field(default_factory=dict, hash=False)


# --- lines -----------------------------------------------------------------------------------

# what may precede a command: digits, whitespace and punctuation (`\W` excludes `_`)
_PREFIX = re.compile(r"\A[\W\d]*")
_WORD_CHAR = re.compile(r"\w")
_FENCE = re.compile(r"(?:`{3,}|~{3,})\s*[\w+#.-]*")
_ID = re.compile(r"[A-Za-z0-9_-]+")
_SLOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_QUOTES = "'\"`"
_ONLY_QUOTES = re.compile(r"[\s'\"`]*")
_CLARIFY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'\", ")
_CLARIFY_CHARS_TEXT = "letters, digits, '_', '-', quotes, commas and spaces"

_ArgParser = Callable[[str], "Command | str"]


def _parse_id_argument(keyword: str, what: str, build: Callable[[str], Command]) -> _ArgParser:
    """`start flow <id>` / `restart agent <id>`: the id, optionally quoted; the rest is ignored."""

    def parse(rest: str) -> Command | str:
        if not rest.strip(_QUOTES + " "):
            return f"'{keyword}' needs an id: write '{keyword} <{what}_id>'"
        if not rest.startswith(" ") or rest.startswith("  "):
            return f"write exactly one space between '{keyword}' and the {what} id"
        after = rest[1:]
        if after[:1] in _QUOTES:
            after = after[1:]
        match = _ID.match(after)
        if match is None:
            return (
                f"invalid {what} id {rest.strip()!r}: {what} ids use only letters, digits, "
                "'_' and '-'"
            )
        return build(match.group())

    return parse


def _parse_set_slot(rest: str) -> Command | str:
    usage = "write 'set slot <slot> <value>'"
    if not rest.strip():
        return f"'set slot' needs a slot name and a value: {usage}"
    if not rest.startswith(" ") or rest.startswith("  "):
        return f"write exactly one space after 'set slot': {usage}"
    after = rest[1:]
    name = re.match(rf"[{_QUOTES}]?({_SLOT_NAME.pattern})[{_QUOTES}]?", after)
    after_name = after[name.end() :] if name else ""
    if name is None or (after_name and not after_name.startswith(" ")):
        token = after.split(" ", 1)[0]
        return (
            f"invalid slot name {token!r}: slot names start with a letter or '_' and use only "
            "letters, digits, '_' and '-'"
        )
    slot = name.group(1)
    if not after_name:
        return f"'set slot {slot}' has no value: write 'set slot {slot} <value>' (None clears it)"
    return SetSlot(slot=slot, value=_dsl_slot_value(after_name[1:]))


def _strip_trailing_non_word(text: str) -> str:
    end = len(text)
    while end and not _WORD_CHAR.match(text[end - 1]):
        end -= 1
    return text[:end]


def _dsl_slot_value(raw: str) -> str | None:
    """The v2/v3 value: minus one opening quote, every trailing non-word char, quotes, spaces."""
    if len(raw) > 1 and raw[0] in _QUOTES:
        raw = raw[1:]
    value = _strip_trailing_non_word(raw).strip("'\" ")
    return None if not value or value in NULL_VALUES else value


def _clarify_options(text: str) -> tuple[str, ...]:
    options = (opt.strip('"').strip("'") for opt in text.replace(",", " ").split())
    return tuple(sorted(opt for opt in options if opt))


def _parse_clarify(rest: str) -> Command | str:
    keyword = "disambiguate flows"
    if not rest.strip():
        return f"'{keyword}' needs the flow ids to choose from: write '{keyword} <flow_id> ...'"
    if not rest.startswith(" "):
        return f"write a space between '{keyword}' and the flow ids"
    options = _strip_trailing_non_word(rest[1:])
    bad = [char for char in options if char not in _CLARIFY_CHARS]
    if bad:
        return (
            f"'{keyword}' options may only contain {_CLARIFY_CHARS_TEXT}; "
            f"found {bad[0]!r}, so Rasa ignores the line"
        )
    return Clarify(options=_clarify_options(options))


def _no_argument(keyword: str, command: type[Command]) -> _ArgParser:
    def parse(rest: str) -> Command | str:
        if not _ONLY_QUOTES.fullmatch(rest):
            return (
                f"'{keyword}' takes no argument and may only be followed by quotes or "
                f"backticks; found {rest.strip()!r} after it, so Rasa ignores the line"
            )
        return command()

    return parse


# keyword -> (parser of the text after the keyword, syntaxes that have it)
_V2, _V3 = frozenset({"v2", "any"}), frozenset({"v3", "any"})
_V2_V3 = _V2 | _V3
_DSL: dict[str, tuple[_ArgParser, frozenset[str]]] = {
    "start flow": (_parse_id_argument("start flow", "flow", StartFlow), _V2_V3),
    "set slot": (_parse_set_slot, _V2_V3),
    "cancel flow": (_no_argument("cancel flow", CancelFlow), _V2_V3),
    "disambiguate flows": (_parse_clarify, _V2_V3),
    "provide info": (_no_argument("provide info", KnowledgeAnswer), _V2),
    "offtopic reply": (_no_argument("offtopic reply", ChitChatAnswer), _V2),
    "search and reply": (_no_argument("search and reply", KnowledgeAnswer), _V3),
    "repeat message": (_no_argument("repeat message", RepeatBotMessages), _V2_V3),
    "skip question": (_no_argument("skip question", SkipQuestion), _V2_V3),
    "continue agent": (_no_argument("continue agent", ContinueAgent), _V2_V3),
    "restart agent": (
        _parse_id_argument("restart agent", "agent", lambda agent: RestartAgent(agent=agent)),
        _V2_V3,
    ),
}
_DSL_USAGE = {
    "start flow": "start flow <flow_id>",
    "set slot": "set slot <slot> <value>",
    "disambiguate flows": "disambiguate flows <flow_id> ...",
    "restart agent": "restart agent <agent_id>",
}


def _keywords(syntax: str) -> list[str]:
    return [keyword for keyword, (_, syntaxes) in _DSL.items() if syntax in syntaxes]


# --- v1 ----------------------------------------------------------------------------------------

_V1_NAMES = (
    "StartFlow",
    "SetSlot",
    "CancelFlow",
    "Clarify",
    "SearchAndReply",
    "ChitChat",
    "SkipQuestion",
    "RepeatLastBotMessages",
    "ContinueAgent",
    "RestartAgent",
)
_V1_ANY_NAME = "|".join((*_V1_NAMES, "HumanHandoff"))
_V1_ID = r"""\s*['"]?([A-Za-z0-9_-]+)['"]?\s*"""


def _v1_set_slot(match: re.Match[str]) -> Command:
    value = match.group(2).strip("'\" ")
    return SetSlot(slot=match.group(1), value=None if not value or value in NULL_VALUES else value)


# Each pattern is searched for everywhere in a line. SetSlot's value runs to the `)` that is
# followed by another v1 command or by no further `)`, so `SetSlot(a, 1), SetSlot(b, 2)` gives
# two commands and `SetSlot(note, f(x))` keeps the inner parentheses.
_V1_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Command]], ...] = (
    (re.compile(rf"StartFlow\({_V1_ID}\)"), lambda m: StartFlow(flow=m.group(1))),
    (
        re.compile(
            r"""SetSlot\(\s*['"]?([A-Za-z_][A-Za-z0-9_-]*)['"]?\s*,\s*(.*?)\)"""
            rf"""(?=\s*[,;]?\s*(?:{_V1_ANY_NAME})\(|[^)]*\Z)"""
        ),
        _v1_set_slot,
    ),
    (re.compile(r"CancelFlow\(\s*\)"), lambda m: CancelFlow()),
    (
        re.compile(r"""Clarify\(([A-Za-z0-9_'", -]*)\)"""),
        lambda m: Clarify(options=_clarify_options(m.group(1))),
    ),
    (re.compile(r"SearchAndReply\(\s*\)"), lambda m: KnowledgeAnswer()),
    (re.compile(r"ChitChat\(\s*\)"), lambda m: ChitChatAnswer()),
    (re.compile(r"SkipQuestion\(\s*\)"), lambda m: SkipQuestion()),
    (re.compile(r"RepeatLastBotMessages\(\s*\)"), lambda m: RepeatBotMessages()),
    (re.compile(r"ContinueAgent\(\s*\)"), lambda m: ContinueAgent()),
    (re.compile(rf"RestartAgent\({_V1_ID}\)"), lambda m: RestartAgent(agent=m.group(1))),
)
_V1_USAGE = {
    "StartFlow": "StartFlow(flow_id)",
    "SetSlot": "SetSlot(slot_name, value)",
    "Clarify": "Clarify(flow_id, flow_id, ...)",
    "RestartAgent": "RestartAgent(agent_id)",
}
_V1_CALL = re.compile(r"([A-Za-z_]+)\s*\(")
_V1_BY_FOLDED = {name.lower(): name for name in (*_V1_NAMES, "HumanHandoff")}
_V1_EQUIVALENT = {
    "StartFlow": "start flow <flow_id>",
    "SetSlot": "set slot <slot> <value>",
    "CancelFlow": "cancel flow",
    "Clarify": "disambiguate flows <flow_id> ...",
    "SearchAndReply": "provide info",
    "ChitChat": "offtopic reply",
    "SkipQuestion": "skip question",
    "RepeatLastBotMessages": "repeat message",
    "ContinueAgent": "continue agent",
    "RestartAgent": "restart agent <agent_id>",
}
_DSL_AS_V1 = {
    "start flow": "StartFlow(flow_id)",
    "set slot": "SetSlot(slot_name, value)",
    "cancel flow": "CancelFlow()",
    "disambiguate flows": "Clarify(flow_id, flow_id, ...)",
    "provide info": "SearchAndReply()",
    "offtopic reply": "ChitChat()",
    "search and reply": "SearchAndReply()",
    "repeat message": "RepeatLastBotMessages()",
    "skip question": "SkipQuestion()",
    "continue agent": "ContinueAgent()",
    "restart agent": "RestartAgent(agent_id)",
}
_HANDOFF = "there is no hand-over command: a flow hands over with 'link: pattern_human_handoff'"


def _v1_commands(line: str) -> list[Command]:
    found: list[tuple[int, Command]] = []
    for pattern, build in _V1_PATTERNS:
        found.extend((match.start(), build(match)) for match in pattern.finditer(line))
    found.sort(key=lambda item: item[0])
    return [command for _, command in found]


def _v1_calls(line: str) -> list[tuple[str, str]]:
    """(written name, canonical v1 name) of every call-like word that folds to a v1 name."""
    calls = []
    for match in _V1_CALL.finditer(line):
        written = match.group(1)
        canonical = _V1_BY_FOLDED.get(written.replace("_", "").lower())
        if canonical is not None:
            calls.append((written, canonical))
    return calls


def _v1_reason(line: str, syntax: str) -> str | None:
    """Why a line with something that looks like a v1 call yielded nothing (None: no such call)."""
    calls = _v1_calls(line)
    if not calls:
        return None
    written, name = calls[0]
    if name == "HumanHandoff":
        return _HANDOFF
    if syntax in ("v2", "v3"):
        return (
            f"'{name}(...)' is v1 syntax (deprecated generators); the active {syntax} syntax "
            f"({_GENERATOR_BY_SYNTAX[syntax]}) expects '{_v1_as(name, syntax)}'"
        )
    if written != name:
        return f"v1 command names are case-sensitive CamelCase: write '{name}(...)'"
    if name in _V1_USAGE:
        if name == "Clarify":
            return (
                f"Clarify options may only contain {_CLARIFY_CHARS_TEXT}: write '{_V1_USAGE[name]}'"
            )
        return f"malformed {name}: write '{_V1_USAGE[name]}'"
    return f"{name}() takes no arguments: write '{name}()'"


def _v1_as(name: str, syntax: str) -> str:
    equivalent = _V1_EQUIVALENT[name]
    if syntax == "v3" and name in ("SearchAndReply", "ChitChat"):
        return "search and reply"
    return equivalent


# --- diagnosis -------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _dsl_reason(line: str, body: str, syntax: str) -> str:
    """Why a line with no (or a malformed) command yielded nothing."""
    active = _keywords(syntax)
    folded = _fold(body)
    # a keyword of another DSL syntax, or the right keyword in the wrong case/spacing
    for keyword in _DSL:
        if not folded.startswith(keyword):
            continue
        if keyword not in active:
            return _cross_syntax_reason(keyword, syntax)
        if body.lower().startswith(keyword):
            return f"commands are lowercase: write '{keyword}'"
        return f"write '{keyword}' in lowercase with single spaces"
    if folded.startswith(("hand over", "handover", "human handoff", "handoff")):
        return _HANDOFF
    if syntax == "v1":
        return f"no v1 command found: expected one of {_v1_usage_list()}"
    v1 = _v1_reason(line, syntax)
    if v1 is not None:
        return v1
    folded_line = line.lower()
    for keyword in active:
        if keyword in folded_line:
            return (
                f"text before '{keyword}': a command must start the line (only digits, spaces "
                "and punctuation other than '_' may precede it)"
            )
    usage = ", ".join(f"'{_DSL_USAGE.get(k, k)}'" for k in active)
    if syntax == "any":
        return f"not a command: write one of {usage}, or a v1 call such as 'StartFlow(flow_id)'"
    return f"not a command: the {syntax} syntax accepts {usage}"


def _cross_syntax_reason(keyword: str, syntax: str) -> str:
    if syntax == "v1":
        return f"'{keyword}' is v2/v3 syntax; the v1 syntax writes '{_DSL_AS_V1[keyword]}'"
    if keyword == "offtopic reply":  # only v3 lacks it
        return "the v3 syntax has no 'offtopic reply': off-topic messages use 'search and reply'"
    if keyword == "search and reply":
        return "'search and reply' is v3 syntax; the v2 syntax uses 'provide info'"
    return "'provide info' is v2 syntax; the v3 syntax uses 'search and reply'"


def _v1_usage_list() -> str:
    return ", ".join(f"'{_V1_USAGE.get(name, name + '()')}'" for name in _V1_NAMES)


# --- entry point -----------------------------------------------------------------------------


def _parse_line(line: str, syntax: str) -> tuple[list[Command], str]:
    """The commands of one stripped, non-blank line, or none and the reason."""
    commands: list[Command] = []
    reason: str | None = None
    body = _PREFIX.sub("", line, count=1)
    if syntax != "v1":
        for keyword in _keywords(syntax):
            if body.startswith(keyword):
                rest = body[len(keyword) :]
                if _WORD_CHAR.match(rest):
                    word = keyword + re.split(r"\W", rest, maxsplit=1)[0]
                    reason = f"unknown command {word!r}; did you mean '{keyword}'?"
                    break
                result = _DSL[keyword][0](rest)
                if isinstance(result, Command):
                    commands.append(result)
                else:
                    reason = result
                break
    if syntax in ("v1", "any"):
        commands.extend(_v1_commands(line))
        if not commands and reason is None:
            reason = _v1_reason(line, syntax)
    if commands:
        return commands, ""
    return [], reason or _dsl_reason(line, body, syntax)


def write_commands(commands: Sequence[Command], syntax: Syntax) -> str:
    """The commands as a model replying in `syntax` writes them, one per line; a command
    that syntax cannot say is left out (v3 has no `offtopic reply`: an off-topic message
    is answered with `search and reply`, as Rasa's v3 prompt asks)."""
    lines: list[str] = []
    for command in commands:
        line = _written(command, syntax)
        if line and line not in lines[-1:]:
            lines.append(line)
    return "\n".join(lines)


def _written(command: Command, syntax: Syntax) -> str | None:
    if syntax == "v3" and isinstance(command, (KnowledgeAnswer, ChitChatAnswer)):
        return "search and reply"
    if syntax != "v1":
        return command.to_dsl()
    if isinstance(command, StartFlow):
        return f"StartFlow({command.flow})"
    if isinstance(command, SetSlot):
        return f"SetSlot({command.slot}, {command.value})"
    if isinstance(command, Clarify):
        return f"Clarify({', '.join(command.options)})"
    if isinstance(command, RestartAgent):
        return f"RestartAgent({command.agent})"
    return _DSL_AS_V1.get(command.to_dsl())


def parse_commands(text: object, syntax: Syntax = "v2") -> ParseResult:
    """Parse a command generator's reply (or typed commands) in the given syntax.

    Raises ValueError only for an unknown `syntax`; never for any text.
    """
    if syntax not in SYNTAXES:
        raise ValueError(f"unknown command syntax {syntax!r}; expected one of {SYNTAXES}")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    commands: list[Command] = []
    dropped: list[DroppedCommand] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _FENCE.fullmatch(line):
            continue
        found, reason = _parse_line(line, syntax)
        if found:
            commands.extend(found)
        else:
            dropped.append(DroppedCommand(reason=reason, line=line))
    if not commands:
        commands.append(CannotHandle())
    return ParseResult(commands=tuple(commands), dropped=tuple(dropped))


# --- button payloads -------------------------------------------------------------------------

_SET_SLOTS = "/SetSlots"
_ASSIGNMENT = re.compile(
    r"""\s*(?P<name>[^=,]*)=\s*(?P<value>"[^"]*"|'[^']*'|\[[^\]]*\]|[^,]*?)\s*(?:,|\Z)"""
)
_LIST_ITEM = re.compile(r"""\s*("[^"]*"|'[^']*'|[^,]*?)\s*(,|\Z)""")
_INTENT = re.compile(r"/(?P<intent>\w[\w.-]*)(?:@[0-9.]+)?(?P<entities>\{.*\})?", re.DOTALL)


def parse_button_payload(text: object) -> SetSlotsPayload | IntentPayload | None:
    """Read a ``/SetSlots(...)`` or ``/intent{...}`` payload; None for any other text.

    A malformed ``/SetSlots`` payload is returned with its `error` set (and no slots).
    Invalid entity JSON after an intent is ignored (as Rasa does): the intent has no entities.
    """
    if not isinstance(text, str):
        return None
    payload = text.strip()
    if not payload.startswith("/"):
        return None
    after = payload[len(_SET_SLOTS) :]
    if payload.startswith(_SET_SLOTS) and not re.match(r"\w", after):
        return _parse_set_slots(payload)
    match = _INTENT.fullmatch(payload)
    if match is None:
        return None
    return IntentPayload(intent=match.group("intent"), entities=_entities(match.group("entities")))


def _entities(text: str | None) -> JSONObject:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return {str(key): value for key, value in data.items()} if isinstance(data, dict) else {}


def _void(reason: str) -> SetSlotsPayload:
    return SetSlotsPayload(slots=(), error=reason)


def _parse_set_slots(payload: str) -> SetSlotsPayload:
    usage = "expected '/SetSlots(slot=value, ...)'"
    assignments = payload.count("=")
    if assignments > MAX_PAYLOAD_ASSIGNMENTS:
        return _void(
            f"{assignments} '=' in the payload; Rasa ignores /SetSlots payloads with more than "
            f"{MAX_PAYLOAD_ASSIGNMENTS}"
        )
    rest = payload[len(_SET_SLOTS) :]
    if not rest.startswith("(") or not rest.endswith(")"):
        return _void(usage)
    body = rest[1:-1]
    if not body.strip():
        return _void(f"no slot assignments; {usage}")
    slots: list[tuple[str, SlotValue]] = []
    position = 0
    while position < len(body):
        match = _ASSIGNMENT.match(body, position)
        if match is None:
            return _void(f"malformed assignment {body[position:].strip()!r}; {usage}")
        name = match.group("name").strip()
        if not _SLOT_NAME.fullmatch(name):
            return _void(
                f"invalid slot name {name!r}: slot names start with a letter or '_' and use "
                "only letters, digits, '_' and '-'"
            )
        value, error = _payload_value(match.group("value").strip())
        if error is not None:
            return _void(f"slot '{name}': {error}")
        slots.append((name, value))
        position = match.end()
    return SetSlotsPayload(slots=tuple(slots))


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    return text


def _payload_value(raw: str) -> tuple[SlotValue, str | None]:
    """(value, error): a quoted string is taken literally; `[a, b]` is a list of strings."""
    if not raw:
        return None, "no value (write slot=null to clear it)"
    if raw[0] in "'\"":
        if len(raw) < 2 or raw[-1] != raw[0]:
            return None, f"unbalanced quote in {raw!r}"
        return raw[1:-1], None
    if raw[0] == "[":
        if raw[-1] != "]":
            return None, f"unclosed list {raw!r}"
        return _payload_list(raw[1:-1])
    if "(" in raw or ")" in raw:
        return None, f"unquoted value {raw!r} contains a parenthesis; quote it"
    return (None if raw.lower() in PAYLOAD_NULL_VALUES else raw), None


def _payload_list(inner: str) -> tuple[SlotValue, str | None]:
    items: list[JSONValue] = []
    position = 0
    while True:
        match = _LIST_ITEM.match(inner, position)
        if match is None:
            return None, f"malformed list item {inner[position:].strip()!r}"
        if match.group(1):
            items.append(_unquote(match.group(1)))
        if not match.group(2):
            return items, None
        position = match.end()
