"""Flakiness: the same test case run several times (`calm-tui test --repeat N`), compared.

Fed by each run's outcome and, per user turn, the commands accepted from the message;
it says how often the case passed and in which turns the model's commands differed
between runs. A case whose runs all agree (same outcome, same commands in every turn)
is stable. Pure: no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.calm.values import JSONObject
from workbench.testing.results import SKIPPED, CaseResult

# a run that stopped before this turn (an earlier step failed)
NOT_REACHED = None


Turns = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class CaseRun:
    """One run of a case: whether it passed, and per user turn (text, command lines);
    `shown`: the same as a report shows them (secrets masked), when that differs."""

    passed: bool
    turns: Turns
    shown: Turns | None = None

    @classmethod
    def of(cls, result: CaseResult, shown: Callable[[str], str] = str) -> CaseRun:
        """`shown`: how a text is shown (with its secrets masked)."""
        turns = tuple((text, tuple(cmds)) for text, cmds in result.turn_commands)
        masked = tuple((shown(text), tuple(shown(c) for c in cmds)) for text, cmds in turns)
        return cls(result.passed, turns, masked)


@dataclass(frozen=True)
class VaryingTurn:
    """A user turn whose commands were not the same in every run: per run its command
    lines, or None where the run did not get that far."""

    turn: int  # counted from 1
    user_text: str
    commands: tuple[tuple[str, ...] | None, ...]

    def to_dict(self) -> JSONObject:
        return {
            "turn": self.turn,
            "user_text": self.user_text,
            "commands": [None if c is None else list(c) for c in self.commands],
        }


@dataclass(frozen=True)
class Flakiness:
    case: str
    passed: tuple[bool, ...]  # per run
    turns: tuple[VaryingTurn, ...]

    @property
    def runs(self) -> int:
        return len(self.passed)

    @property
    def pass_count(self) -> int:
        return sum(self.passed)

    @property
    def pass_rate(self) -> float:
        return self.pass_count / self.runs if self.runs else 0.0

    @property
    def stable(self) -> bool:
        return not self.turns and len(set(self.passed)) <= 1

    def to_dict(self) -> JSONObject:
        return {
            "case": self.case,
            "runs": self.runs,
            "passed_runs": [i + 1 for i, ok in enumerate(self.passed) if ok],
            "pass_rate": round(self.pass_rate, 4),
            "stable": self.stable,
            "varying_turns": [t.to_dict() for t in self.turns],
        }


def compare_runs(case: str, runs: Sequence[CaseRun]) -> Flakiness:
    """Turns are matched by position: every run sends the same steps, until one stops.
    The commands are compared as they were (two masked secrets look alike) and reported
    as shown."""
    varying: list[VaryingTurn] = []
    longest = max((len(run.turns) for run in runs), default=0)
    for index in range(longest):
        reached = [run.turns[index] if index < len(run.turns) else None for run in runs]
        seen = {turn[1] for turn in reached if turn is not None}
        if len(seen) > 1:
            shown = [
                (run.shown or run.turns)[index] if index < len(run.turns) else None for run in runs
            ]
            text = next(turn[0] for turn in shown if turn is not None)
            commands = tuple(None if turn is None else turn[1] for turn in shown)
            varying.append(VaryingTurn(index + 1, text, commands))
    return Flakiness(case, tuple(run.passed for run in runs), tuple(varying))


def flakiness(
    results: Sequence[CaseResult],
    shown: Callable[[CaseResult], Callable[[str], str]] = lambda _: str,
) -> list[Flakiness]:
    """Per case, in the order the cases first ran, its runs compared; `shown(result)`
    says how that run's texts are shown."""
    runs: dict[str, list[CaseRun]] = {}
    for result in results:
        if result.status != SKIPPED:
            runs.setdefault(result.id, []).append(CaseRun.of(result, shown(result)))
    return [compare_runs(case, case_runs) for case, case_runs in runs.items()]


def flakiness_lines(report: Flakiness) -> list[str]:
    """Plain text: the pass rate, then each varying turn with every run's commands."""
    passed = [str(i + 1) for i, ok in enumerate(report.passed) if ok]
    verdict = "stable" if report.stable else "flaky"
    lines = [
        f"{report.case}: {verdict}, passed {report.pass_count}/{report.runs} "
        f"({report.pass_rate:.0%})" + (f", runs passed: {', '.join(passed)}" if passed else "")
    ]
    for turn in report.turns:
        lines.append(f"  turn {turn.turn}, user: {turn.user_text}")
        for run, commands in enumerate(turn.commands, start=1):
            outcome = "passed" if report.passed[run - 1] else "failed"
            shown = (
                "(not reached)"
                if commands is NOT_REACHED
                else " | ".join(commands) or "no commands"
            )
            lines.append(f"    run {run} ({outcome}): {shown}")
    return lines
