"""`calm-tui test --shard K/N`: one of N disjoint parts of the selected test cases, so
that N CI jobs share a suite.

The cases are sorted by `file::test case name` (then line) and dealt round-robin: the
i-th (from 0) goes to shard i mod N + 1. Every case lands in exactly one shard, the
shards differ in size by one case at most, and the split depends only on the names, not
on the order in which files are found or PATHS are given. Adding a case moves the cases
after it in that order to other shards, which a CI matrix does not notice: every job of
one commit splits the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from workbench.errors import UsageError
from workbench.project.model import TestCase, TestFile

Case = TypeVar("Case", bound=tuple[TestFile, TestCase])


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N, as (K, N); anything else is a usage error."""
    part, slash, total = text.partition("/")
    try:
        index, count = int(part), int(total)
    except ValueError:
        index = count = 0
    if not slash or count < 1:
        raise UsageError(f"--shard {text}: write K/N, e.g. 1/4 (the first of four shards)")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text}: K must be between 1 and {count}")
    return index, count


def shard_cases(selected: Sequence[Case], index: int, count: int) -> list[Case]:
    """The cases of shard `index` (from 1) of `count`, in the selection's order."""
    order = sorted(
        range(len(selected)),
        key=lambda i: (selected[i][0].path, selected[i][1].name, selected[i][1].source.line),
    )
    mine = {position for rank, position in enumerate(order) if rank % count == index - 1}
    return [case for position, case in enumerate(selected) if position in mine]
