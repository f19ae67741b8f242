"""The workbench app. Until the chat lands, it shows the loaded project: its flows and
what the validator says about it."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Static

from ..project.loader import LoadResult
from ..project.validate import validate_path


class WorkbenchApp(App):
    TITLE = "CALM Workbench"
    CSS = """
    #flows, #issues { width: 1fr; border: round $primary; padding: 0 1; }
    #issues { border: round $warning; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "reload", "Reload project"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self.result: LoadResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="flows"):
                yield Static(id="flow-list")
            with VerticalScroll(id="issues"):
                yield Static(id="issue-list")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.result = validate_path(self.root)
        project = self.result.project
        self.sub_title = f"{self.root.name} · offline · chat coming soon"
        flows = self.query_one("#flows")
        flows.border_title = f"Flows ({len(project.user_flows)})"
        lines = [
            f"[b]{escape(flow.id)}[/b]  [dim]{escape(flow.description or '')}[/dim]"
            for flow in sorted(project.user_flows, key=lambda f: f.id)
        ]
        self.query_one("#flow-list", Static).update("\n".join(lines) or "no flows found")
        issues = self.result.issues
        self.query_one(
            "#issues"
        ).border_title = (
            f"Validation: {len(issues.errors)} error(s), {len(issues.warnings)} warning(s)"
        )
        text = "\n".join(
            f"[{'red' if i.is_error else 'yellow'}]{escape(i.location)}[/] {escape(i.message)}"
            for i in issues
        )
        self.query_one("#issue-list", Static).update(text or "[green]The project is valid.[/]")


def run_app(root: Path) -> int:
    WorkbenchApp(root).run()
    return 0
