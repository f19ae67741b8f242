"""The document a retrieved chunk came from, read-only, scrolled to the chunk and with
the chunk's lines highlighted. Esc closes it.

The file is read off the event loop (a document can be large, the disk slow); a chunk
whose source is outside the project folder (a stored trace could name any path) is not
opened."""

from __future__ import annotations

import asyncio
import textwrap
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from workbench.knowledge.chunks import chunk_text
from workbench.terminal_text import printable
from workbench.trace.records import KnowledgeHit

READ_LIMIT = 4_000_000  # characters shown of a document; the rest is said to be cut
ELLIPSIS = "…"


@dataclass(frozen=True)
class Document:
    """What the viewer shows: the lines, the chunk's first and last line (1-based), and
    a problem when the file could not be read (then `lines` is empty)."""

    lines: tuple[str, ...]
    first: int
    last: int
    problem: str = ""
    cut: bool = False


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def chunk_range(text: str, line: int, excerpt: str) -> tuple[int, int]:
    """The first and last line of the chunk that starts at `line` and begins with
    `excerpt` (whitespace squeezed, maybe cut with "…"): a chunk of the recursive
    splitter when one matches, else the paragraph that starts there (a Q/A pair)."""
    lines = text.split("\n")
    if not lines or line < 1:
        return 1, 1
    line = min(line, len(lines))
    wanted = _squeezed(excerpt.removesuffix(ELLIPSIS))
    if wanted:
        for chunk in chunk_text("", text):
            if chunk.line == line and _squeezed(chunk.text).startswith(wanted):
                return line, line + chunk.text.count("\n")
    last = line
    while last < len(lines) and lines[last].strip():
        last += 1
    return line, last


def read_document(root: Path, hit: KnowledgeHit) -> Document:
    """The chunk's document under `root`, with the chunk's line range. Never raises."""
    if not hit.source:
        return Document((), 0, 0, "this chunk names no file")
    try:
        base = root.resolve()
        path = (base / hit.source).resolve()
    except (OSError, RuntimeError) as exc:
        return Document((), 0, 0, f"cannot open {hit.source}: {exc}")
    if not path.is_relative_to(base):
        return Document((), 0, 0, f"{hit.source} is outside the project folder: not opened")
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            text = handle.read(READ_LIMIT + 1)
    except FileNotFoundError:
        return Document((), 0, 0, f"{hit.source} is gone (deleted or renamed since this turn)")
    except OSError as exc:
        return Document((), 0, 0, f"cannot read {hit.source}: {exc.strerror or exc}")
    cut = len(text) > READ_LIMIT
    text = text[:READ_LIMIT]
    first, last = chunk_range(text, hit.line, hit.excerpt)
    return Document(tuple(text.split("\n")), first, last, cut=cut)


def _numbered(lines: tuple[str, ...], start: int, digits: int, width: int) -> Content:
    """Lines with their 1-based numbers in a gutter, made printable and wrapped to
    `width` (0: not wrapped) under the text, so the gutter stays a column."""
    gutter = digits + len(" │ ")
    room = width - gutter if width > gutter + 10 else 0
    rows: list[Content] = []
    for number, text in enumerate(lines, start):
        shown = printable(text, multiline=False)
        pieces = textwrap.wrap(shown, room, drop_whitespace=False) if room else []
        for index, piece in enumerate(pieces or [shown]):
            mark = f"{number:>{digits}} │ " if index == 0 else f"{'':>{digits}} │ "
            rows.append(Content.assemble((mark, "$text-muted"), piece))
    return Content("\n").join(rows)


def render_document(document: Document, width: int) -> tuple[Content, Content, Content]:
    """What goes before the chunk, the chunk, and what follows it, at `width` columns."""
    lines, first, last = document.lines, document.first, document.last
    digits = len(str(len(lines)))
    return (
        _numbered(lines[: first - 1], 1, digits, width),
        _numbered(lines[first - 1 : last], first, digits, width),
        _numbered(lines[last:], last + 1, digits, width),
    )


class SourceScreen(Screen[None]):
    """A document, scrolled to a chunk (highlighted). Esc closes."""

    BINDINGS = [Binding("escape", "close", "Close")]

    DEFAULT_CSS = """
    SourceScreen #source-title { height: 1; padding: 0 1; background: $panel; }
    SourceScreen #source-body { height: 1fr; }
    SourceScreen #source-body Static { width: 1fr; height: auto; }
    SourceScreen #source-chunk { background: $accent-muted; text-style: bold; }
    SourceScreen #source-cut { color: $text-warning; }
    """

    def __init__(self, root: Path, hit: KnowledgeHit) -> None:
        super().__init__(id="source")
        self.root = root
        self.hit = hit
        self.document: Document | None = None

    def compose(self) -> ComposeResult:
        title = printable(
            f"{self.hit.location} · chunk #{self.hit.rank} · score {self.hit.score:.3g}",
            multiline=False,
        )
        yield Static(title, id="source-title", markup=False)
        with VerticalScroll(id="source-body"):
            yield Static("reading…", id="source-before", markup=False)
            yield Static(id="source-chunk", markup=False)
            yield Static(id="source-after", markup=False)
            yield Static(id="source-cut", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#source-body").focus()
        self.load()

    @work(exclusive=True, group="read", exit_on_error=False)
    async def load(self) -> None:
        document = await asyncio.to_thread(read_document, self.root, self.hit)
        self.document = document
        if document.problem:
            self.show_problem(document.problem)
        else:
            self.draw(scroll=True)

    def on_resize(self) -> None:
        if self.document is not None and not self.document.problem:
            self.draw(scroll=False)

    def show_problem(self, problem: str) -> None:
        before = self.query_one("#source-before", Static)
        before.update(Content.styled(printable(problem), "$text-error"))
        for part in ("#source-chunk", "#source-after", "#source-cut"):
            self.query_one(part).display = False

    @work(exclusive=True, group="draw", exit_on_error=False)
    async def draw(self, scroll: bool) -> None:
        """Lay the document out at the viewer's width (off the event loop: a document
        can be long), then show it; `scroll`: bring the chunk to the top."""
        document = self.document
        if document is None:
            return
        width = self.query_one("#source-body").scrollable_content_region.width - 1
        before, chunk, after = await asyncio.to_thread(render_document, document, width)
        first, last = document.first, document.last
        self.query_one("#source-before", Static).update(before)
        self.query_one("#source-before").display = first > 1
        self.query_one("#source-chunk", Static).update(chunk)
        self.query_one("#source-after", Static).update(after)
        self.query_one("#source-after").display = last < len(document.lines)
        cut = self.query_one("#source-cut", Static)
        cut.update(f"(the document is longer: only its first {READ_LIMIT:,} characters shown)")
        cut.display = document.cut
        self.query_one("#source-title", Static).update(
            printable(
                f"{self.hit.source}:{first}-{last} · chunk #{self.hit.rank} · "
                f"score {self.hit.score:.3g} · Esc closes",
                multiline=False,
            )
        )
        if scroll:  # the chunk near the top, a few lines of what leads to it above
            self.call_after_refresh(self._scroll_to_chunk)

    def _scroll_to_chunk(self) -> None:
        body = self.query_one("#source-body", VerticalScroll)
        chunk = self.query_one("#source-chunk", Static)
        body.scroll_to(y=max(0, chunk.virtual_region.y - 2), animate=False, immediate=True)

    def action_close(self) -> None:
        self.dismiss(None)
