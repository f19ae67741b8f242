"""The documents of an EnterpriseSearchPolicy knowledge base, found and read as Rasa reads
them: every `**/*.txt` under the `source` folder (relative to the project root), sorted,
decoded as UTF-8 with universal newlines.

Where Rasa stops with a traceback (a file that is not UTF-8) the workbench skips the file
and says why; it also skips binary files and files over `MAX_DOC_BYTES`, which would only
fill the index with noise. Both the validator and the knowledge index read through here,
so they agree on what is indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_DOC_BYTES = 2_000_000
BINARY_SNIFF_BYTES = 8192
DOC_PATTERN = "**/*.txt"


@dataclass(frozen=True)
class DocFile:
    """One document: its text, or why it is skipped (`problem`, at `line` when known)."""

    path: Path  # absolute
    relative: str  # to the project root, posix
    text: str | None
    problem: str | None = None
    line: int = 0


def docs_folder(root: Path, source: str) -> Path:
    folder = Path(source)
    return folder if folder.is_absolute() else root / folder


def relative_path(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def doc_paths(folder: Path) -> list[Path]:
    """The .txt files under `folder`, in Rasa's order (sorted paths)."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob(DOC_PATTERN)) if p.is_file()]


def read_doc(root: Path, path: Path) -> DocFile:
    """The document's text, or the reason it cannot be indexed. Never raises."""
    relative = relative_path(root, path)
    try:
        size = path.stat().st_size
        if size > MAX_DOC_BYTES:
            return DocFile(
                path,
                relative,
                None,
                f"is {size / 1_000_000:.1f} MB, over the {MAX_DOC_BYTES // 1_000_000} MB "
                "limit for one document; it is not indexed (split it into smaller files)",
            )
        data = path.read_bytes()
    except OSError as error:
        return DocFile(path, relative, None, f"cannot be read: {error.strerror or error}")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return DocFile(path, relative, None, "is a binary file, not text; it is not indexed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return DocFile(
            path,
            relative,
            None,
            f"is not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "it is not indexed (save it as UTF-8)",
            line,
        )
    # what Path.read_text does (Rasa reads documents so): universal newlines
    return DocFile(path, relative, text.replace("\r\n", "\n").replace("\r", "\n"))
