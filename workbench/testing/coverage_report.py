"""The coverage table `calm-tui test --coverage` prints after the results."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workbench.testing.coverage import Count, Coverage

COLUMNS = ("steps", "branches", "conditions", "collects", "rejections")
HEADERS = {"conditions": "ifs t/f"}  # each `if` counts twice: seen true, seen false
NEVER_SHOWN = 12  # responses never uttered named at most; the JSON file lists them all


def cell(count: Count) -> str:
    """`14/20 70%` (whole percents: the JSON file has tenths), dim `–` where there is
    nothing to cover."""
    if count.percent is None:
        return "[dim]–[/]"
    style = "green" if count.covered == count.total else "yellow" if count.covered else "red"
    return f"{count.covered}/{count.total} [{style}]{count.percent:.0f}%[/]"


def print_coverage(coverage: Coverage, console: Console) -> None:
    table = Table(
        title="Coverage",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("flow", overflow="fold", ratio=1)
    table.add_column("runs", justify="right", no_wrap=True)
    for name in COLUMNS:
        table.add_column(HEADERS.get(name, name), justify="right", no_wrap=True)
    for flow in coverage.flows:
        counts = flow.counts()
        table.add_row(
            escape(flow.flow_id), str(flow.runs), *(cell(counts[name]) for name in COLUMNS)
        )
    totals = coverage.totals()
    table.add_section()
    table.add_row("[bold]project[/]", "", *(cell(totals[name]) for name in COLUMNS))
    console.print(table)
    console.print(
        f"responses uttered {cell(totals['responses'])} · patterns ran {cell(totals['patterns'])}"
    )
    never = coverage.never_uttered
    if never:
        shown = ", ".join(escape(name) for name in never[:NEVER_SHOWN])
        more = f" and {len(never) - NEVER_SHOWN} more" if len(never) > NEVER_SHOWN else ""
        console.print(f"[dim]never uttered: {shown}{more}[/]")


__all__ = ["print_coverage"]
