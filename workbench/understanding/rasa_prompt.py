"""Rasa's own default command prompt, read from the Rasa Pro installed beside the workbench.

When a project names no `prompt_template`, Rasa's command generator renders a default
template that ships inside the `rasa` package, picked by the generator and the
configured model. Where `rasa` is importable, the workbench renders that very file (it
is never copied into the workbench) with the variables Rasa passes, so the model sees
the prompt it would see under Rasa, byte for byte.

The file is located from the package's import spec, without importing `rasa`: importing
the package that holds the templates loads Rasa's whole command-generator stack, which
takes seconds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from pathlib import Path

from workbench.calm.values import JSONObject, JSONValue
from workbench.engine import events as ev
from workbench.engine.external_calls import active_agent_frame, agent_completed
from workbench.engine.stack import CALL, Frame
from workbench.engine.tracker import Tracker
from workbench.project.model import Flow, Project, Step

TEMPLATES_PACKAGE = ("dialogue_understanding", "generator", "prompt_templates")
MOCKED_DATETIME_SLOT = "mocked_datetime"
OTHER_VALUE = "__other__"
ERROR_PLACEHOLDERS = {
    "rasa_internal_error_user_input_too_long": "[User sent really long message]",
    "rasa_internal_error_user_input_empty": "",
}
ERROR_PLACEHOLDER_DEFAULT = "[User input triggered an error]"
MAX_TRANSCRIPT_LINES = 20

# The command syntax of each generator's default templates (`command_prompt_<syntax>_…`);
# the single-step generators have one template whatever the model.
_SYNTAX_TEMPLATES = {
    "CompactLLMCommandGenerator": "v2",
    "SearchReadyLLMCommandGenerator": "v3",
}
_SINGLE_STEP_TEMPLATE = "command_prompt_template.jinja2"
_SINGLE_STEP_GENERATORS = ("SingleStepLLMCommandGenerator", "LLMCommandGenerator")
# The model Rasa uses when the configured one has no template of its own.
_DEFAULT_MODEL_TAG = "gpt_5_1_2025_11_13"
# Models with a template of their own, by the name Rasa builds from the configuration
# (`provider/model`, or the model alone when it already names the provider).
_GPT_MODELS = {
    "gpt-4o-2024-11-20": "gpt_4o_2024_11_20",
    "gpt-5.1-2025-11-13": "gpt_5_1_2025_11_13",
    "gpt-5.2-2025-12-11": "gpt_5_2_2025_12_11",
}
_CLAUDE_MODELS = {
    "claude-3-5-sonnet-20240620": "claude_3_5_sonnet_20240620",
    "claude-sonnet-4-5-20250929": "claude_sonnet_4_5_20250929",
}
_CLAUDE_SONNET_4_6 = "claude-sonnet-4-6"  # shares the 4.5 template


def _model_tags() -> dict[str, str]:
    tags: dict[str, str] = {}
    for model, tag in _GPT_MODELS.items():
        tags[f"openai/{model}"] = tags[f"azure/{model}"] = tag
    for model, tag in _CLAUDE_MODELS.items():
        tags[f"anthropic/{model}"] = tags[f"bedrock/anthropic.{model}-v1:0"] = tag
    sonnet_4_5 = _CLAUDE_MODELS["claude-sonnet-4-5-20250929"]
    tags[f"anthropic/{_CLAUDE_SONNET_4_6}"] = sonnet_4_5
    tags[f"bedrock/anthropic.{_CLAUDE_SONNET_4_6}"] = sonnet_4_5
    return tags


MODEL_TAGS = _model_tags()


# --- where the templates are ----------------------------------------------------------------


@lru_cache(maxsize=1)
def rasa_templates_folder() -> Path | None:
    """The folder of Rasa's prompt templates in the installed `rasa` package, or None
    when `rasa` is not importable here (looked up once)."""
    return find_rasa_templates()


def find_rasa_templates() -> Path | None:
    try:
        spec = importlib.util.find_spec("rasa")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location).joinpath(*TEMPLATES_PACKAGE)
        if folder.is_dir():
            return folder
    return None


def rasa_installed() -> bool:
    return rasa_templates_folder() is not None


@dataclass(frozen=True)
class RasaTemplate:
    """The default template Rasa would render for a project: its file name and source."""

    name: str
    source: str


def rasa_template(project: Project) -> RasaTemplate | None:
    """The installed Rasa's default template for the project's command generator and
    model, or None (no Rasa here, or a generator without a single prompt)."""
    folder = rasa_templates_folder()
    if folder is None:
        return None
    for name in template_names(project):
        path = folder / name
        if path.is_file():
            return RasaTemplate(name, _read(str(path)))
    return None


@lru_cache(maxsize=8)
def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def template_names(project: Project) -> list[str]:
    """The file Rasa picks for the project, then the one it falls back on: by the
    generator, the configured provider and model, and whether the project has
    sub-agents (their templates are the `agent_` ones)."""
    generator = project.config.command_generator
    name = generator.name if generator is not None else "CompactLLMCommandGenerator"
    if name in _SINGLE_STEP_GENERATORS:
        return [_SINGLE_STEP_TEMPLATE]
    syntax = _SYNTAX_TEMPLATES.get(name)
    if syntax is None:
        return []
    prefix = "agent_" if project.agents else ""
    default = f"{prefix}command_prompt_{syntax}_{_DEFAULT_MODEL_TAG}_template.jinja2"
    tag = MODEL_TAGS.get(_full_model_name(project) or "")
    if tag is None:
        return [default]
    return [f"{prefix}command_prompt_{syntax}_{tag}_template.jinja2", default]


def _full_model_name(project: Project) -> str | None:
    """`provider/model` as Rasa forms it from the generator's `llm` (the first model of
    a model group); the model alone when it already contains the provider's name."""
    generator = project.config.command_generator
    llm = generator.llm if generator is not None else {}
    provider: object = llm.get("provider")
    model: object = llm.get("model")
    group_id = llm.get("model_group")
    if group_id:
        group = project.endpoints.model_groups.get(str(group_id))
        first = group.models[0] if group is not None and group.models else None
        provider, model = (first.provider, first.model) if first else (None, None)
    if not model:
        return None
    model, provider = str(model), str(provider) if provider else None
    return model if provider and provider in model else f"{provider}/{model}"


# --- the variables Rasa passes ---------------------------------------------------------------


def rasa_prompt_variables(
    project: Project,
    tracker: Tracker,
    message: str,
    flows: Sequence[Flow],
    *,
    now: datetime | None = None,
) -> JSONObject:
    """The variables Rasa's single-step command generators pass to their template, as
    Rasa computes them: slots described by their collect step only, collect steps of
    called flows included, slots asked first (`ask_before_filling`) offered once set."""
    calling_frame, called = active_frames(tracker)
    calling = project.flow(calling_frame.flow_id or "") if calling_frame is not None else None
    step = _current_step(project, called)
    current_slot = step.collect if step is not None and step.kind == "collect" else None
    slot = project.slot(current_slot) if current_slot else None
    user_message = sanitize(message)
    variables: JSONObject = {
        "available_flows": [_available_flow(project, tracker, flow) for flow in flows],
        "current_conversation": rasa_transcript(tracker, highlight_agents=bool(project.agents))
        + f"\nUSER: {user_message}",
        "flow_slots": _flow_slots(project, tracker, calling, step),
        "current_flow": calling.id if calling is not None else None,
        "current_slot": current_slot,
        "current_slot_description": step.description if current_slot and step else None,
        "current_slot_type": slot.type if slot is not None else None,
        "current_slot_allowed_values": rasa_allowed_values(project, current_slot)
        if current_slot
        else None,
        "user_message": user_message,
    }
    if project.agents:
        flow_id = calling.id if calling is not None else None
        variables["active_agent"] = active_agent_info(project, tracker, flow_id)
        variables["completed_agents"] = completed_agents_info(project, tracker)
    generator = project.config.command_generator
    raw = generator.raw if generator is not None else {}
    if raw.get("include_date_time", True):
        variables["current_datetime"] = _current_datetime(tracker, raw.get("timezone"), now)
    return variables


def active_frames(tracker: Tracker) -> tuple[Frame | None, Frame | None]:
    """(the topmost flow frame, looking through `call` frames; the topmost flow frame
    itself), neither being the collect pattern's, as Rasa finds them: the first is the
    active flow, the second the one whose step is asking."""
    calling: Frame | None = None
    called: Frame | None = None
    for frame in reversed(tracker.stack.frames):
        if not frame.is_flow_frame or frame.type == "pattern_collect_information":
            continue
        if called is None:
            called = frame
        if frame.is_user_flow and frame.frame_type == CALL:
            continue
        calling = frame
        break
    return calling, called


def _current_step(project: Project, frame: Frame | None) -> Step | None:
    if frame is None or not frame.flow_id or not frame.step_id:
        return None
    flow = project.flow(frame.flow_id)
    return flow.step(frame.step_id) if flow is not None else None


def collect_steps_resolved(project: Project, flow: Flow) -> list[Step]:
    """Every collect step of the flow in Rasa's order (depth first, branches included),
    the steps of the flows it `call`s in place of the call, repeats kept."""
    found: list[Step] = []

    def visit(current: Flow, path: tuple[str, ...]) -> None:
        for step in current.steps:
            if step.kind == "collect" and step.collect:
                found.append(step)
            elif step.kind == "call" and step.call and not step.calls_mcp_tool:
                called = project.flow(step.call)
                if called is not None and called.id not in path:
                    visit(called, (*path, called.id))

    visit(flow, (flow.id,))
    return found


def _has_been_set(tracker: Tracker, name: str) -> bool:
    """Whether a slot event for `name` happened in this session (Rasa's `has_been_set`:
    a restart or a new session resets it)."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            return False
        if kind == "slot" and event.get("name") == name:
            return True
    return False


def _extractable(
    project: Project, tracker: Tracker, step: Step, current: Step | None = None
) -> bool:
    name = step.collect or ""
    if project.slot(name) is None:
        return False
    return (
        not step.ask_before_filling
        or _has_been_set(tracker, name)
        or (current is not None and current.kind == "collect" and current.collect == name)
    )


def _available_flow(project: Project, tracker: Tracker, flow: Flow) -> JSONObject:
    slots: list[JSONValue] = [
        {
            "name": step.collect,
            "description": step.description,
            "allowed_values": rasa_allowed_values(project, step.collect or ""),
        }
        for step in collect_steps_resolved(project, flow)
        if _extractable(project, tracker, step)
    ]
    # Rasa passes the description as written (a YAML block keeps its last newline)
    description = flow.raw.get("description", flow.description)
    listed: JSONObject = {"name": flow.id, "description": description, "slots": slots}
    agents = flow_agent_info(project, tracker, flow.id)
    if agents:
        listed["agent_info"] = agents
    return listed


def flow_agent_info(project: Project, tracker: Tracker, flow_id: str) -> list[JSONValue]:
    """The agents started in this flow, once per start, as Rasa lists them."""
    if not project.agents:
        return []
    started = [
        _agent_info(project, str(event.get("agent_id")))
        for event in tracker.events
        if event.get("event") == "agent_started" and event.get("flow_id") == flow_id
    ]
    return [info for info in started if info is not None]


def _agent_info(project: Project, name: str) -> JSONObject | None:
    agent = project.agents.get(name)
    return {"name": agent.name, "description": agent.description} if agent else None


def active_agent_info(project: Project, tracker: Tracker, flow_id: str | None) -> JSONObject | None:
    """The agent of the active flow that waits for the user (Rasa's `active_agent`)."""
    frame = active_agent_frame(tracker, flow_id) if flow_id is not None else None
    return _agent_info(project, frame.text("agent_id") or "") if frame is not None else None


def completed_agents_info(project: Project, tracker: Tracker) -> list[JSONValue]:
    """The agents that completed in the active flow and have not started again since
    (Rasa's `completed_agents`), in the order they first completed."""
    top = tracker.stack.top_user_frame()
    if top is None:
        return []
    completed = dict.fromkeys(
        str(e.get("agent_id"))
        for e in tracker.events
        if e.get("event") == "agent_completed" and e.get("flow_id") == top.flow_id
    )
    infos = [_agent_info(project, name) for name in completed if agent_completed(tracker, name)]
    return [info for info in infos if info is not None]


def _flow_slots(
    project: Project, tracker: Tracker, flow: Flow | None, current: Step | None
) -> list[JSONValue]:
    if flow is None:
        return []
    seen: set[tuple[str, str | None]] = set()
    slots: list[JSONValue] = []
    for step in collect_steps_resolved(project, flow):
        name = step.collect or ""
        if (name, step.description) in seen:
            continue
        seen.add((name, step.description))
        if not _extractable(project, tracker, step, current):
            continue
        slot = project.slot(name)
        value = tracker.get_slot(name)
        slots.append(
            {
                "name": name,
                "value": "undefined" if value is None else str(value),
                "type": slot.type if slot is not None else None,
                "allowed_values": rasa_allowed_values(project, name),
                "description": step.description,
            }
        )
    return slots


def rasa_allowed_values(project: Project, name: str) -> str | None:
    """Rasa's text for a slot's values: "[True, False]", "['a', 'b']" or None."""
    slot = project.slot(name)
    if slot is None:
        return None
    if slot.type == "bool":
        return str([True, False])
    if slot.type == "categorical":
        return str([str(v) for v in slot.values if v is not None and str(v) != OTHER_VALUE])
    return None


def sanitize(text: str | None) -> str:
    """Rasa's: newlines become spaces, nothing else changes."""
    return text.replace("\n", " ") if text else ""


def rasa_transcript(tracker: Tracker, highlight_agents: bool = False) -> str:
    """`USER: …` / `AI: …` lines of this session, the last 20, as Rasa writes them; with
    `highlight_agents` (a project with sub-agents) an agent's lines are its own, named
    after it instead of `AI`."""
    lines: list[str] = []
    speakers = _agent_speakers(tracker) if highlight_agents else {}
    for position in range(len(tracker.events) - 1, -1, -1):
        event = tracker.events[position]
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            break
        if kind == "user":
            lines.append(f"USER: {_user_text(event)}")
        elif kind == "bot":
            parts = []
            text = sanitize(ev.text(event))
            if text:
                parts.append(text)
            buttons = ev.record(event, "data").get("buttons")
            if isinstance(buttons, list) and buttons:
                parts.append(_buttons_text(buttons))
            line = " ".join(parts)
            if line:
                lines.append(f"{speakers.get(position, 'AI')}: {line}")
    return "\n".join(lines[:MAX_TRANSCRIPT_LINES][::-1])


def _agent_speakers(tracker: Tracker) -> dict[int, str]:
    """The agent speaking at each bot event, by position: from an agent's start (or
    resumption) until it completes, is cancelled or interrupted."""
    speakers: dict[int, str] = {}
    speaker: str | None = None
    for position, event in enumerate(tracker.events):
        kind = event.get("event")
        if kind in ("agent_started", "agent_resumed"):
            speaker = str(event.get("agent_id"))
        elif kind in ("agent_completed", "agent_cancelled", "agent_interrupted"):
            speaker = None
        elif kind == "bot" and speaker is not None:
            speakers[position] = speaker
    return speakers


def _buttons_text(buttons: list[JSONValue]) -> str:
    listed = []
    for index, button in enumerate(buttons, 1):
        title = button.get("title") if isinstance(button, dict) else None
        title_text = sanitize(title if isinstance(title, str) else None)
        if title_text:
            listed.append(f'button {index}: "{title_text}"')
    return ", ".join(listed)


def _user_text(event: JSONObject) -> str:
    for command in ev.records(ev.record(event, "parse_data").get("commands")):
        if command.get("command") == "error":
            kind = command.get("error_type")
            return ERROR_PLACEHOLDERS.get(str(kind), ERROR_PLACEHOLDER_DEFAULT)
    return sanitize(ev.text(event))


def _current_datetime(tracker: Tracker, zone_name: object, now: datetime | None) -> datetime:
    mocked = tracker.get_slot(MOCKED_DATETIME_SLOT)
    if isinstance(mocked, str) and mocked:
        try:
            return datetime.fromisoformat(mocked)
        except ValueError:
            pass
    zone = time_zone(str(zone_name) if zone_name else "UTC")
    return (now or datetime.now(timezone.utc)).astimezone(zone)


def time_zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # unknown zone, or no tz database on this machine
        return timezone.utc
