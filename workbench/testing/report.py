"""Show e2e results: a summary table, then each failure in detail; and JUnit XML.

A failure quotes the conversation: its secrets are masked first (`masked`), with the
placeholders the store uses, learned from the case's own turns.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby
from pathlib import Path
from typing import cast

from rich.console import Console
from rich.table import Table

from workbench.calm.values import SlotValue
from workbench.store.redact import Scrubber, scrub_text
from workbench.terminal_text import escaped, printable
from workbench.testing.budgets import case_usage, result_label
from workbench.testing.other_version import hint
from workbench.testing.runner import FAILED, PASSED, SKIPPED, CaseResult, RunResult, TurnView
from workbench.trace.text import bot_message_lines, slot_set_text

STATUS_STYLE = {PASSED: "green", FAILED: "red", SKIPPED: "yellow"}


# --- plain text (console details and JUnit bodies) -------------------------------------------


def masked(result: CaseResult) -> CaseResult:
    """`result` with the secrets of its conversation masked in all it would show."""
    scrubber = Scrubber()
    if result.failure is not None:  # only a failure quotes the conversation
        for trace in result.traces:
            scrubber.scrub(trace.to_dict())  # learns which values are secrets
    text = scrubber.text
    failure = result.failure
    if failure is not None:
        turn = failure.turn
        if turn is not None:
            turn = replace(
                turn,
                user_text=None if turn.user_text is None else text(turn.user_text),
                bot=[replace(m, text=m.text and text(m.text)) for m in turn.bot],
                slots=[
                    (n, cast(SlotValue, scrubber.scrub_record({"name": n, "value": v})["value"]))
                    for n, v in turn.slots
                ],
                flows=[text(line) for line in turn.flows],
                commands=[text(line) for line in turn.commands],
                dropped=[text(line) for line in turn.dropped],
                errors=[text(line) for line in turn.errors],
                notices=[text(line) for line in turn.notices],
            )
        failure = replace(
            failure, message=text(failure.message), expected=text(failure.expected), turn=turn
        )
    return replace(result, failure=failure, notes=[text(note) for note in result.notes])


def failure_text(result: CaseResult) -> str:
    """The first divergent step, expected vs actual, the turn's commands: plain text."""
    result = masked(result)
    failure = result.failure
    lines: list[str] = []
    if failure is None:
        return ""
    where = f"{failure.location}: " if failure.location else ""
    lines.append(f"{where}{failure.message}")
    if result.passes_under:
        lines.append(hint(result.passes_under))
    if failure.expected:
        lines.append(f"expected: {failure.expected}")
    turn = failure.turn
    if turn is not None:
        label = "session start (fixtures)" if turn.user_text is None else f"user: {turn.user_text}"
        lines.append(f"actual, turn of {label}")
        lines.extend("  " + line for line in turn_lines(turn))
    lines.extend(f"note: {note}" for note in result.notes)
    return printable("\n".join(lines))


def turn_lines(turn: TurnView) -> list[str]:
    lines = []
    if turn.bot:
        lines.append("bot messages:")
        lines.extend(bot_message_lines(turn.bot))
    else:
        lines.append("bot messages: none")
    if turn.slots:
        lines.append("slot events: " + ", ".join(slot_set_text(n, v) for n, v in turn.slots))
    else:
        lines.append("slot events: none")
    if turn.flows:
        lines.append("flows: " + "; ".join(turn.flows))
    if turn.actions:
        lines.append("actions: " + ", ".join(turn.actions))
    if turn.user_text is not None:
        lines.append("commands: " + (" | ".join(turn.commands) if turn.commands else "none"))
    if turn.dropped:
        lines.append("dropped: " + " | ".join(turn.dropped))
    for error in turn.errors:
        lines.append(f"error: {error}")
    for notice in turn.notices:
        lines.append(f"note: {notice}")
    return lines


# --- rich console ------------------------------------------------------------------------------


def print_report(run: RunResult, console: Console, *, cases: bool = True) -> None:
    """The report of a run: a table of every case (unless `cases` is False, as with
    `--quiet`: a CI log and the JUnit file need only the failures and the totals),
    each failure, the notes and the summary line."""
    if not run.results:
        console.print("[yellow]no test cases selected[/]")
        return
    if cases:
        _print_cases(run, console)
    for result in run.failed:
        console.rule(f"[red]FAILED[/] {escaped(result_label(result))}", align="left", style="red")
        print_failure(result, console)
    for result in run.results:
        if result.status == PASSED:
            for note in result.notes:
                note = scrub_text(note)
                console.print(f"[yellow]note:[/] {escaped(result.id)}: {escaped(note)}")
    for note in run.notes:
        console.print(f"[yellow]note:[/] {escaped(scrub_text(note))}", highlight=False)
    console.print(summary_line(run), highlight=False)


def _print_cases(run: RunResult, console: Console) -> None:
    table = Table(title="e2e tests", title_justify="left", show_lines=False)
    table.add_column("file", style="cyan", overflow="fold")
    table.add_column("test case", overflow="fold")
    table.add_column("result")
    table.add_column("time", justify="right")
    for index, result in enumerate(run.results):
        style = STATUS_STYLE.get(result.status, "")
        following = run.results[index + 1] if index + 1 < len(run.results) else None
        first_of_file = index == 0 or run.results[index - 1].file != result.file
        status = f"[{style}]{result.status}[/]"
        if result.passes_under:
            status += f" [yellow](passes under {escaped(result.passes_under)})[/]"
        table.add_row(
            escaped(result.file) if first_of_file else "",
            escaped(_shown_name(result)),
            status,
            f"{result.duration_s * 1000:.0f} ms" if result.status != SKIPPED else "-",
            end_section=following is not None and following.file != result.file,
        )
    console.print(table)


def print_failure(result: CaseResult, console: Console) -> None:
    result = masked(result)
    failure = result.failure
    if failure is None:
        return
    where = f"[dim]{escaped(failure.location)}[/] " if failure.location else ""
    console.print(f"{where}[red]{escaped(failure.message)}[/]", highlight=False)
    if result.passes_under:
        console.print(f"  [yellow]{escaped(hint(result.passes_under))}[/]", highlight=False)
    if failure.kind == "error" and failure.expected.startswith("Traceback"):
        console.print(escaped(failure.expected), highlight=False)
    elif failure.expected:
        console.print(f"  [bold]expected[/] {escaped(failure.expected)}", highlight=False)
    turn = failure.turn
    if turn is not None:
        label = "session start (fixtures)" if turn.user_text is None else f"user: {turn.user_text}"
        console.print(f"  [bold]actual[/]   turn of {escaped(label)}", highlight=False)
        for line in turn_lines(turn):
            console.print(f"    {escaped(line)}", highlight=False)
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {escaped(note)}", highlight=False)


def summary_line(run: RunResult) -> str:
    parts = [f"[green]{len(run.passed)} passed[/]"]
    if run.failed:
        parts.append(f"[red]{len(run.failed)} failed[/]")
    if run.skipped:
        parts.append(f"[yellow]{len(run.skipped)} not run[/]")
    rate = len(run.results) - len(run.skipped)
    timing = f"in {run.duration_s:.2f} s"
    if run.duration_s > 0 and rate:
        timing += f" ({rate / run.duration_s:.1f} cases/s)"
    other = [r.passes_under for r in run.failed if r.passes_under]
    if other:
        parts[-1] += f" ({len(other)} pass under Rasa {escaped(other[0])})"
    generator = f", generator: {escaped(run.generator)}" if run.generator else ""
    profile = f", Rasa {escaped(run.rasa_version)} profile" if run.rasa_version else ""
    return ", ".join(parts) + f" {timing}{generator}{profile}"


# --- JUnit ---------------------------------------------------------------------------------


def junit_xml(run: RunResult, suite_name: str = "calm-tui e2e") -> ET.ElementTree:
    """A <testsuites> with one <testsuite> per test file and a <testcase> per case."""
    root = ET.Element("testsuites", name=suite_name)
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    ordered = sorted(run.results, key=lambda r: r.file)
    for file, group in groupby(ordered, key=lambda r: r.file):
        results = list(group)
        suite = ET.SubElement(root, "testsuite", name=file)
        counts = _counts(results)
        for key, value in counts.items():
            suite.set(key, _fmt(value))
            totals[key] += value
        suite.set("errors", "0")
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                name=printable(_shown_name(result)),
                classname=_classname(file),
                time=f"{result.duration_s:.3f}",
            )
            if result.source is not None:
                case.set("file", result.source.file)
                if result.source.line:
                    case.set("line", str(result.source.line))
            usage_properties(case, result)
            shown = masked(result)
            if result.status == FAILED and shown.failure is not None:
                message = shown.failure.message
                if result.passes_under:
                    message += f" ({hint(result.passes_under)})"
                    properties = case.find("properties")
                    if properties is None:
                        properties = ET.SubElement(case, "properties")
                    ET.SubElement(
                        properties, "property", name="passes_under_rasa", value=result.passes_under
                    )
                failure = ET.SubElement(
                    case, "failure", message=printable(message), type=shown.failure.kind
                )
                failure.text = failure_text(result)
            elif result.status == SKIPPED:
                notes = printable("; ".join(shown.notes))
                ET.SubElement(case, "skipped", message=notes or "not run")
            elif result.notes:
                ET.SubElement(case, "system-out").text = printable("\n".join(shown.notes))
    for key, value in totals.items():
        root.set(key, _fmt(value))
    root.set("errors", "0")
    ET.indent(root)
    return ET.ElementTree(root)


def usage_properties(case: ET.Element, result: CaseResult) -> None:
    """The case's model use as <properties>, when it called a model."""
    usage = case_usage(result)
    if not usage.calls:
        return
    properties = ET.SubElement(case, "properties")
    figures = {
        "tokens": usage.tokens,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "model_latency_ms": round(usage.latency_ms, 1),
        "model_calls": usage.calls,
        "cost": usage.cost,
    }
    for name, value in figures.items():
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=str(value))


def write_junit(run: RunResult, path: Path | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_xml(run).write(path, encoding="utf-8", xml_declaration=True)


def _counts(results: Sequence[CaseResult]) -> dict[str, int | float]:
    return {
        "tests": len(results),
        "failures": sum(1 for r in results if r.status == FAILED),
        "skipped": sum(1 for r in results if r.status == SKIPPED),
        "time": sum(r.duration_s for r in results),
    }


def _shown_name(result: CaseResult) -> str:
    return f"{result.name} (run {result.repeat})" if result.repeat else result.name


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _classname(file: str) -> str:
    stem = file.rsplit(".", 1)[0] if file.endswith((".yml", ".yaml")) else file
    return stem.replace("/", ".")
