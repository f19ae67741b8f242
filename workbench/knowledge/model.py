"""What the knowledge base hands out: chunks of the documents, ranked hits, the problems
found in files, and the one error it raises."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from workbench.errors import WorkbenchError

# texts in, one vector per text out (in order); the wiring passes one that calls the
# project's embeddings model through litellm, or the local model
Embedder = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


@dataclass(frozen=True)
class Chunk:
    """A searchable piece of a document: a ~1,000-character chunk of prose, or in Q/A mode
    (`use_generative_llm: false`) one pair's question, with the pair's answer."""

    source: str  # path relative to the project root, posix
    line: int  # 1-based line where the chunk starts
    text: str
    answer: str | None = None  # Q/A mode: the pair's answer (Rasa's metadata "answer")

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int  # 1 = best


@dataclass(frozen=True)
class KnowledgeIssue:
    """A document that could not be indexed (it is skipped), or another per-file problem."""

    path: str  # relative to the project root, posix
    line: int  # 0 when the problem is the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class KnowledgeError(WorkbenchError):
    """The knowledge base cannot be built or searched: the embeddings model is down or
    answers nonsense, a vector store is unreachable or its client is not installed."""
