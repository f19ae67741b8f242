"""The prompt of a generative knowledge answer: the project's `prompt_template` (a Jinja
file written for Rasa, relative to the project root) or the workbench's own
(`templates/search_prompt.jinja2`), rendered with the variables Rasa's
EnterpriseSearchPolicy passes:

    docs                  the retrieved chunks: [{text, metadata: {source, line, answer?},
                          score, rank}], best first
    slots                 the slots that hold a value: [{name, value, type}]
    current_conversation  `USER: ...` / `AI: ...` lines (the last `max_history`)
    citation_enabled, check_relevancy
    current_datetime      an aware datetime in the policy's timezone (when
                          `include_date_time`, Rasa's default)

Templates render in a sandboxed Jinja environment; a broken one is a
`PromptTemplateError` naming the file (and line when Jinja knows it).

The prompt keys the recorded answer in a cassette; the clock must not make a recorded
conversation unreplayable, so the key is the prompt rendered at a fixed time
(`key_prompt`), while the model is sent the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING

from workbench.calm.values import JSONObject, JSONValue
from workbench.engine.tracker import Tracker
from workbench.knowledge.conversation import conversation_text, prompt_slots
from workbench.knowledge.model import Hit
from workbench.knowledge.settings import SearchSettings
from workbench.project.model import Project
from workbench.understanding.prompt_files import (
    PromptTemplateError,
    packaged_template,
    project_template,
    render_error,
)

if TYPE_CHECKING:
    from jinja2 import Template

DEFAULT_TEMPLATE = "search_prompt.jinja2"
# the time a prompt's cassette key is rendered at
UTC = timezone.utc
KEY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SearchPrompt:
    text: str  # what the model is sent
    key: str  # the same prompt at a fixed time: what keys the recorded answer
    template: str  # the project's template path, or the workbench's template name


def render_search_prompt(
    project: Project,
    settings: SearchSettings,
    tracker: Tracker,
    hits: Sequence[Hit],
    *,
    now: datetime | None = None,
) -> SearchPrompt:
    template, name = load_template(project, settings.prompt_template)
    variables: JSONObject = {
        "docs": [_doc(hit) for hit in hits],
        "slots": list(prompt_slots(project, tracker)),
        "current_conversation": conversation_text(tracker, settings.max_history),
        "citation_enabled": settings.citation_enabled,
        "check_relevancy": settings.check_relevancy,
    }
    zone = _zone(settings.timezone)

    def render(at: datetime | None) -> str:
        extra = {"current_datetime": at.astimezone(zone)} if at is not None else {}
        try:
            return template.render(**variables, **extra)
        except Exception as error:  # sandbox violations, undefined callables, type errors
            raise PromptTemplateError(render_error(name, error)) from None

    if not settings.include_date_time:
        text = render(None)
        return SearchPrompt(text, text, name)
    return SearchPrompt(render(now or datetime.now(UTC)), render(KEY_TIME), name)


def _doc(hit: Hit) -> JSONValue:
    chunk = hit.chunk
    metadata: JSONObject = {"source": chunk.source, "line": chunk.line}
    if chunk.answer is not None:
        metadata["answer"] = chunk.answer
    return {"text": chunk.text, "metadata": metadata, "score": hit.score, "rank": hit.rank}


def _zone(name: str) -> tzinfo:
    if not name or name.upper() == "UTC":
        return UTC
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # unknown zone, or no tz database on this machine
        return UTC


def load_template(project: Project, configured: str | None) -> tuple[Template, str]:
    if not configured:
        # not strict: `current_datetime` is absent without include_date_time
        return packaged_template("workbench.knowledge", DEFAULT_TEMPLATE, strict=False), (
            DEFAULT_TEMPLATE
        )
    what = "prompt_template of EnterpriseSearchPolicy"
    return project_template(project.root, configured, what), configured
