"""Citations in a generative knowledge answer, put in order.

A model asked to cite writes `[n]` (or `[n, m]`) after sentences and ends with a
`Sources:` block of `[n] <source>` lines, but often numbers by the documents' order in the
prompt rather than by first citation. As Rasa does, the answer is renumbered so that the
first source cited is [1], the next new one [2], ...; a group's numbers are sorted; a
citation of a number with no source line is dropped; sources never cited follow the cited
ones (by their number), then any other lines of the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCES_MARKER = "Sources:"
CITATION = re.compile(r"\[([^\]]+)\]")
SOURCE_LINE = re.compile(r"^\[(\d+)\]")


@dataclass(frozen=True)
class CitedAnswer:
    text: str  # the answer with renumbered citations and its Sources block
    sources: tuple[str, ...]  # the block's lines, in their new order


def order_citations(answer: str) -> CitedAnswer:
    head, marker, block = answer.rpartition(SOURCES_MARKER)
    if not marker:
        return CitedAnswer(answer.strip(), ())
    numbered: dict[int, str] = {}
    others: list[str] = []
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = SOURCE_LINE.match(line)
        if match:
            numbered[int(match.group(1))] = line
        else:
            others.append(line)
    order: list[int] = []
    for group in CITATION.finditer(head):
        for number in _numbers(group.group(1)):
            if number in numbered and number not in order:
                order.append(number)
    new_number = {old: new for new, old in enumerate(order, start=1)}

    def renumber(group: re.Match[str]) -> str:
        kept = sorted({new_number[n] for n in _numbers(group.group(1)) if n in new_number})
        return f"[{', '.join(map(str, kept))}]" if kept else ""

    text = CITATION.sub(renumber, head)
    text = re.sub(r"\s+([,.?!;:])", r"\1", text)
    text = " ".join(text.split())
    sources = [numbered[old].replace(f"[{old}]", f"[{new_number[old]}]", 1) for old in order]
    sources += [line for number, line in sorted(numbered.items()) if number not in new_number]
    sources += others
    if sources:
        text += "\n" + SOURCES_MARKER + "\n" + "\n".join(sources)
    return CitedAnswer(text, tuple(sources))


def _numbers(group: str) -> list[int]:
    return [int(part) for part in (p.strip() for p in group.split(",")) if part.isdigit()]
