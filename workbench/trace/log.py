"""A conversation's turns, in order, small enough for a session of thousands of turns.

A `TurnTrace` is a graph of a few hundred small objects (~17 KB a turn on the sample
project). The latest `keep` turns stay as they are — the panels, time travel and the
tests hold on to them — and each older turn is kept as its JSON, compressed (~1-2 KB),
and made again when it is read.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from typing import overload

from workbench.trace.turn import TurnTrace

KEEP_RECENT = 100
PACK_BATCH = 25  # turns packed at a time, so the list of recent turns is not shifted each turn


class TraceLog(Sequence[TurnTrace]):
    def __init__(
        self, traces: Sequence[TurnTrace] = (), keep: int = KEEP_RECENT, batch: int = PACK_BATCH
    ) -> None:
        self.keep = max(1, keep)
        self.batch = max(1, batch)
        self._packed: list[bytes] = []
        self._recent: list[TurnTrace] = []
        for trace in traces:
            self.append(trace)

    def append(self, trace: TurnTrace) -> None:
        self._recent.append(trace)
        if len(self._recent) >= self.keep + self.batch:
            old, self._recent = self._recent[: -self.keep], self._recent[-self.keep :]
            self._packed.extend(_pack(t) for t in old)

    def __len__(self) -> int:
        return len(self._packed) + len(self._recent)

    @overload
    def __getitem__(self, index: int) -> TurnTrace: ...
    @overload
    def __getitem__(self, index: slice) -> list[TurnTrace]: ...
    def __getitem__(self, index: int | slice) -> TurnTrace | list[TurnTrace]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("turn index out of range")
        packed = len(self._packed)
        return self._recent[index - packed] if index >= packed else _unpack(self._packed[index])

    def __iter__(self) -> Iterator[TurnTrace]:
        for blob in self._packed:
            yield _unpack(blob)
        yield from self._recent

    def __bool__(self) -> bool:
        return bool(self._recent)


def _pack(trace: TurnTrace) -> bytes:
    return zlib.compress(json.dumps(trace.to_dict(), separators=(",", ":")).encode(), 6)


def _unpack(blob: bytes) -> TurnTrace:
    return TurnTrace.from_dict(json.loads(zlib.decompress(blob)))
