"""Citations in a generative knowledge answer, put in order as Rasa does."""

from __future__ import annotations

from workbench.knowledge.citations import order_citations


def test_citations_are_renumbered_by_first_use_and_sources_follow() -> None:
    cited = order_citations(
        "Fees are low [3]. Cards are free [1]. Both hold [3, 1].\n"
        "Sources:\n[1] docs/cards.txt\n[3] docs/fees.txt\n"
    )
    assert cited.text == (
        "Fees are low [1]. Cards are free [2]. Both hold [1, 2].\n"
        "Sources:\n[1] docs/fees.txt\n[2] docs/cards.txt"
    )
    assert cited.sources == ("[1] docs/fees.txt", "[2] docs/cards.txt")


def test_a_citation_without_a_source_is_dropped_and_uncited_sources_are_kept_last() -> None:
    cited = order_citations(
        "Fees are low [2] [7]. Nothing else.\nSources:\n[1] docs/a.txt\n[2] docs/b.txt\nsee also"
    )
    assert cited.text == (
        "Fees are low [1]. Nothing else.\nSources:\n[1] docs/b.txt\n[1] docs/a.txt\nsee also"
    )


def test_an_answer_without_a_sources_block_is_kept_as_it_is() -> None:
    assert order_citations("  Fees are low [1].  ").text == "Fees are low [1]."
    assert order_citations("Fees are low.").sources == ()


def test_the_last_sources_block_is_the_one_read() -> None:
    cited = order_citations("Sources: are cited [2].\nSources:\n[2] docs/x.txt")
    assert cited.text == "Sources: are cited [1].\nSources:\n[1] docs/x.txt"
