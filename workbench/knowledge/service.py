"""The knowledge service a session asks when a search frame is on top of the stack.

One per front end (it lives in the wiring's `Parts`): each project's knowledge base is
opened at the first knowledge question, on the thread that runs the turns (never the
TUI's event loop), and kept for every later turn and restart. A saved document is
noticed by the watcher (`notice_changes`, from any thread) and re-indexed, alone, before
the next search.

Every model call goes through the tape: the answer's completion (keyed by its prompt) and
every embedding (documents and queries), so `--record` keeps them and `--cassette`
replays them with no model. Which model answers:

- `use_generative_llm: false`: none (extractive);
- replaying a cassette: the recording (generative when it holds knowledge answers);
- `--offline`, a model that cannot be resolved, or no credentials for its provider:
  none, the answer is "extractive (offline)";
- else the policy's `llm` (model groups resolved as for the command generator).

Documents are ranked by the policy's `embeddings` model when it can be called (or was
recorded), else by BM25.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.engine.tracker import Tracker
from workbench.knowledge.answer import (
    EXTRACTIVE,
    GENERATIVE,
    OFFLINE,
    Answered,
    Complete,
    failed,
    find_answer,
)
from workbench.knowledge.conversation import latest_user_text, search_query
from workbench.knowledge.prompt import SearchPrompt
from workbench.knowledge.retrieval import Embedder, Opener, SearchableBase, open_base
from workbench.knowledge.settings import SearchSettings, search_settings
from workbench.project.model import Project
from workbench.trace.records import KnowledgeRecord
from workbench.understanding.llm import Completion
from workbench.understanding.models import (
    ModelConfigError,
    ModelSpec,
    missing_credentials,
    resolve_model,
)
from workbench.understanding.tape import ModelTape

MAX_ISSUES = 20
SEARCH_ANSWER = "search_answer"  # the tape's kind for a knowledge answer's completion


@dataclass
class KnowledgeService:
    tape: ModelTape = field(default_factory=ModelTape)
    # why no model may be called at all (`--offline`); None: as each project's models allow
    offline: str | None = None
    opener: Opener = open_base
    clock: Callable[[], float] = time.perf_counter
    _bases: dict[tuple[str, ...], SearchableBase] = field(default_factory=dict, repr=False)
    _changed: set[Path] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _recording_cache: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def notice_changes(self, paths: Iterable[Path]) -> None:
        """Documents saved (or removed): re-indexed before the next search."""
        with self._lock:
            self._changed.update(Path(p) for p in paths)

    async def answer(self, project: Project, tracker: Tracker) -> Answered:
        """The answer to the search frame on top of `tracker`'s stack, with its record."""
        started = self.clock()
        settings = search_settings(project)
        if settings is None:  # the engine only asks with the policy configured
            settings = SearchSettings()
        mode, model, why = self.answer_model(project, settings)
        if mode == OFFLINE:
            query = latest_user_text(tracker)
        else:
            query = search_query(tracker, settings.max_messages_in_query)
        try:
            base = await self._base(project, settings)
        except Exception as error:  # documents, embeddings model, vector store
            record = KnowledgeRecord(query=query, mode=mode, outcome="error")
            result = failed(record, f"the knowledge base cannot be opened: {error}")
        else:
            question = latest_user_text(tracker)
            complete = self._complete(model, question) if model is not None else None
            result = await find_answer(
                project, settings, tracker, base, query, mode=mode, complete=complete
            )
            issues = tuple(str(i) for i in base.issues[:MAX_ISSUES])
            result = Answered(result.outcome, replace(result.record, issues=issues))
        record = result.record
        if why and record.mode == OFFLINE:
            record = replace(record, method=f"{record.method} · offline: {why}")
        duration = (self.clock() - started) * 1000
        return Answered(result.outcome, replace(record, duration_ms=duration))

    def label(self, project: Project) -> str | None:
        """How the project's knowledge questions are answered, for headers: `docs ·
        generative (openai/gpt-4o-mini)`, `docs · extractive (offline: no
        OPENAI_API_KEY)`; None without EnterpriseSearchPolicy."""
        settings = search_settings(project)
        if settings is None:
            return None
        mode, model, why = self.answer_model(project, settings)
        if mode == GENERATIVE and model is not None:
            how = f"generative ({model.name})"
        elif mode == OFFLINE:
            how = f"extractive (offline: {why})"
        else:
            how = "extractive (Q/A pairs)"
        return f"{settings.docs_source or settings.vector_store_type} · {how}"

    # -- models --------------------------------------------------------------------------

    def answer_model(
        self, project: Project, settings: SearchSettings
    ) -> tuple[str, ModelSpec | None, str]:
        """(mode, the model that answers or None, why there is none)."""
        if not settings.use_generative_llm:
            return EXTRACTIVE, None, ""
        try:
            spec: ModelSpec | None = resolve_model(project, settings.llm)
        except ModelConfigError as error:
            spec, problem = None, str(error)
        else:
            problem = ""
        if self.tape.replaying:
            if not any(call.kind == SEARCH_ANSWER for call in self.tape.calls):
                return OFFLINE, None, "the cassette holds no knowledge answers"
            return GENERATIVE, spec or ModelSpec("recorded"), ""
        if self.offline:
            return OFFLINE, None, self.offline
        if spec is None:
            return OFFLINE, None, problem
        missing = missing_credentials(spec)
        if missing:
            return OFFLINE, None, f"no {missing}"
        return GENERATIVE, spec, ""

    def _complete(self, spec: ModelSpec, question: str) -> Complete:
        tape = self.tape

        async def complete(prompt: SearchPrompt) -> Completion:
            from workbench.understanding import llm  # imports litellm on first use

            return await tape.complete(
                SEARCH_ANSWER,
                spec,
                prompt.key,
                lambda: llm.complete(spec, prompt.text),
                about=question,
            )

        return complete

    def _embedder(self, project: Project, settings: SearchSettings) -> tuple[Embedder | None, str]:
        """The embedder that ranks the documents (through the tape) and its model id;
        (None, "bm25") when no embeddings model can be called."""
        try:
            spec = resolve_model(project, settings.embeddings)
        except ModelConfigError:
            return None, "bm25"
        if self.tape.replaying:
            prefix = f"{spec.model}: "
            recorded = any(
                c.kind == "embedding" and c.about.startswith(prefix) for c in self.tape.calls
            )
            if not recorded:
                return None, "bm25"
        elif self.offline or missing_credentials(spec):
            return None, "bm25"
        tape = self.tape

        async def embed(texts: Sequence[str]) -> list[list[float]]:
            from workbench.understanding import llm  # imports litellm on first use

            return await tape.embed(spec, texts, lambda missing: llm.embed(spec, missing))

        return embed, spec.model

    # -- knowledge bases -----------------------------------------------------------------

    async def _base(self, project: Project, settings: SearchSettings) -> SearchableBase:
        embedder, model_id = self._embedder(project, settings)
        key = (
            str(project.root),
            str(settings.docs_source),
            settings.vector_store_type,
            str(settings.use_generative_llm),
            model_id,
        )
        with self._lock:
            changed, self._changed = self._changed, set()
        if changed:
            for opened in self._bases.values():
                await opened.refresh(sorted(changed))
        known = self._bases.get(key)
        if known is not None:
            return known
        model = None if embedder is None else model_id
        base = await self.opener(project, settings, embedder, model, self._cache())
        self._bases[key] = base
        return base

    def _cache(self) -> Path | None:
        """Where vectors are cached: the project's own cache (None), except when recording:
        then every document is embedded again, so that the cassette holds its vectors."""
        if self.tape.mode != "record":
            return None
        if self._recording_cache is None:
            self._recording_cache = tempfile.TemporaryDirectory(prefix="calm-knowledge-")
        return Path(self._recording_cache.name)
