"""What e2e test cases cost in model use, and the limits a run must stay within.

Figures come from the turns' traces only: the command generator's call (`usage`), the
knowledge answers and the sub-agents' model steps. A turn that called no model has no
figures (offline and replayed-from-cassette turns still do when the cassette kept them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.calm.values import JSONObject
from workbench.project.model import TestBudgets
from workbench.testing.results import CaseResult
from workbench.trace.records import ModelUsage
from workbench.trace.turn import TurnTrace


@dataclass(frozen=True)
class Usage:
    """Model use summed over some calls; `cost` None when no call's cost is known,
    `calls` how many model calls were counted."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost: float | None = None
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        costs = [c for c in (self.cost, other.cost) if c is not None]
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.latency_ms + other.latency_ms,
            sum(costs) if costs else None,
            self.calls + other.calls,
        )

    def to_dict(self) -> JSONObject:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.tokens,
            "latency_ms": round(self.latency_ms, 3),
            "cost": self.cost,
            "model_calls": self.calls,
        }

    def text(self) -> str:
        """`tokens 120 in / 30 out · model 85 ms · $0.001200` (cost left out when unknown)."""
        parts = [
            f"tokens {self.prompt_tokens} in / {self.completion_tokens} out",
            f"model {self.latency_ms:.0f} ms",
        ]
        parts.append(f"${self.cost:.6f}" if self.cost is not None else "cost unknown")
        return " · ".join(parts)


_NO_USAGE = Usage()


def total(usages: Iterable[Usage]) -> Usage:
    result = _NO_USAGE
    for usage in usages:
        if usage is not _NO_USAGE:  # adds nothing: most turns of an offline run
            result = result + usage
    return result


def _of(usage: ModelUsage | None) -> Usage:
    # a replayed call may name its model and have no figures: nothing was spent
    if usage is None or (
        usage.prompt_tokens is None and usage.completion_tokens is None and not usage.latency_ms
    ):
        return Usage()
    return Usage(
        usage.prompt_tokens or 0,
        usage.completion_tokens or 0,
        usage.latency_ms or 0.0,
        usage.cost,
        1,
    )


def turn_usage(trace: TurnTrace) -> Usage:
    if trace.usage is None and not trace.knowledge and not trace.calls:
        return _NO_USAGE  # an offline turn: the report sums every turn of every case
    parts = [_of(trace.usage)]
    parts.extend(_of(record.usage) for record in trace.knowledge)
    for call in trace.calls:
        parts.extend(
            Usage(s.prompt_tokens or 0, s.completion_tokens or 0, s.latency_ms, s.cost, 1)
            for s in call.steps
            if s.kind == "model"
        )
    return total(parts)


def case_usage(result: CaseResult) -> Usage:
    return total(turn_usage(trace) for trace in result.traces)


def turn_usages(result: CaseResult) -> list[JSONObject]:
    """Per user turn of the case: its text and figures, for the JSON report."""
    return [
        {"turn": index + 1, "user_text": trace.user_text, **turn_usage(trace).to_dict()}
        for index, trace in enumerate(result.traces)
    ]


# --- limits --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overrun:
    """A limit a case (or the whole run: `case` "") went beyond; `turn` counts user turns
    from 1, None for the run as a whole; `repeat`: the case's run with `--repeat`."""

    case: str
    limit: str
    value: float
    allowed: float
    turn: int | None = None
    user_text: str | None = None
    repeat: int = 0

    def text(self) -> str:
        where = self.case or "the run"
        if self.repeat:
            where += f" (run {self.repeat})"
        if self.turn is not None:
            where += f", turn {self.turn} ({self.user_text!r})"
        return f"{where}: {self.limit} {_number(self.value)} exceeds {_number(self.allowed)}"

    def to_dict(self) -> JSONObject:
        return {
            "case": self.case or None,
            "repeat": self.repeat,
            "turn": self.turn,
            "user_text": self.user_text,
            "limit": self.limit,
            "value": self.value,
            "allowed": self.allowed,
        }


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def overruns(results: Sequence[CaseResult], budgets: TestBudgets) -> list[Overrun]:
    """Every per-turn limit each case went beyond, then the run's cost."""
    found: list[Overrun] = []
    if budgets.max_tokens_per_turn is not None or budgets.max_latency_ms_per_turn is not None:
        found.extend(_turn_overruns(results, budgets))
    if budgets.max_cost is not None:
        cost = total(case_usage(r) for r in results).cost
        if cost is not None and cost > budgets.max_cost:
            found.append(Overrun("", "max_cost", cost, budgets.max_cost))
    return found


def _turn_overruns(results: Sequence[CaseResult], budgets: TestBudgets) -> Iterable[Overrun]:
    for result in results:
        for index, trace in enumerate(result.traces):
            usage = turn_usage(trace)
            checks = (
                ("max_tokens_per_turn", usage.tokens, budgets.max_tokens_per_turn),
                ("max_latency_ms_per_turn", usage.latency_ms, budgets.max_latency_ms_per_turn),
            )
            yield from (
                Overrun(result.id, limit, value, allowed, index + 1, trace.user_text, result.repeat)
                for limit, value, allowed in checks
                if allowed is not None and value > allowed
            )


def result_label(result: CaseResult) -> str:
    """The case id, with the run's number when the case was repeated."""
    return f"{result.id} (run {result.repeat})" if result.repeat else result.id


def merged_budgets(project: TestBudgets, given: TestBudgets) -> TestBudgets:
    """The command line's limits over workbench.yml's."""
    return TestBudgets(
        given.max_cost if given.max_cost is not None else project.max_cost,
        given.max_tokens_per_turn
        if given.max_tokens_per_turn is not None
        else project.max_tokens_per_turn,
        given.max_latency_ms_per_turn
        if given.max_latency_ms_per_turn is not None
        else project.max_latency_ms_per_turn,
    )
