"""`calm-tui test --json FILE`: the run as one JSON document, for CI dashboards and
scripts: each case's status, failure, model use per case and per turn, the limits and
what exceeded them, and the flakiness of repeated cases. Secrets are masked as in the
console report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from workbench.calm.values import JSONObject
from workbench.project.model import TestBudgets
from workbench.testing.budgets import Overrun, case_usage, total, turn_usage
from workbench.testing.flaky import Flakiness
from workbench.testing.report import failure_text, masked
from workbench.testing.report_sections import secrets_masked
from workbench.testing.results import CaseResult, RunResult

JSON_REPORT_VERSION = 1


def case_json(result: CaseResult) -> JSONObject:
    shown = secrets_masked(result)
    data = masked(result).to_dict()
    data["id"] = result.id
    data["repeat"] = result.repeat
    data["failure_text"] = failure_text(result) or None
    data["usage"] = case_usage(result).to_dict()
    data["turns"] = [
        {
            "turn": index + 1,
            "user_text": shown(text),
            "commands": [shown(line) for line in commands],
            "usage": turn_usage(trace).to_dict(),
        }
        for index, (trace, (text, commands)) in enumerate(
            zip(result.traces, result.turn_commands, strict=True)
        )
    ]
    return data


def json_report(
    run: RunResult,
    *,
    budgets: TestBudgets,
    overruns: Sequence[Overrun] = (),
    flakiness: Sequence[Flakiness] = (),
) -> JSONObject:
    return {
        "version": JSON_REPORT_VERSION,
        "ok": run.ok and not overruns,
        "generator": run.generator,
        "rasa_version": run.rasa_version,
        "duration_s": round(run.duration_s, 3),
        "totals": {
            "cases": len(run.results),
            "passed": len(run.passed),
            "failed": len(run.failed),
            "skipped": len(run.skipped),
            "usage": total(case_usage(r) for r in run.results).to_dict(),
        },
        "limits": asdict(budgets),
        "overruns": [overrun.to_dict() for overrun in overruns],
        "flakiness": [report.to_dict() for report in flakiness],
        "cases": [case_json(result) for result in run.results],
        "notes": list(run.notes),
    }


def write_json(path: Path | str, report: JSONObject) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
