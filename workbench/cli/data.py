"""`calm-tui data convert e2e SHEET [PROJECT_DIR]`: conversation sheets → e2e tests.

As `rasa data convert e2e`: a CSV or XLSX sheet of conversations becomes one e2e test
file per conversation in OUT_DIR (default PROJECT_DIR/e2e_tests/converted/). The model
(`--model`, else the project's command generator model) writes each test case; with
`--cassette` its recorded answers are replayed, with `--record` they are kept. With no
model (`--offline`, none configured, no credentials) a rule-based conversion handles
sheets with `user` and `bot` columns. Only test cases the e2e loader accepts are written;
the others are listed with the reason and the exit code is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import load_or_report, project_folder, run_verb
from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.errors import UsageError
from workbench.wiring import Options, option_path

if TYPE_CHECKING:
    from workbench.project.model import Project
    from workbench.testing.convert import Converted
    from workbench.testing.sheets import Conversation
    from workbench.understanding.models import ModelSpec
    from workbench.understanding.tape import ModelTape

PROG = "calm-tui data"


def data_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Convert test data.")
    verbs = parser.add_subparsers(dest="what", required=True, metavar="convert")
    convert = verbs.add_parser("convert", help="convert data into the project's formats")
    kinds = convert.add_subparsers(dest="kind", required=True, metavar="e2e")
    e2e = kinds.add_parser(
        "e2e",
        help="conversation sheets (CSV, XLSX) to e2e test cases",
        description="Turn each conversation of a sheet (rows split by an empty row or a "
        "test case / conversation id column) into an e2e test case, written by a model "
        "or, without one, from `user` and `bot` columns. Exit codes: 0 all converted, "
        "1 some rejected (listed with the reason), 2 usage error.",
    )
    e2e.add_argument("sheet", metavar="SHEET", help="a .csv or .xlsx file")
    e2e.add_argument(
        "project_dir",
        nargs="?",
        default=".",
        metavar="PROJECT_DIR",
        help="the CALM project whose responses the tests name (default: the current folder)",
    )
    e2e.add_argument(
        "-o",
        "--output",
        metavar="OUT_DIR",
        help="where the tests go (default: PROJECT_DIR/e2e_tests/converted)",
    )
    e2e.add_argument("--sheet-name", metavar="NAME", help="only this worksheet of an XLSX file")
    group = e2e.add_argument_group("model")
    group.add_argument("--model", metavar="NAME", help="a litellm model or a model group id")
    group.add_argument("--offline", action="store_true", help="no model: user/bot columns only")
    group.add_argument("--cassette", metavar="FILE", help="replay the recorded model answers")
    group.add_argument("--record", metavar="FILE", help="record the model answers to FILE")
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from workbench.testing.convert import DEFAULT_OUT_DIR, write_converted
    from workbench.testing.sheets import read_conversations

    console = Console(highlight=False, soft_wrap=True)
    if args.cassette and args.record:
        raise UsageError("--cassette and --record exclude each other")
    root = project_folder(args.project_dir)
    project = load_or_report(root, Options())
    sheet = Path(args.sheet)
    if not sheet.is_file():
        raise UsageError(f"{args.sheet}: no such file")
    conversations = read_conversations(sheet, args.sheet_name)
    if not conversations:
        console.print(f"[yellow]no conversations in {sheet.name}[/]")
        return EXIT_OK
    tape, model, label = _model(args, project)
    console.print(f"converting {len(conversations)} conversation(s) of {sheet.name} · {label}")
    results = asyncio.run(_convert_all(conversations, project, tape, model))
    if args.record:
        from workbench.understanding.cassette import save_cassette

        save_cassette(option_path(Path(args.record), root), [], tape.calls)
    out_dir = Path(args.output) if args.output else root / DEFAULT_OUT_DIR
    for path in write_converted(results, out_dir):
        print(path)
    rejected = [result for result in results if result.problem is not None]
    from rich.markup import escape

    for result in rejected:
        where = f"{result.conversation.sheet} row {result.conversation.first_row}"
        console.print(
            "[red]rejected[/] " + escape(f"{where} ({result.conversation.name}): {result.problem}"),
            markup=True,
        )
    console.print(f"{len(results) - len(rejected)} written, {len(rejected)} rejected")
    return EXIT_PROBLEMS if rejected else EXIT_OK


def _model(args: argparse.Namespace, project: Project) -> tuple[ModelTape, ModelSpec | None, str]:
    """(tape, model or None for the rules, what the header says)."""
    from workbench.understanding.models import (
        ModelSpec,
        command_generator_model,
        missing_credentials,
        model_from_name,
    )
    from workbench.understanding.tape import ModelTape, load_calls

    model = model_from_name(args.model, project) if args.model else None
    if args.cassette:
        path = option_path(Path(args.cassette), project.root)
        if not path.is_file():
            raise UsageError(f"--cassette {args.cassette}: the file does not exist")
        tape = ModelTape("replay", load_calls(path), path=path)
        # replaying needs no model: the name is only what the answers are filed under
        return tape, model or ModelSpec("cassette"), f"replaying {args.cassette}"
    tape = ModelTape("record" if args.record else "live")
    if args.offline:
        return tape, None, "offline: rule-based (user/bot columns)"
    model = model or command_generator_model(project)
    if model is None:
        return tape, None, "no model configured: rule-based (user/bot columns); give --model"
    missing = missing_credentials(model)
    if missing:
        return tape, None, f"{model.model} needs {missing}: rule-based (user/bot columns)"
    return tape, model, f"model {model.model}"


async def _convert_all(
    conversations: list[Conversation], project: Project, tape: ModelTape, model: ModelSpec | None
) -> list[Converted]:
    from workbench.testing.convert import convert_with_model, convert_with_rules

    if model is None:
        return [convert_with_rules(c, project) for c in conversations]
    # one at a time: a recording keeps the conversations in the sheet's order
    return [await convert_with_model(c, project, tape, model) for c in conversations]


def cmd_data(argv: Sequence[str]) -> int:
    return run_verb(PROG, data_parser(), run, argv)


def main() -> int:  # `python -m workbench.cli.data`
    return cmd_data(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
