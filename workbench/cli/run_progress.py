"""The progress bar of `calm-tui test`: cases done of all, how many failed, the time
left. Only a terminal sees it, and only once a run has taken longer than
`SHOW_AFTER_S`: a short run, `--quiet` and output to a file or a CI log print none."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from workbench.testing.results import FAILED, CaseResult

SHOW_AFTER_S = 1.0


class RunProgress:
    """`with RunProgress(console, total, enabled=...) as progress:` then `running(label)`
    when a case starts (where one process runs them) and `done(result)` for each result."""

    def __init__(self, console: Console, total: int, *, enabled: bool, label: str = "e2e"):
        self.enabled = enabled and console.is_terminal
        self.failed = 0
        self.label = label
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
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
        if result.status == FAILED:
            self.failed += 1
            self.progress.update(self.task, failed=f"[red]{self.failed} failed[/]")
        self.progress.advance(self.task)

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
