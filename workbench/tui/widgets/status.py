"""The header line (project, generator, reload status) and the error banner."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.widgets import Label, Static

from workbench.terminal_text import printable
from workbench.tui.widgets.base import update_static
from workbench.watch import format_issue


def ago(seconds: float) -> str:
    """'just now', '4 s ago', '3 min ago', '2 h ago', '5 d ago'."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86400:.0f} d ago"


class WorkbenchHeader(Horizontal):
    """`CALM Workbench · project   generator   reload status`."""

    def compose(self) -> ComposeResult:
        yield Label(id="header-project")
        yield Label(id="header-generator")
        yield Label(id="header-status")

    def show(self, project: str, generator: str, status: str, *, problem: bool) -> None:
        update_static(
            self.query_one("#header-project", Label),
            Content.from_markup(
                "[b]CALM Workbench[/] · $project", project=printable(project, multiline=False)
            ),
        )
        update_static(
            self.query_one("#header-generator", Label),
            Content(printable(generator, multiline=False)),
        )
        label = self.query_one("#header-status", Label)
        update_static(label, Content(printable(status, multiline=False)))
        label.set_class(problem, "-problem")


class ErrorBanner(VerticalScroll, can_focus=False):
    """Docked at the top while the project on disk has errors; hidden otherwise."""

    def compose(self) -> ComposeResult:
        yield Static(id="banner-title")
        yield Static(id="banner-lines", markup=False)

    def on_mount(self) -> None:
        self.display = False

    def show_problems(
        self, errors: Sequence[object], actions_error: str | None, *, have_good: bool
    ) -> None:
        lines = [printable(format_issue(e)) for e in errors]  # type: ignore[arg-type]
        if actions_error:
            lines.append(f"actions: {printable(actions_error)}")
        self.display = bool(lines)
        if not lines:
            return
        parts = []
        if errors:
            count = len(errors)
            parts.append(f"{count} error{'s' if count > 1 else ''} in the project")
        if actions_error:
            parts.append("the custom actions do not import")
        keep = (
            "the last good version is in use"
            if have_good
            else "the project is used as loaded; fix the errors"
        )
        title = f"[b]⚠ {escape(' and '.join(parts))}[/b]: {keep} (fix and save to clear this)"
        self.query_one("#banner-title", Static).update(Content.from_markup(title))
        self.query_one("#banner-lines", Static).update("\n".join(lines))
