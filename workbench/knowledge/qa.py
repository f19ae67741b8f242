"""Question/answer pairs, for `use_generative_llm: false` (extractive search), read as
Rasa's FAQ parser reads them: a document is cut at blank lines; a block that starts with
`Q:` and has a line starting with `A:` is one pair; other blocks (a title, prose) are
skipped. The question is what is searched; the answer is what the assistant says.

    Q: What are the fees for international transfers?
    A: Fees depend on your plan: ...
"""

from __future__ import annotations

import re

from workbench.knowledge.chunks import line_at
from workbench.knowledge.model import Chunk, KnowledgeIssue

PAIR_SEPARATOR = "\n\n"
PAIR = re.compile(r"Q:\s*(?P<question>.*?)\s*\n\s*A:\s*(?P<answer>.*)", re.DOTALL)


def qa_chunks(source: str, text: str) -> tuple[list[Chunk], list[KnowledgeIssue]]:
    """One chunk per pair (text = the question, answer = the answer), and the blocks that
    look like a pair but are not one."""
    chunks: list[Chunk] = []
    issues: list[KnowledgeIssue] = []
    offset = len(text) - len(text.lstrip())
    body = text.strip()
    position = 0
    for block in body.split(PAIR_SEPARATOR):
        lead = len(block) - len(block.lstrip())
        start = offset + position + lead
        position += len(block) + len(PAIR_SEPARATOR)
        block = block.strip()
        match = PAIR.match(block)
        if match is None:
            if "Q:" in block or "A:" in block:
                issues.append(
                    KnowledgeIssue(
                        source,
                        line_at(text, start),
                        "not a Q:/A: pair (a `Q:` line, then an `A:` line, then a blank "
                        "line); it is not searched",
                    )
                )
            continue
        question = match.group("question").strip()
        answer = match.group("answer").strip()
        chunks.append(Chunk(source, line_at(text, start), question, answer))
    if not chunks and body:
        issues.append(
            KnowledgeIssue(
                source,
                0,
                "has no Q:/A: pairs; with use_generative_llm: false nothing in it can be answered",
            )
        )
    return chunks, issues


def duplicate_issues(chunks: list[Chunk]) -> list[KnowledgeIssue]:
    """Questions asked twice with different answers: only one of them can ever be given."""
    first: dict[str, Chunk] = {}
    issues: list[KnowledgeIssue] = []
    for chunk in chunks:
        earlier = first.setdefault(chunk.text, chunk)
        if earlier is not chunk and earlier.answer != chunk.answer:
            issues.append(
                KnowledgeIssue(
                    chunk.source,
                    chunk.line,
                    f"the question '{chunk.text}' is also at {earlier.location} with a "
                    "different answer",
                )
            )
    return issues
