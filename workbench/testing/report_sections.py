"""The console report's sections after the results table: model use per case and for the
run, the limits that were exceeded, and the flakiness of repeated cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console

from workbench.store.redact import Scrubber
from workbench.terminal_text import escaped
from workbench.testing.budgets import Overrun, case_usage, result_label, total
from workbench.testing.flaky import Flakiness, flakiness_lines
from workbench.testing.results import CaseResult, RunResult


def secrets_masked(result: CaseResult) -> Callable[[str], str]:
    """How a text of this case's conversation is shown: its secrets masked, as the store
    masks them (learned from the case's own turns)."""
    scrubber = Scrubber()
    for trace in result.traces:
        scrubber.scrub(trace.to_dict())
    return scrubber.text


def print_usage(run: RunResult, console: Console) -> None:
    """A line per case that called a model, then the run's totals; nothing offline."""
    used = [(r, case_usage(r)) for r in run.results]
    used = [(r, usage) for r, usage in used if usage.calls]
    if not used:
        return
    console.print("[bold]model use[/]", highlight=False)
    for result, usage in used:
        turns = len(result.traces)
        console.print(
            f"  {escaped(result_label(result))}: {usage.text()} "
            f"({usage.calls} call(s) in {turns} turn(s))",
            highlight=False,
        )
    summed = total(usage for _, usage in used)
    console.print(
        f"  [bold]run total[/]: {summed.text()} ({summed.calls} call(s))", highlight=False
    )


def print_overruns(overruns: Sequence[Overrun], console: Console) -> None:
    if not overruns:
        return
    console.print(f"[red]limits exceeded ({len(overruns)})[/]", highlight=False)
    for overrun in overruns:
        console.print(f"  [red]✗[/] {escaped(overrun.text())}", highlight=False)


def print_flakiness(reports: Sequence[Flakiness], console: Console) -> None:
    if not reports:
        return
    runs = max(report.runs for report in reports)
    console.rule(f"flakiness ({runs} runs per case)", align="left")
    for report in reports:
        first, *rest = flakiness_lines(report)
        style = "green" if report.stable else "yellow"
        console.print(f"[{style}]{escaped(first)}[/]", highlight=False)
        for line in rest:
            console.print(escaped(line), highlight=False)
    flaky = sum(1 for report in reports if not report.stable)
    console.print(
        f"{len(reports) - flaky} stable, {flaky} flaky case(s)",
        style="yellow" if flaky else "green",
        highlight=False,
    )
