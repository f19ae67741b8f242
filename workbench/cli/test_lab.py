"""`calm-tui test` options for measuring a suite: `--repeat N` (flakiness), `--json FILE`
(the run as JSON) and the model-use limits (`--max-cost`, `--max-tokens-per-turn`,
`--max-latency-ms-per-turn`, or workbench.yml's `test:`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from workbench.cli.common import positive_int
from workbench.errors import UsageError, WorkbenchError

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.project.model import Project
    from workbench.testing.results import RunResult

_T = TypeVar("_T")


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("repeats, reports and limits")
    group.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        metavar="N",
        help="run every selected case N times and report its pass rate and the turns whose "
        "commands differed between runs",
    )
    group.add_argument(
        "--json", metavar="FILE", help="also write the run as JSON (cases, usage, limits)"
    )
    group.add_argument(
        "--max-cost",
        type=_positive_number,
        metavar="USD",
        help="fail when the run's model calls cost more (default: workbench.yml test: max_cost)",
    )
    group.add_argument(
        "--max-tokens-per-turn",
        type=positive_int,
        metavar="N",
        help="fail when a user turn's model calls take more tokens, prompt and completion",
    )
    group.add_argument(
        "--max-latency-ms-per-turn",
        type=_positive_number,
        metavar="MS",
        help="fail when a user turn's model calls take longer",
    )


def repeated(selected: Sequence[_T], times: int, args: argparse.Namespace) -> list[_T]:
    """The whole selection `times` over, so each round is a run of the suite."""
    if times > 1 and getattr(args, "cassette", None):
        # its entries are used up by the first round, and would replay the same answers
        raise UsageError(
            "--repeat measures how a model's answers vary; a --cassette replays the same "
            "ones: run with the model (or --record) instead"
        )
    return [pair for _ in range(times) for pair in selected]


def number_runs(run: RunResult, times: int) -> None:
    """Mark each result with the round it ran in (results come in the selection's order)."""
    if times < 2:
        return
    per_round = len(run.results) // times
    for index, result in enumerate(run.results):
        result.repeat = index // per_round + 1


def report_lab(
    run: RunResult, args: argparse.Namespace, project: Project, console: Console
) -> bool:
    """Print model use, flakiness and exceeded limits, write --json; False when a limit
    was exceeded."""
    from workbench.project.model import TestBudgets
    from workbench.testing.budgets import merged_budgets, overruns
    from workbench.testing.flaky import flakiness
    from workbench.testing.report_sections import (
        print_flakiness,
        print_overruns,
        print_usage,
        secrets_masked,
    )

    given = TestBudgets(args.max_cost, args.max_tokens_per_turn, args.max_latency_ms_per_turn)
    budgets = merged_budgets(project.test_budgets, given)
    exceeded = overruns(run.results, budgets)
    reports = flakiness(run.results, secrets_masked) if args.repeat > 1 else []
    print_usage(run, console)
    print_flakiness(reports, console)
    print_overruns(exceeded, console)
    if args.json:
        from workbench.testing.json_report import json_report, write_json

        report = json_report(run, budgets=budgets, overruns=exceeded, flakiness=reports)
        try:
            write_json(args.json, report)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {args.json}: {exc}") from exc
        console.print(f"JSON report written to {args.json}", highlight=False)
    return not exceeded
