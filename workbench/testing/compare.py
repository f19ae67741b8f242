"""A/B: the same test cases run under two configurations (`calm-tui test --compare A B`),
compared case by case: each side's outcome, the user turns whose commands differ (side by
side), and each side's model use. Pure: fed by the two runs' results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.calm.values import JSONObject
from workbench.testing.budgets import Usage, case_usage, total
from workbench.testing.flaky import CaseRun, VaryingTurn, compare_runs
from workbench.testing.results import PASSED, SKIPPED, CaseResult

MISSING = "missing"  # the case is not in that side's project


@dataclass(frozen=True)
class CaseComparison:
    case: str
    statuses: tuple[str, str]
    differing: tuple[VaryingTurn, ...]
    usage: tuple[Usage, Usage]

    @property
    def same(self) -> bool:
        return self.statuses[0] == self.statuses[1] and not self.differing

    def to_dict(self) -> JSONObject:
        return {
            "case": self.case,
            "statuses": list(self.statuses),
            "same": self.same,
            "differing_turns": [turn.to_dict() for turn in self.differing],
            "usage": [u.to_dict() for u in self.usage],
        }


@dataclass(frozen=True)
class Comparison:
    labels: tuple[str, str]
    cases: tuple[CaseComparison, ...]

    @property
    def passed(self) -> tuple[int, int]:
        return (
            sum(c.statuses[0] == PASSED for c in self.cases),
            sum(c.statuses[1] == PASSED for c in self.cases),
        )

    @property
    def usage(self) -> tuple[Usage, Usage]:
        return (total(c.usage[0] for c in self.cases), total(c.usage[1] for c in self.cases))

    def to_dict(self) -> JSONObject:
        return {
            "labels": list(self.labels),
            "passed": list(self.passed),
            "cases": [c.to_dict() for c in self.cases],
            "usage": [u.to_dict() for u in self.usage],
        }


def compare(
    labels: tuple[str, str],
    a: Sequence[CaseResult],
    b: Sequence[CaseResult],
    shown: Callable[[CaseResult], Callable[[str], str]] = lambda _: str,
) -> Comparison:
    """The cases of both runs, in A's order then B's own; a case only one side has is
    `missing` on the other. `shown(result)` says how that run's texts are shown (its
    secrets masked)."""
    by_id = ({r.id: r for r in a}, {r.id: r for r in b})
    order = list(dict.fromkeys([*by_id[0], *by_id[1]]))
    cases = []
    for case in order:
        left, right = by_id[0].get(case), by_id[1].get(case)
        statuses = (_status(left), _status(right))
        differing: tuple[VaryingTurn, ...] = ()
        if left is not None and right is not None:
            runs = [CaseRun.of(left, shown(left)), CaseRun.of(right, shown(right))]
            differing = compare_runs(case, runs).turns
        usage = (_usage(left), _usage(right))
        cases.append(CaseComparison(case, statuses, differing, usage))
    return Comparison(labels, tuple(cases))


def _status(result: CaseResult | None) -> str:
    return MISSING if result is None else result.status


def _usage(result: CaseResult | None) -> Usage:
    return case_usage(result) if result is not None and result.status != SKIPPED else Usage()


def comparison_lines(comparison: Comparison) -> list[str]:
    """The text report: a line per case that differs, its differing turns side by side,
    then the totals per side."""
    a, b = comparison.labels
    lines: list[str] = []
    for case in comparison.cases:
        if case.same:
            continue
        lines.append(f"{case.case}: {a} {case.statuses[0]}, {b} {case.statuses[1]}")
        for turn in case.differing:
            lines.append(f"  turn {turn.turn} ({turn.user_text!r}):")
            for label, commands in zip(comparison.labels, turn.commands, strict=True):
                shown = "(not reached)" if commands is None else "; ".join(commands) or "(none)"
                lines.append(f"    {label}: {shown}")
    same = sum(c.same for c in comparison.cases)
    lines.append(f"{same} of {len(comparison.cases)} case(s) behave the same under both")
    for label, passed, usage in zip(
        comparison.labels, comparison.passed, comparison.usage, strict=True
    ):
        figures = f" · {usage.text()}" if usage.calls else ""
        lines.append(f"{label}: {passed}/{len(comparison.cases)} passed{figures}")
    return lines
