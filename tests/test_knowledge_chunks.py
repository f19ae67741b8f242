"""Chunking as Rasa chunks (size, overlap, separators) with the line each chunk starts
on; Q/A pairs as Rasa's FAQ parser reads them; the offline passage."""

from __future__ import annotations

from itertools import pairwise

from knowledge_helpers import FINANCE_DOCS

from workbench.knowledge.chunks import CHUNK_OVERLAP, CHUNK_SIZE, chunk_text, split_spans
from workbench.knowledge.passage import best_passage, sentences_of
from workbench.knowledge.qa import duplicate_issues, qa_chunks


def paragraph(n: int, words: int = 30) -> str:
    return " ".join(f"word{n}x{i}" for i in range(words)) + "."


def test_rasa_chunk_size_and_overlap():
    assert (CHUNK_SIZE, CHUNK_OVERLAP) == (1000, 20)


def test_short_text_is_one_stripped_chunk():
    chunks = chunk_text("docs/a.txt", "\n\n  Hello there.\nSecond line.  \n")
    assert [(c.text, c.line) for c in chunks] == [("Hello there.\nSecond line.", 3)]


def test_paragraphs_are_packed_up_to_the_size_and_never_cut_when_they_fit():
    text = "\n\n".join(paragraph(n) for n in range(12))  # 260 characters each: three fit in 1,000
    chunks = chunk_text("docs/a.txt", text)
    assert all(len(c.text) <= 1000 for c in chunks)
    assert len(chunks) == 4
    for chunk in chunks:  # whole paragraphs only
        assert chunk.text.startswith("word") and chunk.text.endswith(".")
        assert text.count("\n", 0, text.index(chunk.text)) + 1 == chunk.line
    assert [c.line for c in chunks] == [1, 7, 13, 19]  # paragraphs are 2 lines apart


def test_a_long_line_is_cut_at_spaces_with_overlap():
    text = "title\n\n" + " ".join(f"w{i:04d}" for i in range(600))  # 3,599 characters
    spans = split_spans(text)
    chunks = [text[a:b] for a, b in spans]
    assert chunks[0] == "title"
    body = chunks[1:]
    assert all(len(c) <= 1000 for c in body)
    for before, after in pairwise(body):
        # the next chunk starts again with words from the last 20 characters
        assert after.split()[0] in before[-CHUNK_OVERLAP:]
    assert all(text.count("\n", 0, a) + 1 == 3 for a, _ in spans[1:])


def test_lines_point_into_the_document():
    text = (FINANCE_DOCS / "international_transfers.txt").read_text()
    chunks = chunk_text("docs/t.txt", text)
    lines = text.split("\n")
    for chunk in chunks:
        assert lines[chunk.line - 1].strip().startswith(chunk.text.split("\n")[0].strip()[:20])


def test_qa_pairs_of_the_finance_template():
    text = (FINANCE_DOCS / "international_transfers.txt").read_text()
    pairs, issues = qa_chunks("docs/international_transfers.txt", text)
    assert issues == []  # the title block is skipped silently, as in Rasa
    assert len(pairs) == 6
    fees = pairs[1]
    assert fees.text == "What are the fees for international transfers?"
    assert fees.answer.startswith("Fees depend on your plan: Standard accounts")
    assert fees.line == 6 and text.split("\n")[5].startswith("Q: What are the fees")
    assert all(p.answer and not p.text.startswith("Q:") for p in pairs)


def test_qa_malformed_blocks_and_files_without_pairs_are_reported():
    pairs, issues = qa_chunks("docs/x.txt", "Q: a question with no answer\n\nQ: ok?\nA: yes")
    assert [(p.text, p.answer) for p in pairs] == [("ok?", "yes")]
    assert [(i.line, i.message[:15]) for i in issues] == [(1, "not a Q:/A: pai")]
    pairs, issues = qa_chunks("docs/prose.txt", "Just prose.\n\nMore prose.")
    assert pairs == [] and "has no Q:/A: pairs" in issues[0].message


def test_multiline_answers_and_duplicate_questions():
    text = "Q: Hours?\nA: Nine to five.\n   Closed on Sundays.\n\n\nQ: Hours?\nA: Always open."
    pairs, _ = qa_chunks("docs/h.txt", text)
    assert pairs[0].answer == "Nine to five.\n   Closed on Sundays."
    assert pairs[1].line == 6
    (issue,) = duplicate_issues(pairs)
    assert issue.line == 6 and "also at docs/h.txt:1" in issue.message


def test_passage_picks_the_question_and_its_answer():
    text = (FINANCE_DOCS / "international_transfers.txt").read_text()
    chunk = chunk_text("docs/t.txt", text)[0]
    passage = best_passage("what are your fees for international transfers?", chunk.text)
    assert passage.startswith("Q: What are the fees for international transfers?")
    assert "Fees depend on your plan" in passage
    assert len(sentences_of(passage)) == 3


def test_passage_of_a_short_text_is_all_of_it_and_no_match_gives_the_start():
    assert best_passage("anything", "One. Two.") == "One. Two."
    assert best_passage("zebra", "A b. C d. E f. G h. I j.", sentences=2) == "A b. C d."
