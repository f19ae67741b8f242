"""`calm-tui test --compare A B`: the selected cases under two configurations, compared
case by case (outcomes, the user turns whose commands differ, model use per side).

A configuration is a comma-separated list of `key=value` settings applied over the
command line's own options:

    offline                 the offline generator
    model=NAME              a litellm model (as --model)
    cassette=FILE           replay a cassette (as --cassette)
    prompt=rasa|workbench   the prompt template (as --prompt)
    project=FOLDER          another copy or revision of the project (e.g. a git worktree)
    git=REF                 the project as it is at a git revision (exported to a
                            temporary folder with `git archive`)

e.g. `--compare model=openai/gpt-4o-mini model=openai/gpt-4o`, or
`--compare git=main project=.` for a change against main.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import UsageError, WorkbenchError

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.testing.results import CaseResult
    from workbench.wiring import Options

KEYS = ("offline", "model", "cassette", "prompt", "project", "git")


def add_compare_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("A/B")
    group.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="run the selection under two configurations and compare them case by case: "
        "offline, model=NAME, cassette=FILE, prompt=rasa|workbench, project=FOLDER, git=REF "
        "(comma-separated)",
    )


@dataclasses.dataclass(frozen=True)
class Side:
    label: str
    options: Options
    project: Path | None = None
    git: str | None = None


def parse_side(text: str, base: Options) -> Side:
    """One configuration over the command line's options; a usage error names a bad key."""
    options, project, git = base, None, None
    for item in (part.strip() for part in text.split(",")):
        key, _, value = item.partition("=")
        if key not in KEYS:
            raise UsageError(f"--compare: unknown setting {key!r} (use {', '.join(KEYS)})")
        if key == "offline":
            options = dataclasses.replace(options, offline=True, model=None, cassette=None)
        elif not value:
            raise UsageError(f"--compare: {key}= needs a value")
        elif key == "model":
            options = dataclasses.replace(options, model=value, offline=False, cassette=None)
        elif key == "cassette":
            options = dataclasses.replace(options, cassette=Path(value), offline=False)
        elif key == "prompt":
            if value not in ("rasa", "workbench"):
                raise UsageError("--compare: prompt= takes rasa or workbench")
            options = dataclasses.replace(options, prompt=value)
        elif key == "project":
            project = Path(value)
        else:
            git = value
    return Side(text, options, project, git)


@contextmanager
def side_root(side: Side, root: Path) -> Iterator[Path]:
    """The project folder a side runs: the given one, another folder, or a git revision
    exported to a temporary folder (removed afterwards)."""
    if side.git is None:
        yield side.project or root
        return
    top = _git(["rev-parse", "--show-toplevel"], root).strip()
    inside = root.resolve().relative_to(Path(top).resolve())
    with tempfile.TemporaryDirectory(prefix="calm-compare-") as folder:
        archive = Path(folder) / "tree.tar"
        _git(["archive", "--format=tar", "-o", str(archive), side.git, "--", str(inside)], top)
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / inside


def _git(args: list[str], cwd: Path | str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise WorkbenchError(f"--compare: git {' '.join(args[:2])} failed: {detail}") from None
    return done.stdout


def report_comparison(
    labels: tuple[str, str],
    results: tuple[list[CaseResult], list[CaseResult]],
    console: Console,
) -> bool:
    """Print the comparison; True when both sides passed every case."""
    from workbench.testing.compare import compare, comparison_lines
    from workbench.testing.report_sections import secrets_masked

    comparison = compare(labels, *results, shown=secrets_masked)
    console.print("\nA/B comparison", style="bold")
    for line in comparison_lines(comparison):
        console.print(line, highlight=False, markup=False)
    total = len(comparison.cases)
    return comparison.passed == (total, total)
