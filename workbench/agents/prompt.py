"""The system prompt of a `rasa`-protocol agent.

The template, in order: the agent's `configuration.prompt_template` (a file relative to
the project folder); else, when Rasa Pro is importable here, Rasa's own default for a
task agent (the call step has `exit_if`) or an open agent (it has not), read from the
installed package; else the workbench's own (`templates/agent_task.jinja2`,
`templates/agent_open.jinja2`). Every template gets the variables Rasa passes:

    description                 the agent's description
    slots                       {name: value} of the slots given that hold a value
    slot_names                  the exit slots the agent may set (a task agent; [] else)
    current_datetime            an aware datetime in `configuration.timezone` (or the
                                `mocked_datetime` slot), None without `include_date_time`
    restarted                   a fresh run after an earlier one completed
    resumed_after_interruption  the agent is picked up again after another flow
    resumed_last_request        "" (the workbench does not keep the agent's last question)
    enable_filler_messages      `configuration.enable_filler_messages` (default false)
    conversation_history        the transcript, `USER: …` / `AI: …` lines
    user_message                the user's latest message
    recipient_id                the conversation's sender id

A project's template renders strictly: a name it uses that is not above is an error
naming it, never an empty string. Templates render in a sandboxed Jinja environment.

The clock must not make a recorded run unreplayable: the prompt also carries its `key`,
the same template rendered at a fixed time, which keys the recorded model steps.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.agents.exits import settable_slots
from workbench.calm.external import AgentInput
from workbench.calm.values import JSONObject
from workbench.project.model import SubAgent
from workbench.understanding.prompt_files import (
    PromptTemplateError,
    packaged_template,
    project_template,
    render_error,
    template_from_text,
)
from workbench.understanding.rasa_prompt import MOCKED_DATETIME_SLOT, time_zone

if TYPE_CHECKING:
    from jinja2 import Template

TASK_TEMPLATE = "agent_task.jinja2"
OPEN_TEMPLATE = "agent_open.jinja2"
RASA_TEMPLATES = "rasa.agents.templates"
RASA_TASK_TEMPLATE = "mcp_task_agent_prompt_template.jinja2"
RASA_OPEN_TEMPLATE = "mcp_open_agent_prompt_template.jinja2"
UTC = timezone.utc
KEY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


class SystemPrompt(str):
    """The rendered prompt, as the model is sent it. `key`: the same prompt rendered
    at a fixed time (what keys a recorded step); `template`: the file or name used."""

    key: str
    template: str

    def __new__(cls, text: str, key: str, template: str) -> SystemPrompt:
        prompt = super().__new__(cls, text)
        prompt.key = key
        prompt.template = template
        return prompt


def render_agent_prompt(
    agent: SubAgent, given: AgentInput, *, root: Path, now: datetime | None = None
) -> SystemPrompt:
    """The system prompt for one turn of `agent`; raises PromptTemplateError."""
    template, name = load_template(agent, task=bool(given.exit_if), root=root)
    configuration = agent.configuration
    variables: JSONObject = {
        "description": agent.description,
        "slots": {slot.name: slot.value for slot in given.slots if slot.value is not None},
        "slot_names": [slot.name for slot in settable_slots(given)] if given.exit_if else [],
        "restarted": given.restarted,
        "resumed_after_interruption": given.resumed,
        "resumed_last_request": "",
        "enable_filler_messages": configuration.get("enable_filler_messages") is True,
        "conversation_history": given.conversation,
        "user_message": given.user_message,
        "recipient_id": given.sender_id,
    }
    with_time = configuration.get("include_date_time") is not False
    mocked = _mocked_datetime(given)

    def render(at: datetime | None) -> str:
        if with_time and at is not None:
            zone = time_zone(str(configuration.get("timezone") or "UTC"))
            current: datetime | None = mocked or at.astimezone(zone)
        else:
            current = None
        try:
            return template.render(**variables, current_datetime=current)
        except Exception as error:  # undefined names, sandbox violations, type errors
            raise PromptTemplateError(render_error(name, error)) from None

    if not with_time:
        text = render(None)
        return SystemPrompt(text, text, name)
    return SystemPrompt(render(now or datetime.now(UTC)), render(KEY_TIME), name)


def load_template(agent: SubAgent, *, task: bool, root: Path) -> tuple[Template, str]:
    configured = agent.configuration.get("prompt_template")
    if isinstance(configured, str) and configured:
        what = f"prompt_template of agent '{agent.name}'"
        return project_template(root, configured, what, strict=True), configured
    rasa_name = RASA_TASK_TEMPLATE if task else RASA_OPEN_TEMPLATE
    source = rasa_default(rasa_name)
    if source is not None:
        return template_from_text(source), f"rasa: {rasa_name}"
    own = TASK_TEMPLATE if task else OPEN_TEMPLATE
    return packaged_template("workbench.agents", own), own


@lru_cache(maxsize=4)
def rasa_default(name: str) -> str | None:
    """Rasa's default agent template `name` from the installed package (never copied),
    or None when `rasa` is not importable here."""
    try:
        return (resources.files(RASA_TEMPLATES) / name).read_text("utf-8")
    except (ImportError, OSError):
        return None


def _mocked_datetime(given: AgentInput) -> datetime | None:
    """Rasa's `mocked_datetime` slot (e2e tests pin the clock with it)."""
    for slot in given.slots:
        if slot.name == MOCKED_DATETIME_SLOT and isinstance(slot.value, str) and slot.value:
            try:
                return datetime.fromisoformat(slot.value)
            except ValueError:
                return None
    return None
