"""Print validation issues for people (grouped by file) and for tools (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

from rich.console import Console
from rich.markup import escape

from workbench.project.issues import Issue


def sort_issues(issues: Sequence[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.file, i.line, i.column, i.severity, i.message))


def print_issues(issues: Sequence[Issue], console: Console, project_name: str) -> None:
    ordered = sort_issues(issues)
    for file, group in groupby(ordered, key=lambda i: i.file):
        console.print(f"[bold]{escape(file)}[/]", soft_wrap=True)
        for issue in group:
            style = "red" if issue.is_error else "yellow"
            console.print(
                f"  {escape(issue.location)}: [{style}]{issue.severity}[/]: "
                f"{escape(issue.message)}",
                highlight=False,
                soft_wrap=True,
            )
            if issue.hint:
                console.print(
                    f"      [dim]→ {escape(issue.hint)}[/]", highlight=False, soft_wrap=True
                )
    errors = sum(1 for i in issues if i.is_error)
    warnings = len(issues) - errors
    if errors:
        summary = f"[red]{errors} error(s)[/], {warnings} warning(s) in {escape(project_name)}"
    elif warnings:
        summary = f"[green]no errors[/], [yellow]{warnings} warning(s)[/] in {escape(project_name)}"
    else:
        summary = f"[green]{escape(project_name)} is valid[/]: no errors, no warnings"
    console.print(summary, highlight=False, soft_wrap=True)


def issues_json(issues: Sequence[Issue], project_root: str, notes: Sequence[str] = ()) -> str:
    ordered = sort_issues(issues)
    return json.dumps(
        {
            "project": project_root,
            **({"notes": list(notes)} if notes else {}),
            "errors": sum(1 for i in ordered if i.is_error),
            "warnings": sum(1 for i in ordered if not i.is_error),
            "issues": [i.to_dict() for i in ordered],
        },
        indent=2,
        ensure_ascii=False,
    )
