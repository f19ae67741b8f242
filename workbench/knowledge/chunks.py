"""Documents cut into overlapping chunks the way Rasa's in-model FAISS store cuts them: a
recursive character splitter (separators "\\n\\n", "\\n", " ", then single characters),
chunks of at most 1,000 characters, 20 characters of overlap, the separator kept at the
start of the piece that follows it, each chunk stripped of surrounding whitespace.

The algorithm is the well-known recursive splitter, written here over (start, end) spans
of the original text rather than over copied strings, so that every chunk knows where it
starts: its 1-based line goes to the trace and the "open source file" action.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from workbench.knowledge.model import Chunk

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 20
SEPARATORS = ("\n\n", "\n", " ", "")

Span = tuple[int, int]


def split_spans(text: str, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP) -> list[Span]:
    """(start, end) of each chunk of `text`, in order; `text[start:end]` is the chunk."""
    if size <= 0 or overlap < 0 or overlap > size:
        raise ValueError(f"bad chunking: size {size}, overlap {overlap}")
    return _Splitter(text, size, overlap).split((0, len(text)), SEPARATORS)


def chunk_text(
    source: str, text: str, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP
) -> list[Chunk]:
    """The chunks of one document, each with its source path and starting line."""
    return [
        Chunk(source, line_at(text, start), text[start:end])
        for start, end in split_spans(text, size, overlap)
    ]


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class _Splitter:
    def __init__(self, text: str, size: int, overlap: int) -> None:
        self.text = text
        self.size = size
        self.overlap = overlap

    def split(self, span: Span, separators: Sequence[str]) -> list[Span]:
        start, end = span
        # the first separator that occurs in this span; the finer ones are for its pieces
        separator = ""
        finer: tuple[str, ...] = ()
        for index, candidate in enumerate(separators):
            if not candidate:
                break
            if self.text.find(candidate, start, end) != -1:
                separator, finer = candidate, tuple(separators[index + 1 :])
                break
        chunks: list[Span] = []
        short: list[Span] = []
        for piece in self._pieces(span, separator):
            if piece[1] - piece[0] < self.size:
                short.append(piece)
                continue
            if short:
                chunks.extend(self._merge(short))
                short = []
            if finer:
                chunks.extend(self.split(piece, finer))
            else:
                chunks.append(piece)  # cannot be cut finer: kept whole, unstripped
        if short:
            chunks.extend(self._merge(short))
        return chunks

    def _pieces(self, span: Span, separator: str) -> list[Span]:
        """The span cut before each (non-overlapping) occurrence of `separator`; empty
        pieces dropped. No separator: single characters."""
        start, end = span
        if not separator:
            return [(i, i + 1) for i in range(start, end)]
        cuts = [start]
        found = self.text.find(separator, start, end)
        while found != -1:
            cuts.append(found)
            found = self.text.find(separator, found + len(separator), end)
        cuts.append(end)
        return [(a, b) for a, b in pairwise(cuts) if b > a]

    def _merge(self, pieces: list[Span]) -> list[Span]:
        """Consecutive pieces joined into chunks of at most `size`; each new chunk starts
        with the last pieces of the one before, up to `overlap` characters."""
        chunks: list[Span] = []
        window: list[Span] = []
        total = 0
        for piece in pieces:
            length = piece[1] - piece[0]
            if total + length > self.size and window:
                self._emit(window, chunks)
                while total > self.overlap or (total + length > self.size and total > 0):
                    first = window.pop(0)
                    total -= first[1] - first[0]
            window.append(piece)
            total += length
        if window:
            self._emit(window, chunks)
        return chunks

    def _emit(self, window: list[Span], chunks: list[Span]) -> None:
        start, end = window[0][0], window[-1][1]
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        if end > start:
            chunks.append((start, end))
