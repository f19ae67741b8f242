"""Benchmarks for the figures the project promises. Not tests: nothing here asserts.

    python benchmarks/run.py                 # every case
    python benchmarks/run.py project_load    # some cases
    python benchmarks/run.py --json out.json # also write the figures as JSON

Each case repeats its measurement and prints the median and the spread (p10..p90).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_project"
CASES: dict[str, Callable[[int], list[float]]] = {}


def case(name: str):
    def register(func):
        CASES[name] = func
        return func

    return register


def timed(func: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@case("project_load")
def project_load(repeat: int) -> list[float]:
    """Load sample_project from disk with a cold YAML cache (what `calm-tui` does at start)."""
    from workbench.project.loader import load_project

    return timed(lambda: load_project(SAMPLE), repeat)


@case("project_reload")
def project_reload(repeat: int) -> list[float]:
    """Reload sample_project with a warm YAML cache (hot reload after saving one file)."""
    from workbench.project.loader import load_project
    from workbench.project.yaml_io import YamlCache

    cache = YamlCache()
    return timed(lambda: load_project(SAMPLE, cache=cache), repeat)


@case("validate")
def validate(repeat: int) -> list[float]:
    """Load and validate sample_project (`calm-tui validate` minus interpreter start-up)."""
    from workbench.project.validate import validate_path

    return timed(lambda: validate_path(SAMPLE), repeat)


ENGINE_SCRIPT = [
    "/start flow store_info",
    "/SetSlots(faq_topic=payment)",
    "/set slot continue_conversation True",
    "/start flow premium_support",
    "/start flow leave_feedback",
    "/set slot feedback_rating 4",
    "/cancel flow",
    "/set slot continue_conversation False",
    "/SetSlots(csat_score=satisfied)",
]


@case("engine_turn")
def engine_turn(repeat: int) -> list[float]:
    """Engine time per turn (clean + apply + execute; no model) over a scripted walk of
    sample_project, from each TurnTrace's own timings."""
    import asyncio

    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.understanding.base import ScriptedGenerator

    project = load_project(SAMPLE).project

    async def walk() -> list[float]:
        session = Session(project, ScriptedGenerator([]))
        times = []
        for text in ENGINE_SCRIPT:
            trace = await session.handle(text)
            times.append(trace.timings_ms["clean_apply"] + trace.timings_ms["execute"])
        return times

    asyncio.run(walk())  # warm-up: imports, compiled conditions and templates
    samples: list[float] = []
    for _ in range(repeat):
        samples.extend(asyncio.run(walk()))
    return samples


def summarise(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "median_ms": statistics.median(ordered),
        "p10_ms": pick(0.1),
        "p90_ms": pick(0.9),
        "runs": len(ordered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("cases", nargs="*", metavar="CASE", help="one of: " + ", ".join(CASES))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    sys.path.insert(0, str(ROOT))
    results = {}
    for name in args.cases or list(CASES):
        figures = summarise(CASES[name](args.repeat))
        results[name] = figures
        print(
            f"{name:<16} median {figures['median_ms']:8.2f} ms"
            f"   p10 {figures['p10_ms']:8.2f}   p90 {figures['p90_ms']:8.2f}"
            f"   ({figures['runs']} runs)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
