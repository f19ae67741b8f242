"""The Knowledge panel: what Enterprise Search did for a knowledge question of the
shown turn (the query, how and what it searched, the chunks found, the prompt, the
raw and final answer, citations, the relevancy verdict, the model's tokens, latency and
cost, the outcome and why), with the same transparency the Commands panel gives for
command generation. Enter (or a click) on a chunk posts `ChunkChosen`: the screen opens
the chunk's document at its line."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.project.model import Project
from workbench.terminal_text import printable
from workbench.trace.records import KnowledgeHit, KnowledgeRecord
from workbench.trace.text import OUTCOME_WORDS, truncate, usage_parts
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.base import NO_TURN, TableNotePanel, update_static

MUTED = "$text-muted"
NO_QUESTION = "no knowledge question this turn"
NO_POLICY = (
    "this project has no EnterpriseSearchPolicy: add one under `policies:` in config.yml "
    "to answer questions from docs/"
)
EXCERPT_MIN = 12  # characters of a chunk's excerpt shown however narrow the panel
_OUTCOME_STYLES = {
    "answer": "bold $text-success",
    "no_answer": "bold $text-warning",
    "error": "bold $text-error",
}


class ChunkChosen(Message):
    """A retrieved chunk was picked (Enter or click on its row): open `hit.source` at
    `hit.line`, under the project folder `root`."""

    def __init__(self, hit: KnowledgeHit, project: Project) -> None:
        super().__init__()
        self.hit = hit
        self.project = project


LABEL = 10  # the width of a row's label; its text wraps under the text, not the label


def _wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` (0: only at its own line breaks)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if width <= 0 or len(line) <= width:
            lines.append(line)
        else:
            lines += textwrap.wrap(line, width, drop_whitespace=True) or [""]
    return lines


def _row(label: str, text: str, style: str = "", width: int = 0) -> Content:
    """`label     text`, the text wrapped with a hanging indent so the labels stay a column."""
    pieces = _wrap(text, width - LABEL if width > LABEL * 2 else 0)
    body = Content("\n" + " " * LABEL).join(
        Content.styled(piece, style) if style else Content(piece) for piece in pieces
    )
    return Content.assemble((f"{label:<{LABEL}}", MUTED), body)


def _heading(text: str) -> Content:
    return Content.styled(text, "bold")


def _block(text: str | None, width: int = 0, empty: str = "(empty)") -> list[Content]:
    """A quoted block (prompt, answer): each line, wrapped ones too, behind a bar."""
    if text is None:
        return [Content.styled("  (none)", MUTED)]
    if not text.strip():
        return [Content.styled(f"  {empty}", MUTED)]
    return [
        Content.assemble(("│ ", MUTED), piece)
        for line in text.splitlines()
        for piece in _wrap(printable(line), width - 2 if width > 4 else 0)
    ]


def summary_lines(
    record: KnowledgeRecord, number: int, count: int, width: int = 0
) -> list[Content]:
    """The query, how it was searched and answered, and the outcome, above the chunks."""
    outcome = printable(OUTCOME_WORDS.get(record.outcome, record.outcome), multiline=False)
    head: list[str | tuple[str, str]] = []
    if count > 1:
        head += [(f"question {number} of {count}", "bold"), " · "]
    head += [
        (outcome, _OUTCOME_STYLES.get(record.outcome, "bold")),
        " · ",
        printable(record.label, multiline=False),
        (f" · {record.duration_ms:.1f} ms", MUTED),
    ]
    rows = [
        ("query", printable(record.query, multiline=False) or "(empty)", ""),
        ("mode", printable(record.mode or "?", multiline=False), ""),
        ("searched", printable(record.method or "(not searched)", multiline=False), ""),
    ]
    if record.reason:
        style = "$text-error" if record.outcome == "error" else "$text-warning"
        rows.append(("reason", printable(record.reason), style))
    if not record.hits:
        rows.append(("chunks", "none found", MUTED))
    return [Content.assemble(*head)] + [_row(*row, width=width) for row in rows]


def detail_lines(record: KnowledgeRecord, width: int = 0) -> list[Content]:
    """Below the chunks: the answer and how it came about."""
    lines: list[Content] = []
    if record.answer is not None:
        lines.append(_heading("Answer"))
        lines += _block(record.answer, width)
    rows: list[tuple[str, str, str]] = []
    if record.sources:
        rows.append(("from", printable(", ".join(record.sources), multiline=False), ""))
    rows += [("citation", printable(c, multiline=False), "") for c in record.citations]
    if record.relevant is None:
        rows.append(("relevancy", "not checked", MUTED))
    elif record.relevant:
        rows.append(("relevancy", "relevant", "$text-success"))
    else:
        rows.append(("relevancy", "not relevant", "$text-error"))
    usage = record.usage
    if usage is not None:
        rows.append(("model", " · ".join(usage_parts(usage)), ""))
        if usage.error:
            rows.append(("error", printable(usage.error), "bold $text-error"))
    else:
        rows.append(("model", "no model call", MUTED))
    rows += [("doc issue", printable(issue), "$text-warning") for issue in record.issues]
    lines += [_row(*row, width=width) for row in rows]
    if record.raw_answer is not None and record.raw_answer.strip() != (record.answer or ""):
        lines.append(_heading("Raw answer"))
        lines += _block(record.raw_answer, width)
    if record.prompt is not None:
        lines.append(_heading(f"Prompt ({len(record.prompt):,} characters)"))
        lines += _block(record.prompt.rstrip("\n"), width)
    return lines


class KnowledgePanel(TableNotePanel):
    """The knowledge questions of the turn: summary, the chunks as a table (rank, score,
    file:line, excerpt), then the answer, verdict, model call, raw answer and prompt."""

    # "Docs": the tab bar holds every tab at 100 columns only with a short label
    panel_title = "Docs"

    DEFAULT_CSS = """
    KnowledgePanel > #knowledge-scroll { height: 1fr; }
    KnowledgePanel #knowledge-scroll > Static { width: 1fr; height: auto; }
    KnowledgePanel #knowledge-hits { height: auto; max-height: 14; margin: 1 0; }
    """

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("rank", "#"),
        ("score", "score"),
        ("chunk", "file:line · excerpt  (Enter opens)"),
    )
    TABLE_ID = "knowledge-hits"

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.hits: dict[str, KnowledgeHit] = {}
        self._width = 0
        # how the project's questions will be answered (`docs · extractive (offline: …)`),
        # said while no turn asked one; the screen sets it from the knowledge service
        self.answers: Callable[[Project], str | None] | None = None

    def compose(self) -> ComposeResult:
        # one scrollable, focusable body, the empty states included: Tab always reaches it
        with VerticalScroll(id="knowledge-scroll"):
            yield Static(NO_TURN, classes="panel-note", id="trace-note", markup=False)
            yield Static(id="knowledge-summary", markup=False)
            yield DataTable(cursor_type="row", zebra_stripes=False, id="knowledge-hits")
            yield Static(id="knowledge-details", markup=False)

    def _set_note(self, text: str) -> None:
        update_static(self.note, text)
        self.note.display = bool(text)
        for part in ("#knowledge-summary", "#knowledge-details"):
            self.query_one(part).display = not text
        if text:
            self.table.display = False

    def draw_empty(self, project: Project | None) -> None:
        self.set_subtitle("")
        self.hits = {}
        self.table.clear()
        self._set_note(NO_TURN)

    def _no_question(self, project: Project) -> str:
        if project.config.search is None:
            return NO_POLICY
        how = self.answers(project) if self.answers is not None else None
        return (
            f"{NO_QUESTION}; questions are answered from {printable(how)}" if how else NO_QUESTION
        )

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        records = trace.knowledge
        self.hits = {}
        self.table.clear()
        if not records:
            self.set_subtitle("")
            self._set_note(self._no_question(project))
            return
        self._set_note("")
        summary: list[Content] = []
        details: list[Content] = []
        excerpt = self._excerpt_width(records)
        width = max(0, self.size.width - 2)  # the scrollbar's room
        for number, record in enumerate(records, 1):
            summary += summary_lines(record, number, len(records), width)
            if len(records) > 1:
                details.append(_heading(f"Question {number}"))
            details += detail_lines(record, width)
            for index, hit in enumerate(record.hits):
                key = f"{number}:{index}"
                self.hits[key] = hit
                rank = f"{number}·{hit.rank}" if len(records) > 1 else str(hit.rank)
                chunk = Text.assemble(
                    (printable(hit.location, multiline=False), "bold"),
                    "\n",
                    (truncate(hit.excerpt, excerpt), "dim"),
                )
                self.table.add_row(
                    Text(rank, justify="right"),
                    Text(f"{hit.score:.3f}", justify="right"),
                    chunk,
                    key=key,
                    height=2,
                )
        self.query_one("#knowledge-summary", Static).update(Content("\n").join(summary))
        self.query_one("#knowledge-details", Static).update(Content("\n").join(details))
        self.table.display = bool(self.hits)
        self.set_subtitle(self._subtitle(records))

    def _excerpt_width(self, records: Sequence[KnowledgeRecord]) -> int:
        """What is left of the panel's width for an excerpt, so that a row fits."""
        rank = max((len(str(h.rank)) for r in records for h in r.hits), default=1)
        rank += 2 if len(records) > 1 else 0
        used = max(rank, 1) + len("score") + 3 * 2 + 2  # cells, their padding, scrollbar
        return max(EXCERPT_MIN, self.size.width - used)

    @staticmethod
    def _subtitle(records: Sequence[KnowledgeRecord]) -> str:
        hits = sum(len(r.hits) for r in records)
        parts = [f"{hits} chunk{'s' if hits != 1 else ''}"]
        outcomes = [OUTCOME_WORDS.get(r.outcome, r.outcome) for r in records]
        parts.append(printable(", ".join(outcomes), multiline=False))
        return " · ".join(parts)

    @staticmethod
    def wanted(trace: TurnTrace | None, project: Project) -> bool:
        """Whether the panel has anything to show beyond "this project has no
        EnterpriseSearchPolicy": the project answers from documents, or the turn did."""
        return project.config.search is not None or bool(trace and trace.knowledge)

    def focus(self, scroll_visible: bool = True) -> KnowledgePanel:
        """Focus the chunks (Enter opens one), or the text when there are none."""
        if self.table.display and self.hits:
            self.table.focus(scroll_visible)
        else:
            self.query_one("#knowledge-scroll").focus(scroll_visible)
        return self

    def on_resize(self, event: Resize) -> None:
        # the excerpts are cut to the width: a new width draws them again
        if event.size.width != self._width:
            self._width = event.size.width
            if self.is_mounted and self.trace is not None and self.project is not None:
                self._draw()

    @on(DataTable.RowSelected, "#knowledge-hits")
    def _chunk_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        hit = self.hits.get(str(event.row_key.value))
        if hit is not None and self.project is not None:
            self.post_message(ChunkChosen(hit, self.project))


__all__ = ["NO_POLICY", "NO_QUESTION", "ChunkChosen", "KnowledgePanel"]
