"""Judged assertions: `generative_response_is_relevant` and
`generative_response_is_grounded`, scored the way Rasa Pro's e2e runner scores them.

* **Which message.** The turn's bot messages made by a generative source (Rasa's
  `utter_source`: Enterprise Search, the rephraser, the intentless policy) or by the
  assertion's `utter_source`; with `utter_name`, the first of them from that response,
  else the first of them.
* **Relevance.** A judge model writes questions the answer responds to; the score is the
  mean cosine similarity between the user's message and those questions, embedded with
  the judge's embeddings model.
* **Groundedness.** The judge splits the answer into statements and marks each supported
  (1) or not (0) by the ground truth: the assertion's `ground_truth`, else the message's
  search results, else the texts of the response it was rephrased from. The score is the
  share of supported statements.
* A score below `threshold` (default 0.5) fails, with the judge's reasons.

The judge is configured as in Rasa, under `llm_judge: {llm, embeddings}` in the nearest
`conftest.yml` (the test file's folder, then the folders above it up to the project).
Every call goes through the conversation's tape (kind `judge`, and the embeddings), so a
recorded run is judged again from its cassette with no model. With no model (offline, no
credentials) and nothing recorded an assertion is never passed: it fails as "not
evaluated (no judge model)".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.calm.names import (
    DOMAIN_GROUND_TRUTH_KEY,
    SEARCH_RESULTS_KEY,
    UTTER_ACTION_KEY,
    UTTER_SOURCE_KEY,
)
from workbench.calm.values import JSONObject, JSONValue
from workbench.project.e2e import CONFTEST_NAMES
from workbench.project.model import Project
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml
from workbench.understanding import llm
from workbench.understanding.models import (
    ModelConfigError,
    ModelSpec,
    missing_credentials,
    resolve_model,
)
from workbench.understanding.tape import ModelTape, TapeMiss

RELEVANT = "generative_response_is_relevant"
GROUNDED = "generative_response_is_grounded"
TAPE_KIND = "judge"
DEFAULT_THRESHOLD = 0.5
QUESTION_COUNT = 3
# Rasa's defaults for the judge (e2e_config.py, generative_assertions.py)
DEFAULT_JUDGE_LLM: JSONObject = {"provider": "openai", "model": "gpt-4.1-mini-2025-04-14"}
DEFAULT_JUDGE_EMBEDDINGS: JSONObject = {"provider": "openai", "model": "text-embedding-3-large"}
GENERATIVE_SOURCES = ("EnterpriseSearchPolicy", "ContextualResponseRephraser", "IntentlessPolicy")
NOT_EVALUATED = "not evaluated (no judge model)"
NOT_RECORDED = "the cassette holds no judge call for this message (record the run again)"


@dataclass(frozen=True)
class JudgeConfig:
    """`llm_judge:` of a conftest: the judge model and its embeddings model."""

    llm: JSONObject = field(default_factory=lambda: dict(DEFAULT_JUDGE_LLM))
    embeddings: JSONObject = field(default_factory=lambda: dict(DEFAULT_JUDGE_EMBEDDINGS))
    source: str | None = None  # the conftest it came from


def judge_config(root: Path, test_file: str) -> JudgeConfig:
    """The judge for a test file (its path relative to `root`, or absolute): the nearest
    conftest's `llm_judge`, else Rasa's default models. A conftest that cannot be read
    counts as one without `llm_judge`."""
    root = root.resolve()
    path = Path(test_file)
    folder = (path if path.is_absolute() else root / path).resolve().parent
    while True:
        for name in CONFTEST_NAMES:
            conftest = folder / name
            if conftest.is_file():
                return _read_judge(conftest)
        if folder == root or root not in folder.parents:
            return JudgeConfig()
        folder = folder.parent


def _read_judge(conftest: Path) -> JudgeConfig:
    try:
        data = parse_yaml(conftest.read_text(encoding="utf-8"), str(conftest))
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return JudgeConfig(source=str(conftest))
    judge = data.get("llm_judge") if isinstance(data, dict) else None
    judge = judge if isinstance(judge, dict) else {}
    llm_config, embeddings = judge.get("llm"), judge.get("embeddings")
    return JudgeConfig(
        llm=dict(llm_config) if isinstance(llm_config, dict) and llm_config else DEFAULT_JUDGE_LLM,
        embeddings=(
            dict(embeddings)
            if isinstance(embeddings, dict) and embeddings
            else dict(DEFAULT_JUDGE_EMBEDDINGS)
        ),
        source=str(conftest),
    )


@dataclass
class Verdict:
    """A judged assertion's outcome: `failure` (None: passed), the message judged, and
    what the report shows (score, threshold, the judge's reasons)."""

    failure: str | None
    event: JSONObject | None = None
    note: str | None = None


class _NotJudged(Exception):
    """The assertion fails before a score: no message to judge, no model, bad output."""


@dataclass
class Judge:
    """Runs judged assertions of one e2e run with its tape; `offline` (`--offline`):
    no model is called (recorded calls still answer)."""

    project: Project
    tape: ModelTape = field(default_factory=ModelTape)
    offline: bool = False

    async def run(
        self,
        kind: str,
        spec: object,
        turn: Sequence[JSONObject],
        user_text: str,
        config: JudgeConfig,
    ) -> Verdict:
        settings = spec if isinstance(spec, Mapping) else {}
        try:
            threshold = float(settings.get("threshold", DEFAULT_THRESHOLD))
        except (TypeError, ValueError):
            return Verdict(f"invalid '{kind}' assertion: `threshold` must be a number")
        try:
            event = _judged_message(turn, settings)
            text = str(event.get("text") or "")
            if kind == RELEVANT:
                score, reasons = await self._relevance(text, user_text, config)
            else:
                truth = settings.get("ground_truth")
                ground_truth = str(truth) if truth is not None else _ground_truth(event)
                score, reasons = await self._groundedness(text, ground_truth, config)
        except _NotJudged as problem:
            return Verdict(f"'{kind}' {problem}")
        adjective = "relevant" if kind == RELEVANT else "grounded"
        if score < threshold:
            return Verdict(
                f"the generative response {text!r} to {user_text!r} was not {adjective}: "
                f"score {score:.2f} is below the threshold {threshold:g}; the judge: {reasons}",
                event,
            )
        return Verdict(
            None, event, f"{kind}: score {score:.2f} ≥ threshold {threshold:g} ({reasons})"
        )

    # -- the two scores ---------------------------------------------------------------------

    async def _relevance(
        self, answer: str, question: str, config: JudgeConfig
    ) -> tuple[float, str]:
        output = await self._ask(config, relevance_prompt(answer), f"questions for: {answer}")
        questions = output.get("question_variations")
        if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
            raise _NotJudged("failed: the judge gave no `question_variations` list")
        if not questions:
            raise _NotJudged("failed: the judge wrote no questions")
        if not any(q.strip() for q in questions):
            return 0.0, "no relevant questions were generated"
        model = self._model(config.embeddings, "embeddings model")
        texts = [question, *questions]
        try:
            vectors = await self.tape.embed(
                model, texts, lambda missing: llm.embed(model, missing), purpose="judge"
            )
        except TapeMiss:
            raise _NotJudged(f"{NOT_EVALUATED}: {NOT_RECORDED}") from None
        except Exception as error:  # the model failed
            raise _NotJudged(f"not evaluated: the embeddings failed: {error}") from None
        similarities = [cosine(vectors[0], vector) for vector in vectors[1:]]
        score = sum(similarities) / len(similarities)
        reasons = ", ".join(
            f"{q!r} has similarity {s:.2f} with the user message"
            for q, s in zip(questions, similarities, strict=True)
        )
        return score, reasons

    async def _groundedness(
        self, answer: str, ground_truth: str, config: JudgeConfig
    ) -> tuple[float, str]:
        prompt = groundedness_prompt(answer, ground_truth)
        output = await self._ask(config, prompt, f"statements of: {answer}")
        statements = output.get("statements")
        if not isinstance(statements, list) or not statements:
            raise _NotJudged("failed: the judge extracted no `statements`")
        scores: list[float] = []
        unsupported: list[str] = []
        for item in statements:
            score = item.get("score") if isinstance(item, dict) else None
            if not isinstance(score, (int, float)) or isinstance(score, bool):
                raise _NotJudged(f"failed: the judge gave a statement without a score: {item!r}")
            scores.append(float(score))
            if score == 0 and isinstance(item, dict):
                unsupported.append(f"{item.get('statement')!r}: {item.get('justification')}")
        supported = sum(scores)
        reasons = f"{supported:g} of {len(scores)} statements supported"
        if unsupported:
            reasons += "; not supported: " + "; ".join(unsupported)
        return supported / len(scores), reasons

    # -- the model --------------------------------------------------------------------------

    async def _ask(self, config: JudgeConfig, prompt: str, about: str) -> JSONObject:
        model = self._model(config.llm, "judge model")
        try:
            completion = await self.tape.complete(
                TAPE_KIND, model, prompt, lambda: llm.complete(model, prompt), about=about
            )
        except TapeMiss:
            raise _NotJudged(f"{NOT_EVALUATED}: {NOT_RECORDED}") from None
        except Exception as error:  # the model failed
            raise _NotJudged(f"not evaluated: the judge failed: {error}") from None
        return parse_judgement(completion.text)

    def _model(self, settings: JSONObject, what: str) -> ModelSpec:
        try:
            model = resolve_model(self.project, settings)
        except ModelConfigError as error:
            raise _NotJudged(f"not evaluated: the {what} in llm_judge: {error}") from None
        if self.tape.replaying:
            return model
        if self.offline:
            raise _NotJudged(f"{NOT_EVALUATED}: --offline")
        missing = missing_credentials(model)
        if missing:
            raise _NotJudged(f"{NOT_EVALUATED}: the {what} {model.model} needs {missing}")
        return model


# --- what is judged ------------------------------------------------------------------------


def _judged_message(turn: Sequence[JSONObject], settings: Mapping[str, object]) -> JSONObject:
    source = settings.get("utter_source")
    generative = [
        event
        for event in turn
        if event.get("event") == "bot"
        and (
            _metadata(event).get(UTTER_SOURCE_KEY) == source
            if source is not None
            else _metadata(event).get(UTTER_SOURCE_KEY) in GENERATIVE_SOURCES
        )
    ]
    if not generative:
        where = f"from '{source}'" if source is not None else "(Enterprise Search, rephraser)"
        raise _NotJudged(f"failed: no generative bot message {where} in this turn")
    name = settings.get("utter_name")
    if name is None:
        return generative[0]
    for event in generative:
        if _metadata(event).get(UTTER_ACTION_KEY) == name:
            return event
    raise _NotJudged(f"failed: the bot did not utter '{name}'")


def _ground_truth(event: JSONObject) -> str:
    metadata = _metadata(event)
    truth = metadata.get(SEARCH_RESULTS_KEY) or metadata.get(DOMAIN_GROUND_TRUTH_KEY) or ""
    if isinstance(truth, list):
        return "\n".join(str(item) for item in truth)
    return str(truth)


def _metadata(event: JSONObject) -> Mapping[str, JSONValue]:
    metadata = event.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


# --- prompts and answers -------------------------------------------------------------------


def relevance_prompt(answer: str) -> str:
    return (
        f"Here is an answer a chatbot gave. Write {QUESTION_COUNT} different questions a user "
        "could have asked that this answer responds to.\n"
        'Reply with JSON only, in the form {"question_variations": ["...", "..."]}.\n\n'
        f"Answer:\n{answer}\n"
    )


def groundedness_prompt(answer: str, ground_truth: str) -> str:
    return (
        "Check a chatbot's answer against the reference below. Split the answer into short "
        "statements that each make sense on their own (names instead of pronouns). Give each "
        "statement the score 1 if the reference supports it and 0 if it does not, with a "
        "one-sentence justification that points at the reference.\n"
        'Reply with JSON only, in the form {"statements": [{"statement": "...", '
        '"score": 1, "justification": "..."}]}.\n\n'
        f"Reference:\n{ground_truth}\n\nAnswer:\n{answer}\n"
    )


def parse_judgement(text: str) -> JSONObject:
    """The judge's JSON object (inside a ```json fence or not)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise _NotJudged(f"failed: the judge's reply is not JSON: {text[:200]!r}")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as error:
        raise _NotJudged(f"failed: the judge's reply is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise _NotJudged("failed: the judge's reply is not a JSON object")
    return data


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=False))
    norm = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / max(norm, 1e-10)
