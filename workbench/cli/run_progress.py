"""The progress bar of `calm-tui test` and of `calm-tui sessions import`: cases (or
conversations) done of all, how many failed, the time left. Only a terminal sees it,
and only once a run has taken longer than `SHOW_AFTER_S`: a short run, `--quiet` and
output to a file or a CI log print none."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from workbench.testing.results import FAILED, CaseResult

SHOW_AFTER_S = 1.0


class RunProgress:
    """`with RunProgress(console, total, enabled=...) as progress:` then `running(label)`
    when a case starts (where one process runs them) and `done(result)` for each result
    (or `advance()` for anything else that is done)."""

    def __init__(
        self, console: Console, total: int | None, *, enabled: bool, label: str = "e2e"
    ) -> None:
        self.enabled = enabled and console.is_terminal
        self.failed = 0
        self.label = label
        # a total not known (a store that cannot count): how fast, not how long
        ends = [TextColumn("eta"), TimeRemainingColumn()] if total is not None else [_Rate()]
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            *ends,
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(escape(label), total=total, failed="")
        self._lock = threading.Lock()
        self._shown = False
        self._closed = False
        self._timer: threading.Timer | None = None

    def __enter__(self) -> RunProgress:
        if self.enabled and SHOW_AFTER_S <= 0:
            self._show()
        elif self.enabled:
            # a timer, not the next result: a first case that takes long shows the bar too
            self._timer = threading.Timer(SHOW_AFTER_S, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self.progress.start()
                self._shown = True

    def running(self, label: str) -> None:
        self.progress.update(self.task, description=escape(label))

    def done(self, result: CaseResult) -> None:
        self.advance(failed=result.status == FAILED)

    def advance(self, steps: int = 1, *, failed: bool = False) -> None:
        """`steps` more done (one that failed, with `failed`)."""
        if failed:
            self.failed += 1
            self.progress.update(self.task, failed=f"[red]{self.failed} failed[/]")
        self.progress.advance(self.task, steps)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._shown:
                self.progress.stop()


class _Rate(ProgressColumn):
    """Done per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "", style="progress.data.speed")
