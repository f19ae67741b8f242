"""The knowledge base of an EnterpriseSearchPolicy: the documents under `source`, chunked
(or read as Q/A pairs), indexed by embeddings or BM25, searchable, kept current one
document at a time.

    kb = await open_knowledge_base(project, project.config.search, embedder=..., cache_dir=None)
    hits = await kb.search("what are the fees for international transfers?")
    kb.passage(query, hits[0])          # offline answer: the best sentences of the chunk
    await kb.refresh([saved_path])      # after a save: only that document is re-indexed

Files that cannot be indexed (binary, too large, not UTF-8) are skipped and listed in
`issues`; an embeddings model that fails raises KnowledgeError with the reason, so the
caller can fall back to BM25 (`embedder=None`) and say why.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.knowledge.cache import (
    CACHE_DIR,
    CachedDoc,
    ChunkCache,
    document_key,
    pack,
    slug,
)
from workbench.knowledge.chunks import CHUNK_OVERLAP, CHUNK_SIZE, chunk_text
from workbench.knowledge.embedders import NamedEmbedder
from workbench.knowledge.index import DocIndex, TermIndex, VectorIndex, chunk_counts
from workbench.knowledge.model import Chunk, Embedder, Hit, KnowledgeError, KnowledgeIssue
from workbench.knowledge.passage import best_passage
from workbench.knowledge.qa import duplicate_issues, qa_chunks
from workbench.knowledge.stores import REMOTE_STORES, check_remote_store
from workbench.project.knowledge_docs import (
    DocFile,
    doc_paths,
    docs_folder,
    read_doc,
    relative_path,
)
from workbench.project.model import Project, SearchPolicyConfig

if TYPE_CHECKING:
    from workbench.knowledge.collection import CollectionBase

# texts per embeddings call (as Rasa batches them) and calls in flight at once
EMBED_BATCH = 50
EMBED_CONCURRENCY = 4
SEARCH_K = 4  # how many chunks Rasa's in-model store returns


class KnowledgeBase:
    """Build with `open_knowledge_base`. `issues` lists the documents skipped and other
    per-file problems; `method` says how documents are ranked."""

    def __init__(
        self,
        root: Path,
        config: SearchPolicyConfig,
        embedder: Embedder | None,
        model_id: str,
        method: str,
        cache: ChunkCache | None,
    ) -> None:
        self.root = root
        self.config = config
        self.folder = docs_folder(root, config.docs_source) if config.docs_source else None
        self.method = method
        self.issues: list[KnowledgeIssue] = []
        self._embedder = embedder
        self._model_id = model_id
        self._cache = cache
        self._qa = not config.use_generative_llm
        self._docs: dict[str, DocIndex] = {}
        self._skipped: dict[str, KnowledgeIssue] = {}
        self._chunks: tuple[Chunk, ...] = ()
        self._terms = TermIndex()
        self._offsets: dict[str, int] = {}  # document -> position of its first chunk
        self._vectors: VectorIndex | None = None
        self._refreshing = asyncio.Lock()  # one refresh at a time: each builds on the last

    # -- what is indexed -------------------------------------------------------------------

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return self._chunks

    @property
    def documents(self) -> tuple[str, ...]:
        """The indexed documents, relative to the project root."""
        return tuple(self._docs)

    # -- searching ---------------------------------------------------------------------------

    async def search(self, query: str, *, limit: int = 3, threshold: float = 0.0) -> list[Hit]:
        """The best `limit` chunks scoring at least `threshold`, best first (ties keep the
        documents' order). Embeddings: cosine similarity; BM25: see index.py (0..1, chunks
        sharing no word with the query are never hits)."""
        if not self._chunks or not query.strip() or limit < 1:
            return []
        if self._vectors is not None:
            vector = await self._embed_query(query)
            try:
                similarities = self._vectors.similarities(vector)
            except ValueError as error:
                raise KnowledgeError(f"embeddings model: {error}") from error
            scores = dict(enumerate(similarities))
        else:
            offsets = self._offsets
            scores = {offsets[s] + i: v for (s, i), v in self._terms.scores(query).items()}
        ranked = heapq.nsmallest(
            limit,
            ((p, s) for p, s in scores.items() if s >= threshold),
            key=lambda item: (-item[1], item[0]),
        )
        return [
            Hit(self._chunks[position], round(score, 4), rank)
            for rank, (position, score) in enumerate(ranked, start=1)
        ]

    def passage(self, query: str, hit: Hit, sentences: int = 3) -> str:
        """The offline answer: a Q/A pair's answer, or the `sentences` consecutive
        sentences of the chunk that best match the query."""
        if hit.chunk.answer is not None:
            return hit.chunk.answer
        weight = self._terms.idf if self._terms.total else None
        return best_passage(query, hit.chunk.text, sentences, weight)

    def term_weight(self, term: str) -> float:
        """The term's inverse document frequency over the indexed chunks (1 before any)."""
        return self._terms.idf(term) if self._terms.total else 1.0

    async def _embed_query(self, query: str) -> list[float]:
        embedder = self._embedder
        assert embedder is not None
        try:
            if isinstance(embedder, NamedEmbedder):
                return await embedder.query(query)
            vectors = await embedder([query])
        except KnowledgeError:
            raise
        except Exception as error:  # LLMError, a broken local model, a bad reply
            raise KnowledgeError(f"embedding the question failed: {error}") from error
        if len(vectors) != 1:
            raise KnowledgeError(f"asked the embeddings model for 1 vector, got {len(vectors)}")
        return vectors[0]

    # -- indexing ----------------------------------------------------------------------------

    async def refresh(self, changed: Iterable[Path] | None = None) -> None:
        """Re-index the documents in `changed` (added, edited or deleted files; other paths
        are ignored), or every document whose text changed when `changed` is None. When
        embedding fails (KnowledgeError) the previous index stays in use."""
        if self.folder is None:
            source = self.config.source
            self.issues = [
                KnowledgeIssue(
                    source.file,
                    source.line,
                    "`vector_store` has no `source`: there are no documents to index",
                )
            ]
            return
        async with self._refreshing:
            paths = None if changed is None else self._own_paths(changed)
            if paths is None:
                files = [read_doc(self.root, path) for path in doc_paths(self.folder)]
                await self._update(files, removed=set(self._docs) | set(self._skipped))
            elif paths:
                files = [read_doc(self.root, path) for path in paths if path.is_file()]
                gone = {relative_path(self.root, path) for path in paths if not path.is_file()}
                await self._update(files, removed=gone)

    def _own_paths(self, changed: Iterable[Path]) -> list[Path] | None:
        """The changed paths that are documents of this knowledge base; None when a folder
        in or around it changed (then every document is re-read: unchanged ones cost a
        read and a hash)."""
        assert self.folder is not None
        folder = self.folder.resolve()
        own: list[Path] = []
        for path in changed:
            full = (path if path.is_absolute() else self.root / path).resolve()
            inside = folder in full.parents
            if full.suffix == ".txt" and not full.is_dir():
                if inside:  # spelled from the root as given, as the full scan spells it
                    own.append(self.root / full.relative_to(self.root.resolve()))
            elif inside or full == folder or full in folder.parents:
                return None
        return own

    async def _update(self, files: Sequence[DocFile], removed: set[str]) -> None:
        docs = dict(self._docs)
        skipped = dict(self._skipped)
        for name in removed:
            docs.pop(name, None)
            skipped.pop(name, None)
        pending: list[tuple[DocFile, str]] = []
        for file in files:
            docs.pop(file.relative, None)
            skipped.pop(file.relative, None)
            if file.text is None:
                skipped[file.relative] = KnowledgeIssue(
                    file.relative, file.line, file.problem or "cannot be read"
                )
                continue
            key = document_key(
                file.text,
                mode="qa" if self._qa else "chunks",
                size=CHUNK_SIZE,
                overlap=CHUNK_OVERLAP,
                model=self._model_id,
            )
            known = self._docs.get(file.relative)
            if known is not None and known.key == key:
                docs[file.relative] = known
            else:
                pending.append((file, key))
        for doc in await self._index(pending):
            docs[doc.source] = doc
        self._install(docs, skipped)

    async def _index(self, pending: list[tuple[DocFile, str]]) -> list[DocIndex]:
        built: list[DocIndex] = []
        to_embed: list[DocIndex] = []
        dimension = self._dimension()
        for file, key in pending:
            assert file.text is not None
            cached = self._cache.load(key) if self._cache is not None else None
            if cached is not None and cached.chunks and dimension not in (0, cached.dimension):
                cached = None  # written by another version of the model: embedded again
            if cached is not None:
                dimension = dimension or (cached.dimension if cached.chunks else 0)
                chunks = tuple(Chunk(file.relative, *row) for row in cached.chunks)
                # Q/A problems are not cached: found again, cheaply
                problems = qa_chunks(file.relative, file.text)[1] if self._qa else []
                built.append(
                    DocIndex(
                        file.relative,
                        key,
                        chunks,
                        vectors=cached.vectors,
                        dimension=cached.dimension,
                        issues=tuple(problems),
                    )
                )
                continue
            if self._qa:
                pairs, problems = qa_chunks(file.relative, file.text)
                doc = DocIndex(file.relative, key, tuple(pairs), issues=tuple(problems))
            else:
                doc = DocIndex(file.relative, key, tuple(chunk_text(file.relative, file.text)))
            if self._embedder is None:
                built.append(replace(doc, counts=chunk_counts(doc.chunks)))
            else:
                to_embed.append(doc)
        if to_embed:
            built.extend(await self._embed_documents(to_embed))
        return built

    async def _embed_documents(self, docs: list[DocIndex]) -> list[DocIndex]:
        """Embed the chunks of edited or new documents. A chunk whose text the document
        already had keeps its vector: saving a small edit embeds only the chunks it
        touched."""
        known: dict[str, bytes] = {}
        for doc in docs:
            old = self._docs.get(doc.source)
            if old is not None and old.dimension:
                width = old.dimension * 4
                for index, chunk in enumerate(old.chunks):
                    known[chunk.text] = old.vectors[index * width : (index + 1) * width]
        missing = list(dict.fromkeys(c.text for d in docs for c in d.chunks if c.text not in known))
        vectors = await self._embed_all(missing)
        known.update((text, pack([vector])) for text, vector in zip(missing, vectors, strict=True))
        dimension = len(vectors[0]) if vectors else self._dimension()
        out: list[DocIndex] = []
        for doc in docs:
            done = replace(
                doc, vectors=b"".join(known[c.text] for c in doc.chunks), dimension=dimension
            )
            if self._cache is not None:
                rows_out = tuple((c.line, c.text, c.answer) for c in doc.chunks)
                self._cache.save(doc.key, CachedDoc(rows_out, dimension, done.vectors))
            out.append(done)
        return out

    def _dimension(self) -> int:
        return next((doc.dimension for doc in self._docs.values() if doc.dimension), 0)

    async def _embed_all(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        embedder = self._embedder
        assert embedder is not None
        gate = asyncio.Semaphore(EMBED_CONCURRENCY)

        async def batch(part: list[str]) -> list[list[float]]:
            async with gate:
                try:
                    vectors = await embedder(part)
                except KnowledgeError:
                    raise
                except Exception as error:  # LLMError, a broken local model, a bad reply
                    raise KnowledgeError(
                        f"embedding the documents failed ({self.method}): {error}"
                    ) from error
            if not isinstance(vectors, list) or len(vectors) != len(part):
                got = len(vectors) if isinstance(vectors, list) else type(vectors).__name__
                raise KnowledgeError(
                    f"the embeddings model returned {got} vectors for {len(part)} texts"
                )
            return vectors

        parts = [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
        results = await asyncio.gather(*(batch(part) for part in parts))
        vectors = [vector for result in results for vector in result]
        self._check_dimensions(vectors)
        return vectors

    def _check_dimensions(self, vectors: list[list[float]]) -> None:
        known = {doc.dimension for doc in self._docs.values() if doc.dimension}
        sizes = {len(v) for v in vectors} | known
        if 0 in sizes or len(sizes) > 1:
            raise KnowledgeError(
                "the embeddings model returned vectors of different sizes "
                f"({', '.join(str(s) for s in sorted(sizes))})"
            )

    def _install(self, docs: dict[str, DocIndex], skipped: dict[str, KnowledgeIssue]) -> None:
        """Make the new state searchable (no await in here: a search sees the old state
        or the new one, never half of each)."""
        ordered = {name: docs[name] for name in sorted(docs, key=Path)}
        if self._embedder is None:
            for name, old in self._docs.items():
                if ordered.get(name) is not old:
                    self._terms.remove(name)
            for name, doc in ordered.items():
                if self._docs.get(name) is not doc:
                    self._terms.add(name, doc.counts)
        else:
            self._vectors = VectorIndex(list(ordered.values()))
        offsets: dict[str, int] = {}
        position = 0
        for name, doc in ordered.items():
            offsets[name] = position
            position += len(doc.chunks)
        keep = {doc.key for doc in ordered.values()}
        stale = {old.key for name, old in self._docs.items() if ordered.get(name) is not old}
        first = not self._docs and not self._skipped
        self._chunks = tuple(chunk for doc in ordered.values() for chunk in doc.chunks)
        self._docs, self._skipped, self._offsets = ordered, skipped, offsets
        self.issues = self._collect_issues()
        if self._cache is not None:
            if first:  # entries of documents deleted since the last run
                self._cache.prune(keep)
            else:
                self._cache.discard(stale - keep)

    def _collect_issues(self) -> list[KnowledgeIssue]:
        issues: list[KnowledgeIssue] = []
        source = self.config.docs_source or ""
        if self.folder is not None and not self.folder.is_dir():
            issues.append(
                KnowledgeIssue(
                    source,
                    0,
                    "the documents folder does not exist; knowledge questions get no answer",
                )
            )
        elif not self._docs and not self._skipped:
            issues.append(
                KnowledgeIssue(
                    source,
                    0,
                    "the documents folder holds no .txt files; knowledge questions get no answer",
                )
            )
        issues.extend(sorted(self._skipped.values(), key=lambda i: Path(i.path)))
        for doc in self._docs.values():
            issues.extend(doc.issues)
        if self._qa:
            issues.extend(duplicate_issues(list(self._chunks)))
        return issues


async def open_knowledge_base(
    project: Project,
    config: SearchPolicyConfig,
    *,
    embedder: Embedder | None,
    cache_dir: Path | None,
    model_id: str | None = None,
) -> KnowledgeBase | CollectionBase:
    """Index the policy's documents (or open its qdrant or milvus collection). `embedder` None ranks
    by BM25. `cache_dir` None caches vectors under `<project>/.calm/knowledge/`. `model_id`
    names the embedder in cache keys (a NamedEmbedder names itself). Raises KnowledgeError
    when embedding fails or a remote vector store cannot be used."""
    if config.vector_store_type in REMOTE_STORES:
        where = await check_remote_store(project, config.vector_store_type)
        if config.vector_store_type == "qdrant":
            from workbench.knowledge.qdrant_store import open_qdrant

            return await asyncio.to_thread(open_qdrant, project, embedder, where)
        from workbench.knowledge.milvus_store import open_milvus

        return await asyncio.to_thread(open_milvus, project, embedder, where)
    if not config.is_local_store:
        raise KnowledgeError(
            f"vector store '{config.vector_store_type}' is a custom store class, which only "
            "Rasa can load; use `type: faiss` to search documents in the workbench"
        )
    if isinstance(embedder, NamedEmbedder):
        name, method = embedder.model_id, embedder.method
    elif embedder is not None:
        name = model_id or "embeddings"
        method = f"embeddings {name}"
    else:
        name, method = "bm25", "bm25"
    cache = None
    if embedder is not None:
        folder = cache_dir if cache_dir is not None else project.root / CACHE_DIR
        cache = ChunkCache(folder / slug(name))
    base = KnowledgeBase(project.root, config, embedder, name, method, cache)
    await base.refresh()
    return base
