"""Rephrased responses (`nlg: type: rephrase`), as Rasa's ContextualResponseRephraser
does them: a response whose metadata says `rephrase: true` (or every response, with
`rephrase_all`) is rewritten by a model, given the conversation so far, the last user
message and the slots; the prompt is the response's own `rephrase_prompt`, the endpoint's
`prompt_template`, or the workbench's lean default.

The bot event keeps Rasa's shape (the rephrased `text`, `utter_action`, and with this nlg
`utter_source: ContextualResponseRephraser` and `domain_ground_truth`, which judged
assertions read) plus two keys of ours in its metadata: `rephrased_from` (the text the
response rendered to) or `rephrase_skipped` (why it was not rephrased: offline, no
credentials, the model failed). A failed call keeps the original text, as Rasa does.

Every model call goes through the conversation's tape (kind `rephrase`), so a recorded
conversation replays its rephrasings with no model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.calm.names import (
    DOMAIN_GROUND_TRUTH_KEY,
    REPHRASE_SKIPPED_KEY,
    REPHRASED_FROM_KEY,
    UTTER_ACTION_KEY,
    UTTER_SOURCE_KEY,
)
from workbench.calm.values import JSONObject, JSONValue
from workbench.project.model import Project, Response
from workbench.project.nlg import RESPONSE_PROMPT_KEY, RephraseSettings, rephrase_settings
from workbench.trace.turn import TurnTrace
from workbench.understanding import llm
from workbench.understanding.models import (
    ModelConfigError,
    ModelSpec,
    missing_credentials,
    resolve_model,
)
from workbench.understanding.prompt import transcript
from workbench.understanding.prompt_files import environment
from workbench.understanding.tape import ModelTape, TapeMiss

if TYPE_CHECKING:
    from jinja2 import Template

    from workbench.engine.tracker import Tracker

TAPE_KIND = "rephrase"
REPHRASER_SOURCE = "ContextualResponseRephraser"
OFFLINE_NOTE = "not rephrased (offline)"
NOT_RECORDED = "the cassette holds no rephrasing of this prompt (record the run again)"
SUMMARY_TURNS = 5  # Rasa summarises the last five turns

DEFAULT_PROMPT = """\
Rewrite the assistant's next message so it reads naturally in this conversation. Keep \
its meaning and every fact, name and number in it; do not add questions, offers or \
facts. Write in {{ language }}. Reply with the rewritten message only.

Conversation so far:
{{ history }}

{{ current_input }}

Message to rewrite: {{ suggested_response }}
"""

SUMMARY_PROMPT = """\
Summarise this conversation between a user and an assistant in two or three sentences, \
keeping what the user asked for and the details they gave.

{{ conversation }}

Summary:"""

LANGUAGE_LABELS = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}


class RephraseProblem(Exception):
    """Why a message keeps its original text."""


@dataclass
class Rephraser:
    """Rephrases the bot messages of one conversation. `offline` (`--offline`): no model
    is called, messages keep their text with the note "not rephrased (offline)"."""

    tape: ModelTape = field(default_factory=ModelTape)
    offline: bool = False
    # replaying stored turns: the texts they were rephrased to, by (response, original),
    # used in order instead of a model
    recorded: dict[tuple[str, str], list[str]] | None = None

    async def apply(
        self, event: JSONObject, response: Response, project: Project, tracker: Tracker
    ) -> None:
        """Rephrase the bot `event` rendered from `response`, in place, when the
        project's nlg says so; otherwise leave it as it is."""
        settings = rephrase_settings(project.endpoints)
        if settings is None:
            return
        metadata = event.get("metadata")
        if not isinstance(metadata, dict):
            metadata = event["metadata"] = {}
        # as Rasa's add_bot_utterance_metadata, for every message of this nlg
        metadata.setdefault(UTTER_SOURCE_KEY, REPHRASER_SOURCE)
        metadata[DOMAIN_GROUND_TRUTH_KEY] = [
            v.text for v in response.variations if v.text is not None
        ]
        text = event.get("text")
        if not isinstance(text, str) or not text or not settings.rephrases(metadata):
            return
        try:
            rephrased = await self._rephrase(text, metadata, settings, project, tracker)
        except RephraseProblem as problem:
            metadata[REPHRASE_SKIPPED_KEY] = str(problem)
            return
        event["text"] = rephrased
        metadata[REPHRASED_FROM_KEY] = text

    async def _rephrase(
        self,
        text: str,
        metadata: Mapping[str, JSONValue],
        settings: RephraseSettings,
        project: Project,
        tracker: Tracker,
    ) -> str:
        if self.recorded is not None:
            key = (str(metadata.get(UTTER_ACTION_KEY)), text)
            texts = self.recorded.get(key)
            if not texts:
                raise RephraseProblem("not rephrased (as recorded)")
            return texts.pop(0)
        if self.offline:
            raise RephraseProblem(OFFLINE_NOTE)
        try:
            model = resolve_model(project, settings.llm)
        except ModelConfigError as error:
            raise RephraseProblem(f"not rephrased: {error}") from None
        missing = None if self.tape.replaying else missing_credentials(model)
        if missing:
            raise RephraseProblem(f"{OFFLINE_NOTE}: no {missing}")
        template = _template(project, settings, metadata)
        history = await self._history(settings, model, tracker)
        user_text = _last_user_text(tracker)
        try:
            prompt = template.render(
                history=history,
                suggested_response=text,
                current_input=f"USER: {user_text}" if user_text else "",
                slots=dict(tracker.slots),
                language=language_label(tracker.language),
            )
        except Exception as error:  # a project template that fails to render
            raise RephraseProblem(f"not rephrased: the prompt does not render: {error}") from None
        try:
            completion = await self.tape.complete(
                TAPE_KIND, model, prompt, lambda: llm.complete(model, prompt), about=text
            )
        except TapeMiss:
            raise RephraseProblem(f"not rephrased: {NOT_RECORDED}") from None
        except Exception as error:  # a model error
            raise RephraseProblem(f"not rephrased: {error}") from None
        rephrased = completion.text.strip()
        if not rephrased:
            raise RephraseProblem("not rephrased: the model returned no text")
        return rephrased

    async def _history(self, settings: RephraseSettings, model: ModelSpec, tracker: Tracker) -> str:
        """The conversation for the prompt: summarised by the model (Rasa's default),
        or the last turns as a transcript; a failed summary falls back to the transcript."""
        turns = SUMMARY_TURNS if settings.summarize_history else settings.max_historical_turns
        lines = transcript(tracker, max_lines=0)
        if settings.single_turn_utterances:
            lines = _one_line_per_speaker(lines)
        conversation = "\n".join(lines[-turns:])
        if not settings.summarize_history:
            return conversation
        prompt = _compiled(SUMMARY_PROMPT).render(conversation=conversation)
        try:
            summary = await self.tape.complete(
                TAPE_KIND,
                model,
                prompt,
                lambda: llm.complete(model, prompt),
                about=f"summary of: {conversation}",
            )
        except Exception:  # as Rasa: the transcript stands in for the summary
            return conversation
        return summary.text.strip() or conversation


def recorded_rephraser(traces: Iterable[TurnTrace]) -> Rephraser:
    """A rephraser that gives replayed turns the rephrasings they were recorded with."""
    recorded: dict[tuple[str, str], list[str]] = {}
    for trace in traces:
        for message in trace.bot_messages:
            if message.original_text is not None and message.text is not None:
                key = (str(message.response), message.original_text)
                recorded.setdefault(key, []).append(message.text)
    return Rephraser(recorded=recorded)


def language_label(code: str | None) -> str:
    if not code:
        return LANGUAGE_LABELS["en"]
    return LANGUAGE_LABELS.get(code.split("-")[0].lower(), code)


def _one_line_per_speaker(lines: Sequence[str]) -> list[str]:
    merged = []
    for speaker, group in groupby(lines, key=lambda line: line.partition(": ")[0]):
        merged.append(f"{speaker}: {' '.join(line.partition(': ')[2] for line in group)}")
    return merged


def _last_user_text(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = event.get("text")
            return text if isinstance(text, str) else ""
    return ""


def _template(
    project: Project, settings: RephraseSettings, metadata: Mapping[str, JSONValue]
) -> Template:
    own = metadata.get(RESPONSE_PROMPT_KEY)
    if isinstance(own, str) and own.strip():
        return _checked(own, f"the response's {RESPONSE_PROMPT_KEY}")
    if not settings.prompt_template:
        return _compiled(DEFAULT_PROMPT)
    path = Path(settings.prompt_template)
    if not path.is_absolute():
        path = project.root / path
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RephraseProblem(
            f"not rephrased: cannot read prompt_template '{settings.prompt_template}': {error}"
        ) from None
    return _checked(source, settings.prompt_template)


def _checked(source: str, name: str) -> Template:
    try:
        return _compiled(source)
    except Exception as error:  # jinja2's TemplateSyntaxError
        raise RephraseProblem(f"not rephrased: {name} is not a valid template: {error}") from None


@lru_cache(maxsize=32)
def _compiled(source: str) -> Template:
    # as Rasa renders its prompts: undefined names render empty; sandboxed here
    return environment(own=False).from_string(source)
