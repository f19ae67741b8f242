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
`SearchPromptError` naming the file (and line when Jinja knows it).

The prompt keys the recorded answer in a cassette; the clock must not make a recorded
conversation unreplayable, so the key is the prompt rendered at a fixed time
(`key_prompt`), while the model is sent the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.calm.values import JSONObject, JSONValue
from workbench.engine.tracker import Tracker
from workbench.errors import WorkbenchError
from workbench.knowledge.conversation import conversation_text, prompt_slots
from workbench.knowledge.retrieval import HitView
from workbench.knowledge.settings import SearchSettings
from workbench.project.model import Project

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

DEFAULT_TEMPLATE = "search_prompt.jinja2"
# the time a prompt's cassette key is rendered at
UTC = timezone.utc
KEY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


class SearchPromptError(WorkbenchError):
    """The knowledge prompt template cannot be read or rendered."""


@dataclass(frozen=True)
class SearchPrompt:
    text: str  # what the model is sent
    key: str  # the same prompt at a fixed time: what keys the recorded answer
    template: str  # the project's template path, or the workbench's template name


def render_search_prompt(
    project: Project,
    settings: SearchSettings,
    tracker: Tracker,
    hits: Sequence[HitView],
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
            raise SearchPromptError(f"{name}: cannot render the prompt template: {error}") from None

    if not settings.include_date_time:
        text = render(None)
        return SearchPrompt(text, text, name)
    return SearchPrompt(render(now or datetime.now(UTC)), render(KEY_TIME), name)


def _doc(hit: HitView) -> JSONValue:
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
        return _default_template(), DEFAULT_TEMPLATE
    path = Path(configured)
    if not path.is_absolute():
        path = project.root / path
    try:
        stat = path.stat()
    except OSError:
        raise SearchPromptError(
            f"prompt_template '{configured}' of EnterpriseSearchPolicy not found (paths "
            f"are relative to the project folder {project.root})"
        ) from None
    return _project_template(str(path), stat.st_mtime_ns, stat.st_size, configured), configured


@lru_cache(maxsize=1)
def _default_template() -> Template:
    source = (resources.files(__package__) / "templates" / DEFAULT_TEMPLATE).read_text("utf-8")
    return _environment(own=True).from_string(source)


@lru_cache(maxsize=16)
def _project_template(path: str, mtime_ns: int, size: int, name: str) -> Template:
    from jinja2 import TemplateSyntaxError

    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SearchPromptError(f"{name}: cannot read the prompt template: {error}") from None
    try:
        return _environment(own=False).from_string(source)
    except TemplateSyntaxError as error:
        raise SearchPromptError(f"{name}:{error.lineno}: {error.message}") from None


def _environment(own: bool) -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment

    if own:
        return SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
    return SandboxedEnvironment(autoescape=False)  # as Rasa renders: default whitespace
