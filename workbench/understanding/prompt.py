"""The command prompt: what the model is told about the project and the conversation.

`render_prompt` renders one of three templates (`prompt_source` says which):
- the project's `prompt_template` (a path relative to the project root, written for Rasa);
- else Rasa's own default template for the generator and model, read from the installed
  rasa-pro with the variables Rasa computes (`rasa_prompt.py`), unless the project asks
  for the workbench's (`--prompt workbench`, `prompt: workbench` in workbench.yml);
- else the workbench's own (`templates/command_prompt.jinja2`).
The project's and the workbench's template get the variables Rasa's command generators
pass to their templates, so a Rasa prompt template renders unchanged:

    available_flows             [{name (the flow id), description, slots: [{name,
                                description, allowed_values}]}]; allowed_values is Rasa's
                                string form: "[True, False]" or "['a', 'b']", else None
    current_conversation        the last 20 transcript lines + "USER: <message>"
    flow_slots                  slots of the active flow: [{name, value ("undefined" when
                                unset), type, allowed_values, description}]
    current_flow                the active flow (or pattern) id, or None
    current_slot, current_slot_description, current_slot_type,
    current_slot_allowed_values the slot being asked, if a collect step is open
    user_message, last_user_message
    is_repeat_command_enabled   True
    current_datetime            an aware datetime (when `include_date_time`, default true)

plus the filter `to_json_escaped_string`. The workbench's template also gets
`flow_lines` (a line per flow and one per slot), `state_lines`, `history_lines`,
`actions` (the action lines of the generator's syntax), `assistant_id`, `timezone` and
`syntax`. Templates render in a sandboxed Jinja environment; a broken template becomes a
`PromptTemplateError` naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from workbench.calm.names import PATTERN_COLLECT_INFORMATION
from workbench.calm.values import JSONObject, JSONValue
from workbench.engine import events as ev
from workbench.engine.events import Event
from workbench.engine.tracker import Tracker
from workbench.project.model import Flow, Project, Step
from workbench.understanding.dsl.parser import SYNTAX_BY_GENERATOR, Syntax
from workbench.understanding.prompt_files import (
    PromptTemplateError,
    packaged_template,
    project_template,
    render_error,
    template_from_text,
)
from workbench.understanding.rasa_prompt import (
    active_agent_info,
    active_frames,
    completed_agents_info,
    flow_agent_info,
    rasa_installed,
    rasa_prompt_variables,
    rasa_template,
)
from workbench.understanding.retrieval import allowed_values, collect_steps

if TYPE_CHECKING:
    from jinja2 import Template

MAX_HISTORY_LINES = 20
COLLECT_PATTERN = PATTERN_COLLECT_INFORMATION
DEFAULT_TEMPLATE = "command_prompt.jinja2"
ERROR_PLACEHOLDERS = {
    "rasa_internal_error_user_input_too_long": "[User sent really long message]",
    "rasa_internal_error_user_input_empty": "",
}
ERROR_PLACEHOLDER_DEFAULT = "[User input triggered an error]"


@dataclass(frozen=True)
class ActionLine:
    line: str
    use: str


_START = ActionLine("start flow FLOW_ID", "the user wants what the flow does")
_SET = ActionLine(
    "set slot SLOT VALUE", "the user gave a value for a slot of an active or new flow"
)
_CANCEL = ActionLine("cancel flow", "the user wants to stop the active flow")
_CLARIFY = ActionLine(
    "disambiguate flows FLOW_ID FLOW_ID ...", "several flows fit and you cannot tell which"
)
_REPEAT = ActionLine("repeat message", "the user wants the last message again")
ACTIONS: dict[str, tuple[ActionLine, ...]] = {
    "v2": (
        _START,
        _SET,
        _CANCEL,
        _CLARIFY,
        ActionLine("provide info", "a question about the business that no flow handles"),
        ActionLine("offtopic reply", "small talk or anything unrelated"),
        _REPEAT,
    ),
    "v3": (
        _START,
        _SET,
        _CANCEL,
        _CLARIFY,
        ActionLine("search and reply", "a question no flow handles, or small talk"),
        _REPEAT,
    ),
    "v1": (
        ActionLine("StartFlow(FLOW_ID)", _START.use),
        ActionLine("SetSlot(SLOT, VALUE)", _SET.use),
        ActionLine("CancelFlow()", _CANCEL.use),
        ActionLine("Clarify(FLOW_ID, FLOW_ID, ...)", _CLARIFY.use),
        ActionLine("SearchAndReply()", "a question about the business that no flow handles"),
        ActionLine("ChitChat()", "small talk or anything unrelated"),
        ActionLine("RepeatLastBotMessages()", _REPEAT.use),
    ),
}


# --- rendering -------------------------------------------------------------------------------


def syntax_for(project: Project) -> Syntax:
    generator = project.config.command_generator
    name = generator.name if generator is not None else "CompactLLMCommandGenerator"
    return SYNTAX_BY_GENERATOR.get(name, "v2")


def render_prompt(
    project: Project,
    tracker: Tracker,
    message: str,
    flows: Sequence[Flow],
    *,
    syntax: Syntax | None = None,
    now: datetime | None = None,
    use: str | None = None,
) -> str:
    """The prompt for `message` (not yet in the tracker) with `flows` offered to the model.
    `use` ("rasa" or "workbench") renders that template whatever the project names."""
    template, source = load_template(project, use)
    name = source.name
    if source.kind == RASA:
        variables = rasa_prompt_variables(project, tracker, message, flows, now=now)
    else:
        variables = prompt_variables(project, tracker, message, flows, syntax=syntax, now=now)
    try:
        return template.render(**variables)
    except Exception as error:  # sandbox violations, undefined callables, type errors, ...
        raise PromptTemplateError(render_error(name, error)) from None


def prompt_variables(
    project: Project,
    tracker: Tracker,
    message: str,
    flows: Sequence[Flow],
    *,
    syntax: Syntax | None = None,
    now: datetime | None = None,
) -> JSONObject:
    syntax = syntax or syntax_for(project)
    user_message = sanitize(message)
    history = transcript(tracker)
    state = _State.of(project, tracker)
    available = [_flow_for_template(project, tracker, flow) for flow in flows]
    generator = project.config.command_generator
    raw = generator.raw if generator is not None else {}
    zone_name, zone = _zone(raw.get("timezone"))
    current_datetime = None
    if raw.get("include_date_time", True) is not False:
        current_datetime = (now or datetime.now(timezone.utc)).astimezone(zone)
    current_slot_values = allowed_values(project, state.slot) if state.slot else None
    return {
        # Rasa's names
        "available_flows": available,
        "current_conversation": "\n".join(history) + f"\nUSER: {user_message}",
        "flow_slots": state.flow_slots,
        "current_flow": state.flow_id,
        "current_slot": state.slot,
        "current_slot_description": state.slot_description,
        "current_slot_type": state.slot_type,
        "current_slot_allowed_values": _rasa_values(current_slot_values),
        "user_message": user_message,
        "last_user_message": user_message,
        "is_repeat_command_enabled": True,
        "current_datetime": current_datetime,
        **_agent_variables(project, tracker, state.flow_id),
        # the workbench template's
        "assistant_id": project.config.assistant_id,
        "timezone": zone_name,
        "syntax": syntax,
        "actions": ACTIONS.get(syntax, ACTIONS["v2"]),
        "flow_lines": [line for flow in available for line in _flow_lines(flow)],
        "state_lines": _state_lines(state, current_slot_values, current_datetime, zone_name),
        "history_lines": history,
    }


def _agent_variables(project: Project, tracker: Tracker, flow_id: str | None) -> JSONObject:
    """Rasa's agent variables, in projects with sub-agents."""
    if not project.agents:
        return {}
    return {
        "active_agent": active_agent_info(project, tracker, flow_id),
        "completed_agents": completed_agents_info(project, tracker),
    }


def sanitize(text: str | None) -> str:
    """Newlines become spaces (as in Rasa); a run of triple quotes cannot close the
    quoted message block of the workbench template."""
    flat = (text or "").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return re.sub(r'"{3,}', '"', flat)


def transcript(tracker: Tracker, max_lines: int = MAX_HISTORY_LINES) -> list[str]:
    """`USER: ...` / `AI: ...` lines of this session (after the last restart or session
    start), newlines flattened, buttons listed, errored inputs as placeholders. Read
    from the end, so a long conversation costs no more than a short one."""
    lines: list[str] = []
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            break
        line = _transcript_line(event)
        if line:
            lines.append(line)
            if max_lines and len(lines) >= max_lines:
                break
    return lines[::-1]


def _transcript_line(event: JSONObject) -> str:
    kind = event.get("event")
    if kind == "user":
        return f"USER: {_user_text(event)}"
    if kind != "bot":
        return ""
    text = sanitize(ev.text(event))
    buttons = ev.records(ev.record(event, "data").get("buttons"))
    if buttons:
        listed = ", ".join(
            f'button {i}: "{sanitize(str(b.get("title", "")))}"'
            for i, b in enumerate(buttons, 1)
            if isinstance(b, dict)
        )
        text = f"{text} {listed}".strip()
    return f"AI: {text}" if text else ""


def _user_text(event: Event) -> str:
    for command in ev.records(ev.record(event, "parse_data").get("commands")):
        if isinstance(command, dict) and command.get("command") == "error":
            kind = command.get("error_type")
            if isinstance(kind, str):
                return ERROR_PLACEHOLDERS.get(kind, ERROR_PLACEHOLDER_DEFAULT)
            return ERROR_PLACEHOLDER_DEFAULT
    return sanitize(ev.text(event))


# --- the state of the dialogue ---------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    flow_id: str | None = None
    flow: Flow | None = None
    step: Step | None = None
    slot: str | None = None
    slot_description: str | None = None
    slot_type: str | None = None
    flow_slots: tuple[JSONObject, ...] = ()

    @classmethod
    def of(cls, project: Project, tracker: Tracker) -> _State:
        """As Rasa: the active flow is the topmost flow frame, looking through the
        collect pattern and through `call` frames (the called flow's step is the one
        asking)."""
        calling, called = active_frames(tracker)
        if calling is None or called is None:
            return cls()
        flow = project.flow(calling.flow_id or "")
        called_flow = project.flow(called.flow_id or "")
        step = called_flow.step(called.step_id) if called_flow else None
        slot = step.collect if step is not None and step.kind == "collect" else None
        top = tracker.stack.top()
        if top is not None and top.type == COLLECT_PATTERN and top.context.get("collect"):
            slot = str(top.context["collect"])
        definition = project.slot(slot) if slot else None
        description = None
        if slot:
            description = (step.description if step and step.collect == slot else None) or (
                definition.description if definition else None
            )
        flow_slots: list[JSONObject] = []
        if flow is not None:
            for collect in collect_steps(project, flow):
                name = collect.collect or ""
                slot_def = project.slot(name)
                if slot_def is None or not _extractable(collect, tracker, slot):
                    continue
                value = tracker.get_slot(name)
                flow_slots.append(
                    {
                        "name": name,
                        "value": "undefined" if value is None else str(value),
                        "type": slot_def.type,
                        "allowed_values": _rasa_values(allowed_values(project, name)),
                        "description": collect.description or slot_def.description,
                    }
                )
        return cls(
            flow_id=calling.flow_id,
            flow=flow,
            step=step,
            slot=slot,
            slot_description=description,
            slot_type=definition.type if definition else None,
            flow_slots=tuple(flow_slots),
        )


def _extractable(step: Step, tracker: Tracker, asked: str | None = None) -> bool:
    """Rasa's rule: a collect step's slot is offered unless it must be asked first
    (`ask_before_filling`) and is neither set already nor being asked now."""
    return (
        not step.ask_before_filling
        or tracker.get_slot(step.collect or "") is not None
        or (asked is not None and step.collect == asked)
    )


class TemplateSlot(TypedDict):
    """A slot of an available flow, as Rasa's prompt template reads it."""

    name: str
    description: str | None
    allowed_values: str | None
    type: str
    values: list[JSONValue] | None


class _FlowFields(TypedDict):
    name: str
    id: str
    description: str | None
    slots: list[TemplateSlot]


class TemplateFlow(_FlowFields, total=False):
    """An available flow, as Rasa's prompt template reads it (`available_flows`)."""

    agent_info: list[JSONValue]  # the agents started in it (projects with sub-agents)


def _flow_for_template(project: Project, tracker: Tracker, flow: Flow) -> TemplateFlow:
    slots: list[TemplateSlot] = []
    for step in collect_steps(project, flow):
        name = step.collect or ""
        definition = project.slot(name)
        if definition is None or not _extractable(step, tracker):
            continue
        values = allowed_values(project, name)
        slots.append(
            {
                "name": name,
                "description": step.description or definition.description,
                "allowed_values": _rasa_values(values),
                "type": definition.type,
                "values": values,
            }
        )
    listed: TemplateFlow = {
        "name": flow.id,
        "id": flow.id,
        "description": flow.description,
        "slots": slots,
    }
    agents = flow_agent_info(project, tracker, flow.id)
    if agents:
        listed["agent_info"] = agents
    return listed


def _flow_lines(flow: TemplateFlow) -> list[str]:
    """`flow_id: description`, then one indented line per slot: `name [allowed values]:
    description` (` (number)` marks a float slot; text slots need no mark). Plain lines
    cost fewer tokens than JSON and say the same."""
    lines = [f"{flow['id']}: {_one_line(flow['description'])}".rstrip()]
    for slot in flow["slots"]:
        line = f"  {slot['name']}"
        if slot["type"] == "float":
            line += " (number)"
        if slot["values"] is not None:
            line += " [" + ", ".join(str(_dsl_value(v)) for v in slot["values"]) + "]"
        if slot["description"]:
            line += f": {_one_line(slot['description'])}"
        lines.append(line)
    return lines


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _state_lines(
    state: _State,
    values: list[JSONValue] | None,
    now: datetime | None,
    zone_name: str,
) -> list[str]:
    lines: list[str] = []
    if state.flow_id is None:
        lines.append("No active flow.")
    else:
        lines.append(f"Active flow: {state.flow_id}")
        if state.slot:
            text = f"Open question: {state.slot}"
            if state.slot_type:
                text += f" ({state.slot_type})"
            if values:
                text += " [" + ", ".join(str(_dsl_value(v)) for v in values) + "]"
            if state.slot_description:
                text += f": {_one_line(state.slot_description)}"
            lines.append(text)
        if state.flow_slots:
            lines.append("Slots of the active flow:")
            lines.extend(
                f"  {slot['name']}: "
                + ("unset" if slot["value"] == "undefined" else _one_line(str(slot["value"])))
                for slot in state.flow_slots
            )
    if now is not None:
        lines.append(f"Now: {now.strftime('%A %d %B %Y, %H:%M')} ({zone_name})")
    return lines


def _dsl_value(value: object) -> JSONValue:
    return str(value) if isinstance(value, bool) else value


def _rasa_values(values: list[JSONValue] | None) -> str | None:
    return str(values) if values is not None else None


def _zone(name: object) -> tuple[str, tzinfo]:
    if not name or str(name).upper() == "UTC":
        return "UTC", timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return str(name), ZoneInfo(str(name))
    except Exception:  # unknown zone, or no tz database on this machine
        return "UTC", timezone.utc


# --- templates -------------------------------------------------------------------------------


PROJECT, RASA, WORKBENCH = "project", "rasa", "workbench"


@dataclass(frozen=True)
class PromptSource:
    """Which template the command prompt is rendered from: the project's `prompt_template`,
    Rasa's default (`name` is its file in the installed rasa-pro) or the workbench's;
    `note` says why the workbench's is used where Rasa's was asked for."""

    kind: str
    name: str
    note: str = ""

    @property
    def label(self) -> str:
        if self.kind == PROJECT:
            return f"project prompt {self.name}"
        if self.kind == RASA:
            return f"Rasa prompt {self.name}"
        return f"workbench prompt ({self.note})" if self.note else "workbench prompt"

    @property
    def brief(self) -> str:
        """For a header: "Rasa prompt", "project prompt", "workbench prompt"."""
        return {PROJECT: "project prompt", RASA: "Rasa prompt"}.get(self.kind, "workbench prompt")


def unpassed_variables(project: Project) -> list[str]:
    """The variables the project's own prompt template reads that the generator never
    passes (they render empty, as in Rasa): a notice on every turn until fixed."""
    source = prompt_source(project)
    if source.kind != PROJECT:
        return []
    path = Path(source.name)
    path = path if path.is_absolute() else project.root / path
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return []
    return list(_unpassed(str(path), stamp))


@lru_cache(maxsize=8)
def _unpassed(path: str, _stamp: int) -> tuple[str, ...]:
    from workbench.project.template_vars import (
        COMMAND_PROMPT_VARIABLES,
        template_source,
        undeclared_variables,
    )

    text = template_source(Path(path)) or ""
    return tuple(name for name, _ in undeclared_variables(text, COMMAND_PROMPT_VARIABLES))


def prompt_source(project: Project, use: str | None = None) -> PromptSource:
    generator = project.config.command_generator
    configured = generator.prompt_template if generator is not None else None
    if configured and use is None:
        return PromptSource(PROJECT, configured)
    if (use or project.prompt) == WORKBENCH:
        return PromptSource(WORKBENCH, DEFAULT_TEMPLATE)
    found = rasa_template(project)
    if found is not None:
        return PromptSource(RASA, found.name)
    note = ""
    if (use or project.prompt) == RASA:
        name = generator.name if generator is not None else "the generator"
        note = (
            f"Rasa has no single default prompt for {name}"
            if rasa_installed()
            else "Rasa's was asked for, but rasa-pro is not installed"
        )
    return PromptSource(WORKBENCH, DEFAULT_TEMPLATE, note)


def load_template(project: Project, use: str | None = None) -> tuple[Template, PromptSource]:
    """The compiled template for the project and where it comes from."""
    source = prompt_source(project, use)
    if source.kind == PROJECT:
        return project_template(project.root, source.name), source
    if source.kind == RASA:
        found = rasa_template(project)
        if found is not None:
            return template_from_text(found.source), source
    return packaged_template("workbench.understanding", DEFAULT_TEMPLATE), source
