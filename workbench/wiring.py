"""The one place that turns command-line options into a running conversation's parts.

Every verb (the TUI, `shell`, `test`, `sessions replay/export`, `validate`) takes the
same project options through `add_project_options` and builds its project, command
generator and custom-action runner here, so they cannot drift apart.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.project.model import RASA_VERSIONS
from workbench.project.paths import ProjectPaths

ACTION_MODES = ("auto", "inprocess", "server", "off")


@dataclass(frozen=True)
class Options:
    """What the user chose on the command line (defaults: Rasa's layout, as configured)."""

    paths: ProjectPaths = field(default_factory=ProjectPaths)
    offline: bool = False
    model: str | None = None
    cassette: Path | None = None
    record: Path | None = None
    actions: str = "auto"
    actions_python: Path | None = None
    rasa_version: str | None = None


def add_project_options(parser: argparse.ArgumentParser) -> None:
    """The project files (as `rasa train`/`rasa inspect` take them), the action runner
    and the Rasa version profile."""
    files = parser.add_argument_group("project files (default: Rasa's layout)")
    files.add_argument("--config", metavar="FILE", help="the config file (default: config.yml)")
    files.add_argument(
        "--domain", metavar="PATH", help="the domain file or folder (default: domain.yml)"
    )
    files.add_argument(
        "--endpoints", metavar="FILE", help="the endpoints file (default: endpoints.yml)"
    )
    files.add_argument(
        "--data",
        metavar="PATH",
        nargs="+",
        action="extend",
        help="flow files or folders (default: data/ and flows/)",
    )
    actions = parser.add_argument_group("custom actions")
    actions.add_argument(
        "--actions",
        choices=ACTION_MODES,
        default="auto",
        help="how custom actions run: as endpoints.yml says (auto), imported into this "
        "process, on an action server, or not at all",
    )
    actions.add_argument(
        "--actions-python",
        metavar="PATH",
        help="the Python that runs the action server (default: a .venv in the project, "
        "else this one)",
    )
    parser.add_argument(
        "--rasa-version",
        choices=RASA_VERSIONS,
        help="behave as this Rasa Pro version (default: workbench.yml's rasa_version, else 3.21)",
    )


def add_generator_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("command generator")
    group.add_argument("--offline", action="store_true", help="use the offline generator")
    group.add_argument("--model", metavar="NAME", help="a litellm model, e.g. openai/gpt-4o-mini")
    group.add_argument("--cassette", metavar="FILE", help="replay recorded model output")
    group.add_argument("--record", metavar="FILE", help="record the model output to FILE")


class UsageError(ValueError):
    """Options that contradict each other or name something that is not there."""


def options_from_args(args: argparse.Namespace) -> Options:
    get = lambda name: getattr(args, name, None)  # noqa: E731 - verbs take subsets
    if get("cassette") and get("record"):
        raise UsageError("--cassette and --record exclude each other")
    python = get("actions_python")
    return Options(
        paths=ProjectPaths(
            config=_path(get("config")),
            domain=_path(get("domain")),
            endpoints=_path(get("endpoints")),
            data=tuple(Path(p) for p in get("data") or ()),
        ),
        offline=bool(get("offline")),
        model=get("model"),
        cassette=_path(get("cassette")),
        record=_path(get("record")),
        actions=get("actions") or "auto",
        actions_python=Path(python).expanduser() if python else None,
        rasa_version=get("rasa_version"),
    )


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def load(root: Path, options: Options, *, with_tests: bool = True, cache: Any = None) -> Any:
    """The project as the options describe it (a `LoadResult`)."""
    from workbench.project.loader import load_project

    return load_project(
        root,
        cache=cache,
        with_tests=with_tests,
        paths=options.paths.resolved(Path(root).resolve()),
        rasa_version=options.rasa_version,
    )


def make_generator(project: Any, options: Options, notes: list[str] | None = None):
    """(generator, label): a cassette replayed, else the configured model or the offline
    generator (wrapped to record when asked). Raises UsageError on a bad cassette."""
    from workbench.understanding.cassette import (
        CassetteError,
        CassetteGenerator,
        RecordingGenerator,
    )
    from workbench.understanding.choose import choose_generator

    notes = notes if notes is not None else []
    if options.cassette is not None:
        if options.offline or options.model:
            notes.append("--offline/--model have no effect with --cassette (it is replayed)")
        path = options.cassette
        if not path.is_file() and not path.is_absolute() and (project.root / path).is_file():
            path = project.root / path
        try:
            return CassetteGenerator(path), f"cassette {options.cassette}"
        except CassetteError as exc:
            raise UsageError(str(exc)) from exc
    generator, label = choose_generator(project, offline=options.offline, model=options.model)
    if label.startswith("direct commands only"):
        notes.append(
            "the offline generator is not available: only direct commands "
            "(/start flow x, /SetSlots(...)) are understood"
        )
    if options.record is not None:
        generator = RecordingGenerator(generator, options.record)
        label = f"{label}, recording to {options.record.name}"
    return generator, label


def make_actions(project: Any, options: Options | None = None) -> Any:
    """The custom action runner the project declares, as `--actions` and
    `--actions-python` adjust it. It has a `label` for headers; `close()` stops an
    action server it started."""
    from workbench.actions.runner import make_action_runner

    options = options or Options()
    return make_action_runner(project, mode=options.actions, python=options.actions_python)
