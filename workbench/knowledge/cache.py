"""Chunks and their vectors on disk, one file per document under
`<project>/.calm/knowledge/<model>/`, named by a key that hashes the document's text with
everything that shapes its chunks and vectors (the cache format, Q/A or prose chunking,
chunk size and overlap, the embeddings model). A restart finds every unchanged document
already embedded; saving one document writes one file.

Vectors are stored as float32 (base64) to keep the files small. A file that cannot be read
or does not hold what its name promises is ignored (and rewritten after re-embedding); a
folder that cannot be written keeps the index in memory only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_VERSION = 1
CACHE_DIR = Path(".calm") / "knowledge"


@dataclass(frozen=True)
class CachedDoc:
    """A document's chunks as (line, text, answer), and their vectors, flat float32."""

    chunks: tuple[tuple[int, str, str | None], ...]
    dimension: int
    vectors: bytes


def document_key(text: str, *, mode: str, size: int, overlap: int, model: str) -> str:
    header = f"{CACHE_VERSION}\0{mode}\0{size}\0{overlap}\0{model}\0"
    return hashlib.sha256((header + text).encode()).hexdigest()[:40]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


class ChunkCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._writable = True

    def load(self, key: str) -> CachedDoc | None:
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.info("knowledge cache %s unreadable (%s): re-embedding", path, error)
            return None
        try:
            if data["version"] != CACHE_VERSION or data["key"] != key:
                raise ValueError("not this document's entry")
            chunks = tuple(
                (int(line), str(text), None if answer is None else str(answer))
                for line, text, answer in data["chunks"]
            )
            dimension = int(data["dimension"])
            vectors = base64.b64decode(data["vectors"], validate=True)
            if len(vectors) != len(chunks) * dimension * 4 or (chunks and dimension < 1):
                raise ValueError("vectors do not match the chunks")
        except (KeyError, TypeError, ValueError) as error:
            log.info("knowledge cache %s damaged (%s): re-embedding", path, error)
            return None
        return CachedDoc(chunks, dimension, vectors)

    def save(self, key: str, doc: CachedDoc) -> None:
        if not self._writable:
            return
        payload = {
            "version": CACHE_VERSION,
            "key": key,
            "chunks": [list(chunk) for chunk in doc.chunks],
            "dimension": doc.dimension,
            "vectors": base64.b64encode(doc.vectors).decode("ascii"),
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=".doc-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False)
            os.replace(temp, self.folder / f"{key}.json")
        except OSError as error:
            log.info("knowledge cache %s not writable (%s): kept in memory", self.folder, error)
            self._writable = False

    def prune(self, keep: set[str]) -> None:
        """Delete the entries of documents that no longer exist (or changed)."""
        try:
            for path in self.folder.glob("*.json"):
                if path.stem not in keep:
                    path.unlink(missing_ok=True)
        except OSError:
            pass

    def discard(self, keys: set[str]) -> None:
        for key in keys:
            try:
                (self.folder / f"{key}.json").unlink(missing_ok=True)
            except OSError:
                pass


def pack(vectors: list[list[float]]) -> bytes:
    flat = array("f")
    for vector in vectors:
        flat.extend(vector)
    return flat.tobytes()


def unpack(data: bytes, dimension: int) -> list[list[float]]:
    flat = array("f")
    flat.frombytes(data)
    values = flat.tolist()
    return [values[i : i + dimension] for i in range(0, len(values), dimension)]
