"""The Knowledge panel, the chunk source viewer and the knowledge answer's source in the
chat, driven through real conversations on the knowledge fixture project (offline: the
answers are extractive, no key and no server)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from tui_helpers import (
    freeze_times,
    panels_up,
    send,
    start,
    text_of,
    turn_items,
    wait_until,
)

from tests.fake_llm import FakeLLM
from tests.test_knowledge_answers import copy_fixture
from workbench.trace.records import KnowledgeHit, KnowledgeRecord
from workbench.trace.turn import ModelUsage, TurnTrace
from workbench.tui.app import WorkbenchApp, make_app
from workbench.tui.screens.source import SourceScreen, chunk_range, read_document
from workbench.tui.widgets import NO_TURN, KnowledgePanel
from workbench.tui.widgets.knowledge_panel import NO_POLICY, NO_QUESTION
from workbench.tui.widgets.panel_area import PanelTabs
from workbench.understanding.base import ScriptedGenerator

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge"
FEES = "what are the fees for international payments?"
SECURITY = "will you ever ask for my password?"
SIZE = (100, 30)


@pytest.fixture
def knowledge_project(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".calm"))
    return root


def app_on(root: Path, **options: object) -> WorkbenchApp:
    app = make_app(root, offline=True, watch=False, store=False, **options)  # type: ignore[arg-type]
    knowledge = app.conversation.parts.knowledge
    if knowledge is not None:  # the knowledge timing in the panel, for the snapshot
        knowledge.clock = lambda: 0.0
    freeze_times(app)
    return app


def panel(app: WorkbenchApp) -> KnowledgePanel:
    return app.main.query_one(KnowledgePanel)


def chunk_rows(app: WorkbenchApp) -> list[list[str]]:
    table = panel(app).query_one("#knowledge-hits", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def flat(text: str) -> str:
    """Text with its wrapping undone: every run of whitespace one space."""
    return " ".join(text.split())


def note(app: WorkbenchApp) -> str:
    shown = panel(app).query_one("#trace-note", Static)
    return str(shown.visual) if shown.display else ""


async def show_knowledge(pilot: Pilot) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    app.main.action_knowledge()
    await pilot.pause()
    await pilot.pause()


# --- the panel in a conversation ------------------------------------------------------------


async def test_a_knowledge_question_shows_its_chunks_and_how_it_was_answered(knowledge_project):
    app = app_on(knowledge_project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        # the greeting asked nothing; the panel says how questions will be answered
        assert note(app).startswith(f"{NO_QUESTION}; questions are answered from ./docs · ")
        assert "extractive (offline" in note(app)
        await send(pilot, FEES)
        tabs = app.main.panels.query_one(PanelTabs)
        assert tabs.get_tab("tab-knowledge").display  # the project answers from docs
        await show_knowledge(pilot)
        rows = chunk_rows(app)
        assert rows, "no chunk rows"
        rank, score, chunk = rows[0]
        assert rank == "1"
        assert chunk.startswith("docs/banking/fees.txt:1\n")
        assert "What are the fees" in chunk
        record = app.conversation.traces[-1].knowledge[0]
        assert score == f"{record.hits[0].score:.3f}"
        assert [r[2].split("\n")[0] for r in rows] == [h.location for h in record.hits]
        shown = flat(text_of(panel(app)))
        assert f"query {FEES}" in shown
        assert "searched bm25" in shown
        assert "mode offline" in shown
        assert "answered · extractive (offline)" in shown
        assert "Standard accounts pay a 0.5% markup" in shown
        assert "from docs/banking/fees.txt:3" in shown
        assert "relevancy not checked" in shown
        assert "model no model call" in shown
        assert panel(app).border_subtitle == f"{len(rows)} chunks · answered"
        assert note(app) == ""
        # the chat says where the answer came from, under the bot's message
        chat = text_of(turn_items(app)[-1])
        assert "knowledge answer, extractive (offline): docs/banking/fees.txt:3" in chat
        source = turn_items(app)[-1].query_one(".source", Static)
        assert source.styles.color != turn_items(app)[-1].query_one(".bot .text").styles.color


async def test_time_travel_shows_the_selected_turns_question(knowledge_project):
    app = app_on(knowledge_project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, FEES)
        await send(pilot, SECURITY)
        await send(pilot, "I want to send money")  # a flow, no knowledge question
        await show_knowledge(pilot)
        assert note(app).startswith(NO_QUESTION)
        app.main.chat.chat_log.focus()
        await pilot.press("up")  # the turn before the latest: the security question
        await pilot.pause()
        assert app.main.viewing == 2
        assert f"query {SECURITY}" in flat(text_of(panel(app)))
        assert chunk_rows(app)[0][2].startswith("docs/banking/security.txt:")
        await pilot.press("up")
        await pilot.pause()
        assert app.main.viewing == 1
        assert f"query {FEES}" in flat(text_of(panel(app)))
        assert chunk_rows(app)[0][2].startswith("docs/banking/fees.txt:")
        await pilot.press("end")  # back to live
        await pilot.pause()
        assert app.main.viewing is None
        assert note(app).startswith(NO_QUESTION)


async def test_the_empty_states_say_why(tmp_path):
    # no turn at all
    root = tmp_path / "knowledge"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".calm"))
    app = app_on(root, greet=False)
    async with app.run_test(size=SIZE) as pilot:
        await panels_up(pilot)
        assert note(app) == NO_TURN
    # a project with no EnterpriseSearchPolicy
    config = root / "config.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("  - name: EnterpriseSearchPolicy")], encoding="utf-8")
    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert note(app) == NO_POLICY
        assert not panel(app).query_one("#knowledge-hits").display
        assert "EnterpriseSearchPolicy" in NO_POLICY
        # its tab is not in the bar until asked for (the palette)
        tabs = app.main.panels.query_one(PanelTabs)
        tab = tabs.get_tab("tab-knowledge")
        assert not tab.display
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Knowledge panel")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette)
                and app.screen.query_one(CommandList).option_count > 0
            ),
            what="the palette's match",
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: tabs.active == "tab-knowledge", what="the tab")
        assert tab.display
        await pilot.pause()
        bar = tabs.query_one("#tabs-scroll").region
        assert bar.contains_region(tab.region), (bar, tab.region)  # scrolled into view
        assert app.focused is not None and panel(app) in app.focused.ancestors


async def test_a_generative_answer_shows_prompt_raw_answer_citations_verdict_and_usage(
    tmp_path: Path,
):
    with FakeLLM() as server:
        root = copy_fixture(tmp_path, server.url, citation_enabled=True, check_relevancy=True)
        server.queue(
            "Standard accounts pay a 0.5% markup [3].\nSources:\n[3] docs/banking/fees.txt:3\n",
            prompt_tokens=812,
            completion_tokens=21,
        )
        app = make_app(
            root,
            generator=ScriptedGenerator(["search and reply"], syntax="v3"),
            watch=False,
            store=False,
            greet=False,
        )
        async with app.run_test(size=(160, 45)) as pilot:
            await send(pilot, FEES)
            await show_knowledge(pilot)
            record = app.conversation.traces[-1].knowledge[0]
            assert record.mode == "generative" and record.prompt is not None
            shown = flat(text_of(panel(app)))
            assert "answered · generative (openai/fake-chat)" in shown
            assert "searched embeddings openai/fake-embed" in shown
            assert "citation [1] docs/banking/fees.txt:3" in shown
            assert "relevancy relevant" in shown
            assert "812 prompt + 21 completion tokens" in shown
            assert "Raw answer │ Standard accounts pay a 0.5% markup [3]." in shown
            assert f"Prompt ({len(record.prompt):,} characters)" in shown
            assert flat(record.prompt)[:200] in shown.replace("│ ", "")
            assert chunk_rows(app)[0][2].startswith("docs/banking/fees.txt:")


# --- the chunk's document --------------------------------------------------------------------


async def test_enter_on_a_chunk_opens_its_document_at_the_chunk(knowledge_project):
    app = app_on(knowledge_project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, SECURITY)
        await show_knowledge(pilot)
        table = panel(app).query_one("#knowledge-hits", DataTable)
        assert app.focused is table
        hit = app.conversation.traces[-1].knowledge[0].hits[0]
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        await wait_until(
            pilot,
            lambda: "│" in str(screen.query_one("#source-chunk", Static).visual),
            what="the document",
        )
        document = screen.document
        assert document is not None and not document.problem
        text = (knowledge_project / hit.source).read_text(encoding="utf-8")
        assert (document.first, document.last) == chunk_range(text, hit.line, hit.excerpt)
        assert document.first == hit.line
        chunk = str(screen.query_one("#source-chunk", Static).visual)
        first_line = text.split("\n")[hit.line - 1]
        assert chunk.split("\n")[0].endswith(first_line)
        assert chunk.split("\n")[0].lstrip().startswith(f"{hit.line} │")
        # a long line wraps under its text: the gutter goes on without a number
        assert max(len(line) for line in text.split("\n")) > SIZE[0]
        assert "\n  │ " in chunk
        title = str(screen.query_one("#source-title", Static).visual)
        assert f"{hit.source}:{document.first}-{document.last}" in title
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


def test_chunk_range_finds_a_splitter_chunk_and_a_qa_pair() -> None:
    long = "\n".join(f"line {n} " + "word " * 30 for n in range(1, 40))
    first, last = chunk_range(long, 1, "line 1 word word")
    assert first == 1 and 1 < last < 39  # a 1,000-character chunk spans several lines
    pairs = "Fees\n\nQ: one?\nA: yes.\n\nQ: two?\nA: no.\n"
    assert chunk_range(pairs, 3, "Q: one?") == (3, 4)  # the pair, up to the blank line
    assert chunk_range(pairs, 6, "Q: two?") == (6, 7)
    assert chunk_range(pairs, 99, "") == (8, 8)  # past the end: the last line


def test_read_document_refuses_paths_outside_the_project_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    outside = read_document(root, KnowledgeHit("../secret.txt", 1, 1.0, 1, "no"))
    assert "outside the project folder" in outside.problem and not outside.lines
    gone = read_document(root, KnowledgeHit("docs/gone.txt", 1, 1.0, 1, ""))
    assert "docs/gone.txt is gone" in gone.problem
    (root / "docs" / "bad.txt").write_bytes(b"ok\n\xff\xfe bytes\n")
    bad = read_document(root, KnowledgeHit("docs/bad.txt", 2, 1.0, 1, ""))
    assert not bad.problem and bad.lines[1].endswith("bytes")


# --- hostile text ----------------------------------------------------------------------------

X = "\x1b[2J\x9b"


async def test_the_panel_shows_terminal_controls_as_text(knowledge_project):
    app = app_on(knowledge_project, greet=False)
    record = KnowledgeRecord(
        query=f"q{X}",
        mode="generative",
        outcome="error",
        method=f"m{X}",
        hits=(KnowledgeHit(f"docs/a{X}.txt", 3, 0.5, 1, f"excerpt{X}"),),
        prompt=f"prompt{X}",
        raw_answer=f"raw{X}",
        answer=f"answer{X}",
        citations=(f"cite{X}",),
        relevant=False,
        reason=f"reason{X}",
        usage=ModelUsage(model=f"model{X}", latency_ms=640.0, cost=0.0012, error=f"err{X}"),
        issues=(f"issue{X}",),
    )
    trace = TurnTrace(index=1, user_text="q", knowledge=[record])
    async with app.run_test(size=(160, 60)) as pilot:
        await panels_up(pilot)
        panel(app).show_trace(trace, app.conversation.project)
        await pilot.pause()
        shown = flat(text_of(panel(app)))
        assert "\x1b" not in shown and "\x9b" not in shown
        for field in ("q", "m", "excerpt", "prompt", "raw", "answer", "cite", "reason", "err"):
            assert f"{field}␛[2J" in shown, field
        assert "relevancy not relevant" in shown
        assert "640 ms" in shown and "$0.0012" in shown
        assert "failed" in shown


# --- how it looks ----------------------------------------------------------------------------


def test_knowledge_panel_snapshot(knowledge_project, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await start(pilot)
        await send(pilot, FEES)
        await show_knowledge(pilot)
        pilot.app.main.chat.input.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    app = app_on(knowledge_project)
    app.clock = lambda: 0.0
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
