"""One knowledge question answered from the retrieved chunks, as Rasa's
EnterpriseSearchPolicy answers it, and recorded for the trace.

- generative: the prompt (the project's template or ours) goes to the model; with
  `check_relevancy` an answer the model marks irrelevant is no answer; with
  `citation_enabled` the citations are put in order (`citations.py`).
- extractive (`use_generative_llm: false`): the best hit's Q/A answer, no model.
- offline (no model can be called): a Q/A pair's answer when the best chunks hold one
  that matches the question, else the best few sentences of the best chunk, with its
  file and line, so that a knowledge base can be tried without a key.

No hit is no answer (`pattern_cannot_handle`); a failure anywhere (index, embeddings,
template, model, a replay that was not recorded) is an error (`pattern_internal_error`).
Text inside the documents only ever becomes the text of one bot message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from workbench.calm.names import (
    MESSAGE_SOURCE_KEY,
    SEARCH_POLICY,
    SEARCH_QUERY_KEY,
    SEARCH_RESULTS_KEY,
    UTTER_SOURCE_KEY,
)
from workbench.calm.values import JSONObject
from workbench.engine.search import SearchOutcome
from workbench.engine.tracker import Tracker
from workbench.knowledge.citations import order_citations
from workbench.knowledge.model import Hit
from workbench.knowledge.prompt import SearchPrompt, render_search_prompt
from workbench.knowledge.relevancy import NOT_RELEVANT_MARKER, is_relevant
from workbench.knowledge.retrieval import SearchableBase
from workbench.knowledge.settings import SearchSettings
from workbench.project.model import Project
from workbench.trace.records import KnowledgeHit, KnowledgeRecord, ModelUsage
from workbench.understanding.llm import Completion
from workbench.understanding.words import terms

SEARCH_LIMIT = 4  # the chunks Rasa's in-model store returns
EXCERPT_CHARS = 300
PASSAGE_SENTENCES = 3
GENERATIVE, EXTRACTIVE, OFFLINE = "generative", "extractive", "offline"
QA_PAIR = re.compile(r"Q:\s*(?P<q>.+?)\s*\n\s*A:\s*(?P<a>.+?)\s*(?=\n\s*\n|\n\s*Q:|\Z)", re.DOTALL)

# the model call for a rendered prompt (through the tape)
Complete = Callable[[SearchPrompt], Awaitable[Completion]]


@dataclass(frozen=True)
class Answered:
    outcome: SearchOutcome
    record: KnowledgeRecord


async def find_answer(
    project: Project,
    settings: SearchSettings,
    tracker: Tracker,
    base: SearchableBase,
    query: str,
    *,
    mode: str,
    complete: Complete | None,
    now: datetime | None = None,
) -> Answered:
    record = KnowledgeRecord(query=query, mode=mode, outcome="error", method=base.method)
    try:
        hits = list(await base.search(query, limit=SEARCH_LIMIT, threshold=settings.threshold))
    except Exception as error:  # the index, the embeddings model, a vector store
        return failed(record, f"search failed: {error}")
    record = replace(record, hits=tuple(_hit(hit) for hit in hits))
    if not hits:
        return no_answer(record, "no document matches the question")
    if mode == EXTRACTIVE:
        best = hits[0]
        if best.chunk.answer is None:
            return failed(record, f"{_location(best)} is no Q:/A: pair: it has no answer to give")
        return answered(record, best.chunk.answer, [_location(best)])
    if mode == OFFLINE or complete is None:
        text, where = offline_answer(base, query, hits)
        return answered(replace(record, mode=OFFLINE), text, [where])
    return await _generative(project, settings, tracker, record, hits, complete, now)


async def _generative(
    project: Project,
    settings: SearchSettings,
    tracker: Tracker,
    record: KnowledgeRecord,
    hits: Sequence[Hit],
    complete: Complete,
    now: datetime | None,
) -> Answered:
    try:
        prompt = render_search_prompt(project, settings, tracker, hits, now=now)
    except Exception as error:
        return failed(record, str(error))
    record = replace(record, prompt=prompt.text)
    try:
        completion = await complete(prompt)
    except Exception as error:  # model errors, a replay that was not recorded
        usage = ModelUsage(error=str(error))
        return failed(replace(record, usage=usage), f"the model did not answer: {error}")
    raw = completion.text
    record = replace(
        record,
        raw_answer=raw,
        usage=ModelUsage(
            model=completion.model,
            latency_ms=completion.latency_ms,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
        ),
    )
    if settings.check_relevancy:
        relevant = is_relevant(raw)
        record = replace(record, relevant=relevant)
        if not relevant:
            return no_answer(record, f"the model found no relevant answer ({NOT_RELEVANT_MARKER})")
    text = raw.strip()
    if settings.citation_enabled:
        cited = order_citations(raw)
        text = cited.text
        record = replace(record, citations=cited.sources)
    if not text:
        return failed(record, "the model answered with no text")
    return answered(record, text, [_location(hit) for hit in hits])


# --- offline -----------------------------------------------------------------------------


def offline_answer(base: SearchableBase, query: str, hits: Sequence[Hit]) -> tuple[str, str]:
    """A Q/A answer from the best chunks when one matches the question, else the best
    passage of the best chunk; with where it is (`file:line`). A pair scores the telling
    words of the query its question shares (rare words count more than "take" or "long"),
    and, at half weight, those only its answer has; the search's rank breaks ties."""
    wanted = set(terms(query))
    weight = base.term_weight
    best: tuple[float, str, str] | None = None
    for hit in hits:
        chunk = hit.chunk
        if chunk.answer is not None:
            pairs = [(chunk.text, chunk.answer, chunk.line)]
        else:
            pairs = [
                (m.group("q"), m.group("a"), chunk.line + chunk.text.count("\n", 0, m.start()))
                for m in QA_PAIR.finditer(chunk.text)
            ]
        for question, answer, line in pairs:
            asked = wanted & set(terms(question))
            if not asked:
                continue
            told = (wanted & set(terms(answer))) - asked
            score = sum(weight(t) for t in asked) + 0.5 * sum(weight(t) for t in told)
            if best is None or score > best[0]:
                best = (score, " ".join(answer.split()), f"{chunk.source}:{line}")
    if best is not None:
        return best[1], best[2]
    return base.passage(query, hits[0], PASSAGE_SENTENCES), _location(hits[0])


# --- outcomes ----------------------------------------------------------------------------


def answered(record: KnowledgeRecord, text: str, used: Sequence[str]) -> Answered:
    """The answer to send; `used`: `file:line` of what it came from."""
    sources = tuple(dict.fromkeys(used))
    record = replace(record, outcome="answer", answer=text, sources=sources)
    metadata: JSONObject = {
        SEARCH_RESULTS_KEY: [hit.excerpt for hit in record.hits],
        UTTER_SOURCE_KEY: SEARCH_POLICY,
        SEARCH_QUERY_KEY: record.query,
        MESSAGE_SOURCE_KEY: f"knowledge answer, {record.label}: {', '.join(sources)}",
    }
    return Answered(SearchOutcome("answer", text=text, metadata=metadata), record)


def no_answer(record: KnowledgeRecord, reason: str) -> Answered:
    record = replace(record, outcome="no_answer", reason=reason)
    return Answered(SearchOutcome("no_answer", reason=reason), record)


def failed(record: KnowledgeRecord, reason: str) -> Answered:
    record = replace(record, outcome="error", reason=reason)
    return Answered(SearchOutcome("error", reason=reason), record)


def _hit(hit: Hit) -> KnowledgeHit:
    text = " ".join(hit.chunk.text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return KnowledgeHit(hit.chunk.source, hit.chunk.line, hit.score, hit.rank, text)


def _location(hit: Hit) -> str:
    return f"{hit.chunk.source}:{hit.chunk.line}" if hit.chunk.line else hit.chunk.source
