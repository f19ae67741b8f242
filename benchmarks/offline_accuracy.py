"""How often the offline generator writes the commands an ideal model would write.

    python benchmarks/offline_accuracy.py                      # both splits, all projects
    python benchmarks/offline_accuracy.py --templates DIR      # Rasa's project templates
    python benchmarks/offline_accuracy.py --misses             # the tuning split's misses
    python benchmarks/offline_accuracy.py --json out.json

The corpus (`benchmarks/understanding_corpus/corpus.yml`) lists projects, each with a
file of labels: for every user turn of every e2e test case, the commands an ideal model
would emit given the dialogue state at that turn (a cassette: `test_case`, `user`,
`completion`). Rasa's templates are read from a rasa-pro wheel's `project_templates`
folder (`--templates`, `$RASA_TEMPLATES`, or the unpacked wheel at the default path) and
copied to a temporary folder, since their actions read files relative to the folder.

Each test case is replayed with its ideal commands (so every turn sees the state an ideal
model would have left), and at each user turn the offline generator is asked first, on
the same state. A turn is exact when both give the same multiset of commands; slot values
are compared case-folded, with whitespace collapsed, numbers as numbers and booleans as
booleans. Every third test case or so (by a hash of project and case name) is held back:
its misses are never printed, so rules are never tuned on it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "understanding_corpus"
DEFAULT_TEMPLATES = Path("/tmp/rasa-wheel/src/rasa/cli/project_templates")
SPLITS = ("tune", "held_back")


def split_of(project: str, test_case: str) -> str:
    """A stable third of the test cases is held back: chosen by a hash, never by hand."""
    digest = hashlib.sha256(f"{project}::{test_case}".encode()).digest()
    return "held_back" if digest[0] % 3 == 0 else "tune"


# --- comparing commands --------------------------------------------------------------------


def normal_value(value: object) -> str:
    """A slot value as compared: booleans and numbers by value, text case-folded with its
    whitespace collapsed."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(float(value))
    text = " ".join(str(value).split()).casefold()
    if text in ("true", "false"):
        return text
    try:
        return repr(float(text.replace(",", "")))
    except ValueError:
        return text


def command_key(command: object, syntax: str) -> tuple[str, ...]:
    """(type, arguments...) of a parsed command; the type is the DSL keyword of the
    project's syntax, so v3's `search and reply` and v2's `offtopic reply` differ."""
    from workbench.calm.commands import (
        CancelFlow,
        ChitChatAnswer,
        Clarify,
        KnowledgeAnswer,
        SetSlot,
        StartFlow,
    )

    if isinstance(command, StartFlow):
        return ("start flow", command.flow)
    if isinstance(command, SetSlot):
        return ("set slot", command.slot, normal_value(command.value))
    if isinstance(command, CancelFlow):
        return ("cancel flow",)
    if isinstance(command, Clarify):
        return ("disambiguate flows", *sorted(command.options))
    if isinstance(command, KnowledgeAnswer):
        return ("search and reply" if syntax == "v3" else "provide info",)
    if isinstance(command, ChitChatAnswer):
        return ("offtopic reply",)
    return (str(getattr(command, "name", type(command).__name__)),)


# --- the corpus ----------------------------------------------------------------------------


@dataclass
class TurnResult:
    project: str
    syntax: str
    test_case: str
    user: str
    split: str
    ideal: list[tuple[str, ...]]
    offline: list[tuple[str, ...]]
    ms: float

    @property
    def exact(self) -> bool:
        return Counter(self.ideal) == Counter(self.offline)


@dataclass
class Probe:
    """Asks the offline generator first, then answers with the ideal commands."""

    project_name: str
    syntax: str
    ideal: object  # a CassetteGenerator
    results: list[TurnResult] = field(default_factory=list)
    test_case: str = ""

    def __post_init__(self) -> None:
        from workbench.understanding.offline.generator import OfflineGenerator

        self.offline = OfflineGenerator()

    @property
    def name(self) -> str:
        return "corpus-probe"

    def begin_test_case(self, name: str | None, file: str | None = None) -> None:
        self.test_case = name or ""
        self.ideal.begin_test_case(name, file)  # type: ignore[attr-defined]

    async def generate(self, message, tracker, project):
        start = time.perf_counter()
        got = await self.offline.generate(message, tracker, project)
        ms = (time.perf_counter() - start) * 1000
        wanted = await self.ideal.generate(message, tracker, project)  # type: ignore[attr-defined]
        self.results.append(
            TurnResult(
                self.project_name,
                self.syntax,
                self.test_case,
                message,
                split_of(self.project_name, self.test_case),
                [command_key(c, self.syntax) for c in wanted.commands],
                [command_key(c, self.syntax) for c in got.commands],
                ms,
            )
        )
        return wanted


def corpus_projects(templates: Path) -> list[tuple[str, Path, Path]]:
    """(name, project folder, labels file) of every project of the corpus."""
    from workbench.project.yaml_io import parse_yaml

    listing = parse_yaml((CORPUS / "corpus.yml").read_text(encoding="utf-8"), "corpus.yml")
    out = []
    for entry in listing["projects"]:  # type: ignore[index]
        folder = templates / entry["template"] if "template" in entry else CORPUS / entry["path"]
        out.append((entry["name"], folder, (CORPUS / entry["labels"]).resolve()))
    return out


async def run_project(name: str, folder: Path, labels: Path) -> list[TurnResult]:
    from workbench.project.loader import load_project
    from workbench.testing.case_data import fixture_slots, merge_metadata, named_metadata
    from workbench.testing.runner import E2ERunner
    from workbench.understanding.cassette import CassetteGenerator
    from workbench.understanding.dsl.parser import SYNTAX_BY_GENERATOR
    from workbench.wiring import new_session

    project = load_project(folder).project
    generator = project.config.command_generator
    syntax = SYNTAX_BY_GENERATOR.get(generator.name, "v2") if generator else "v2"
    probe = Probe(name, syntax, CassetteGenerator(labels))
    runner = E2ERunner(project, probe, offline=True)  # type: ignore[arg-type]
    for test_file, case in project.test_cases:
        probe.begin_test_case(case.name, test_file.path)
        session = new_session(
            project, probe, actions=runner.actions_for(test_file, case), offline=True
        )  # type: ignore[arg-type]
        session.start()
        for slot, value in fixture_slots(test_file, case, []):
            session.set_slots({slot: value})
        case_metadata = named_metadata(test_file, case.metadata, [])
        for step in case.steps:
            if step.kind != "user" or not str(step.value):
                continue
            metadata = merge_metadata(case_metadata, named_metadata(test_file, step.metadata, []))
            await session.handle(str(step.value), metadata)
        probe.begin_test_case(None)
    await runner.aclose()
    return probe.results


def run_corpus(templates: Path) -> list[TurnResult]:
    results: list[TurnResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder, labels in corpus_projects(templates):
            if not folder.is_dir():
                print(f"skipping {name}: {folder} not found", file=sys.stderr)
                continue
            copy = Path(tmp) / name
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
            here = Path.cwd()
            os.chdir(copy)  # the templates' actions read db/ relative to the folder
            try:
                results += asyncio.run(run_project(name, copy, labels))
            finally:
                os.chdir(here)
    return results


# --- figures -------------------------------------------------------------------------------


def share(results: list[TurnResult]) -> str:
    exact = sum(r.exact for r in results)
    return f"{100 * exact / len(results):5.1f} % ({exact}/{len(results)})" if results else "-"


def per_type(results: list[TurnResult]) -> dict[str, tuple[int, int, int]]:
    """type -> (ideal commands of that type, found by the offline generator, extra ones
    it wrote that the ideal had not)."""
    wanted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    for r in results:
        ideal, got = Counter(r.ideal), Counter(r.offline)
        for key, n in ideal.items():
            wanted[key[0]] += n
            found[key[0]] += min(n, got[key])
        for key, n in (got - ideal).items():
            extra[key[0]] += n
    return {t: (wanted[t], found[t], extra[t]) for t in sorted(set(wanted) | set(extra))}


def figures(results: list[TurnResult]) -> dict[str, object]:
    out: dict[str, object] = {
        "turns": len(results),
        "median_ms_per_turn": statistics.median(r.ms for r in results) if results else 0.0,
    }
    for split in SPLITS:
        part = [r for r in results if r.split == split]
        out[split] = {
            "exact": sum(r.exact for r in part) / len(part) if part else 0.0,
            "turns": len(part),
            "v2": _rate([r for r in part if r.syntax == "v2"]),
            "v3": _rate([r for r in part if r.syntax == "v3"]),
            "per_type": per_type(part),
        }
    out["all"] = _rate(results)
    return out


def _rate(results: list[TurnResult]) -> float:
    return sum(r.exact for r in results) / len(results) if results else 0.0


def report(results: list[TurnResult], misses: bool) -> None:
    print(f"offline generator vs ideal commands: {len(results)} user turns")
    for split in SPLITS:
        part = [r for r in results if r.split == split]
        print(f"\n[{split}] exact per turn: {share(part)}")
        for syntax in ("v2", "v3"):
            print(f"  {syntax} projects:  {share([r for r in part if r.syntax == syntax])}")
        for project in sorted({r.project for r in part}):
            print(f"  {project:10s}    {share([r for r in part if r.project == project])}")
        print("  per command type (found/ideal, extra):")
        for kind, (wanted, found, extra) in per_type(part).items():
            print(f"    {kind:20s} {found:3d}/{wanted:<3d} extra {extra}")
    print(f"\nall: {share(results)}")
    ms = sorted(r.ms for r in results)
    if ms:
        print(f"ms per turn: median {statistics.median(ms):.2f}, max {ms[-1]:.2f}")
    if misses:
        print("\nmisses (tuning split only):")
        for r in results:
            if r.split == "tune" and not r.exact:
                print(f"- {r.project} / {r.test_case} / {r.user!r}")
                print(f"    ideal:   {sorted(r.ideal)}")
                print(f"    offline: {sorted(r.offline)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--templates",
        type=Path,
        default=Path(os.environ.get("RASA_TEMPLATES", DEFAULT_TEMPLATES)),
        help="the project_templates folder of an unpacked rasa-pro wheel",
    )
    parser.add_argument("--misses", action="store_true", help="print the tuning split's misses")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    results = run_corpus(args.templates)
    report(results, args.misses)
    if args.json:
        args.json.write_text(json.dumps(figures(results), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
