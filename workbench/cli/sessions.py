"""`calm-tui sessions VERB`: the conversations kept in `<project>/.calm/sessions.db`.

Each verb is one `SubVerb` in `SUBVERBS` (its arguments and its runner): list, show,
delete, export (an e2e test case and its cassette, `testing/export.py`), replay (re-run
on the project as it is now, `testing/replay.py`), stats (`sessions_stats.py`) and import
(`sessions_import.py`). Reading verbs never create the
store: a project that has no `.calm/sessions.db` yet simply has no sessions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from workbench.cli.common import (
    load_or_report,
    open_store,
    positive_int,
    project_arg,
    project_folder,
    run_verb,
)
from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.cli.sessions_import import import_arguments, run_import, split_targets
from workbench.cli.sessions_stats import run_stats, stats_arguments
from workbench.errors import UsageError, WorkbenchError
from workbench.store.sessions import (
    UNREADABLE_TURN,
    AmbiguousIdError,
    SessionStore,
    SessionSummary,
)
from workbench.terminal_text import escaped, json_printable, printable
from workbench.trace.text import chat_markup, summary_markup, trace_table, user_markup
from workbench.trace.turn import TurnTrace
from workbench.wiring import (
    add_generator_options,
    add_project_options,
    load,
    make_actions,
    make_generator,
    options_from_args,
)

if TYPE_CHECKING:
    from workbench.actions.protocol import ProjectActions
    from workbench.project.model import Project

PROG = "calm-tui sessions"


@dataclass(frozen=True)
class SubVerb:
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]


# -- list ---------------------------------------------------------------------------------


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    project_arg(parser)
    parser.add_argument("--search", metavar="TEXT", help="only sessions that mention TEXT")
    parser.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run_list(args: argparse.Namespace, console: Console) -> int:
    sessions: list[SessionSummary] = []
    store = open_store(args.project_dir)
    if store is not None:
        try:
            sessions = store.list_sessions(limit=args.limit, search=args.search)
        finally:
            store.close()
    if args.format == "json":
        print(
            json_printable(
                json.dumps([s.as_dict() for s in sessions], indent=2, ensure_ascii=False)
            )
        )
        return EXIT_OK
    if not sessions:
        what = f"match '{args.search}'" if args.search else "yet"
        console.print(f"no sessions {escaped(what)} in {escaped(args.project_dir)}")
        return EXIT_OK
    table = Table(box=None, header_style="bold", pad_edge=False)
    # Only title and generator may shrink on a narrow terminal; their cells are one-line
    # Texts, so they are cut with an ellipsis instead of wrapping.
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title")
    table.add_column("turns", justify="right", no_wrap=True)
    table.add_column("generator")
    table.add_column("updated (UTC)", no_wrap=True)
    for s in sessions:
        title = _cell(s.title) if s.title else _cell("(no message yet)", "dim")
        table.add_row(
            printable(s.id), title, str(s.turn_count), _cell(s.generator), _when(s.updated_at)
        )
    console.print(table)
    return EXIT_OK


# -- show ---------------------------------------------------------------------------------


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    _id_arg(parser)
    project_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each turn's full trace")


def run_show(args: argparse.Namespace, console: Console) -> int:
    # the plain transcript needs a few fields of each turn, not whole traces
    summary, turns = _session_turns(args, whole=args.format == "json" or args.verbose)
    if args.format == "json":
        data = {"session": summary.as_dict(), "turns": [t.to_dict() for t in turns]}
        print(json_printable(json.dumps(data, indent=2, ensure_ascii=False)))
        return EXIT_OK
    _print_header(summary, console)
    if args.verbose:
        for trace in turns:
            _print_turn(trace, console, args.verbose)
        return EXIT_OK
    lines: list[str] = []
    for trace in turns:
        lines.extend(_turn_lines(trace))
    if console.is_terminal:
        # one print per session, not per line: Rich's per-call cost adds up
        console.print("\n".join(lines))
    else:
        # a pipe or a file gets no colours anyway: drop the markup without Rich, whose
        # rendering would take seconds for a session of thousands of turns
        console.file.write("".join(_MARKUP_TAG.sub(_untag, line) + "\n" for line in lines))
    return EXIT_OK


# Rich's markup tag (rich.markup.RE_TAGS): backslashes, then `[style]`; an odd number of
# backslashes escapes the bracket
_MARKUP_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")


def _untag(match: re.Match[str]) -> str:
    """A markup tag as Rich renders it in plain text: gone, or (escaped) kept as text."""
    slashes = match.group(1)
    kept = slashes[: len(slashes) // 2]
    return f"{kept}[{match.group(2)}]" if len(slashes) % 2 else kept


def _print_header(s: SessionSummary, console: Console) -> None:
    console.print(
        f"[bold cyan]{escaped(s.id)}[/] [bold]{escaped(s.title or '(no message yet)')}[/]"
    )
    console.print(
        f"[dim]started {_when(s.started_at)} UTC · {s.turn_count} turns · generator "
        f"{escaped(s.generator or '?')} · seed {s.seed} · sender {escaped(s.sender_id)} · "
        f"{escaped(s.status)}[/]"
    )
    if s.imported:
        console.print(f"[dim]imported from {escaped(s.origin)}: read-only, it cannot be resumed[/]")


def _print_turn(trace: TurnTrace, console: Console, verbose: bool) -> None:
    lines = _turn_lines(trace, with_summary=not verbose)
    for line in lines:
        console.print(line)
    if verbose:
        console.print(trace_table(trace))


def _turn_lines(trace: TurnTrace, with_summary: bool = True) -> list[str]:
    """A turn as transcript lines (Rich markup): a blank line, its heading, the user's
    message, the bot's messages and (`with_summary`) the short trace."""
    took = trace.timings_ms.get("total")
    lines = [
        "",
        f"[dim]── turn {trace.index} · {escaped(trace.source)}"
        + (f" · {took:.1f} ms" if took is not None else "")
        + "[/]",
        user_markup(trace),
    ]
    for message in trace.bot_messages:
        lines.extend(chat_markup(message))
    if with_summary:
        lines.extend(summary_markup(trace))
    return lines


# -- delete -------------------------------------------------------------------------------


def _delete_arguments(parser: argparse.ArgumentParser) -> None:
    _id_arg(parser)
    project_arg(parser)
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def run_delete(args: argparse.Namespace, console: Console) -> int:
    store = _open_existing(args.project_dir, args.id)
    try:
        summary = _find(store, args.id, args.project_dir)
        label = printable(f"{summary.id} '{summary.title}' ({summary.turn_count} turns)")
        if not args.yes and not _confirm(f"Delete session {label}? [y/N] "):
            console.print(f"kept session {escaped(summary.id)}")
            return EXIT_PROBLEMS
        store.delete_session(summary.id)
    finally:
        store.close()
    console.print(f"deleted session {escaped(label)}")
    return EXIT_OK


def _confirm(question: str) -> bool:
    # a script piping into us cannot answer; deleting on its behalf would be a guess
    if not sys.stdin.isatty():
        raise UsageError("stdin is not a terminal: pass --yes to delete without asking")
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


# -- export -------------------------------------------------------------------------------


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    _id_arg(parser)
    project_arg(parser)
    parser.add_argument(
        "--assertions",
        action="store_true",
        help="write assertions on each user step instead of bot/utter/slot steps",
    )
    parser.add_argument(
        "--name", metavar="NAME", help="the test case name (default: from the session title)"
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the test here (default: PROJECT_DIR/e2e_tests/<name>.yml; "
        "an existing file is never overwritten)",
    )
    parser.add_argument(
        "--no-cassette",
        action="store_true",
        help="do not write the recorded model output beside the test (<name>.cassette.yml)",
    )
    parser.add_argument(
        "--du",
        action="store_true",
        help="write a dialogue-understanding test instead (each user step with the commands "
        "the session accepted; default PROJECT_DIR/dialogue_understanding_tests/<name>.yml)",
    )
    add_project_options(parser)


def _session_turns(args: argparse.Namespace, whole: bool = True):
    """The session named by `args.id` and its turns (the store is closed again);
    without `whole`, only what a transcript shows of each turn."""
    store = _open_existing(args.project_dir, args.id)
    try:
        summary = _find(store, args.id, args.project_dir)
        read = store.get_turns if whole else store.get_turn_summaries
        return summary, read(summary.id)
    finally:
        store.close()


def run_export(args: argparse.Namespace, console: Console) -> int:
    from workbench.testing.export import NothingToExport, export_comment, slug, write_export

    summary, turns = _session_turns(args)
    for turn in turns:
        # a test made from what a damaged row still tells would assert the wrong thing
        damage = next((e for e in turn.errors if e.startswith(UNREADABLE_TURN)), None)
        if damage is not None:
            raise WorkbenchError(f"session {summary.id}, turn {turn.index}: {damage}")
    # the export reads slot and flow definitions; a project with errors still has them
    project = load(Path(args.project_dir), options_from_args(args), with_tests=False).project
    # an imported conversation is named after the production conversation it keeps
    named = f"production {summary.sender_id}" if summary.imported else summary.title
    title = args.name or slug(named, fallback=f"session_{slug(summary.id)}")
    comment = export_comment(summary.id, summary.generator, summary.started_at)
    if args.du:
        return _export_du(args, project, turns, title, comment)
    try:
        result = write_export(
            project,
            turns,
            name=args.name or (None if args.out is None else title),
            title=title,
            assertions=args.assertions,
            out=args.out,
            cassette=not args.no_cassette,
            comment=comment,
        )
    except NothingToExport as exc:
        raise WorkbenchError(f"session {summary.id}: {exc}") from exc
    except FileExistsError as exc:
        raise UsageError(f"{exc}: choose another --out") from exc
    except OSError as exc:
        raise WorkbenchError(f"cannot write the test: {exc}") from exc
    print(_shown(result.test_path))
    if result.cassette_path is not None:
        print(_shown(result.cassette_path))
    style = "assertions" if args.assertions else "steps"
    console.print(
        f"[dim]test case '{escaped(result.name)}': {result.user_steps} user steps ({style})"
        + (
            f", {result.model_outputs} model outputs in the cassette"
            if result.cassette_path is not None
            else ""
        )
        + "[/]"
    )
    root = project.root
    test_arg = _in_project(result.test_path, root)
    run_it = f"calm-tui test {args.project_dir} {test_arg}"
    if result.cassette_path is not None:
        run_it += f" --cassette {_in_project(result.cassette_path, root)}"
    console.print(f"[dim]run it: {escaped(run_it)}[/]")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escaped(note)}")
    return EXIT_OK


def _export_du(
    args: argparse.Namespace, project: Project, turns: list[TurnTrace], name: str, comment: str
) -> int:
    """`sessions export --du`: the session as a DU test (`testing/du.py`)."""
    from workbench.testing.du import du_export_path, du_test_yaml
    from workbench.testing.export import NothingToExport

    try:
        text = du_test_yaml(turns, project, name)
    except NothingToExport as exc:
        raise WorkbenchError(f"session {args.id}: {exc}") from exc
    path = Path(args.out) if args.out else du_export_path(project.root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as stream:
            stream.write(header + text)
    except FileExistsError as exc:
        raise UsageError(f"{path} exists already: choose another --out") from exc
    except OSError as exc:
        raise WorkbenchError(f"cannot write the test: {exc}") from exc
    print(_shown(path))
    console_run = f"calm-tui test {args.project_dir} --du {_in_project(path, project.root)}"
    print(f"run it: {console_run}", file=sys.stderr)
    return EXIT_OK


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _in_project(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


# -- replay -------------------------------------------------------------------------------


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    _id_arg(parser)
    project_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--live-actions",
        action="store_true",
        help="an imported session: run the project's custom actions (by default each "
        "answers with what it did in production, so no side effect happens twice)",
    )
    add_project_options(parser)
    add_generator_options(parser)
    parser.epilog = (
        "Re-runs the session's user messages on the project as it is now, with the model "
        "outputs it recorded (or, to compare, understood by --offline, --model or "
        "--cassette), and compares the bot's messages and flow events turn by turn. "
        "A session imported from a tracker store replays the commands Rasa recorded for "
        "each message, and its custom actions answer from the recorded events unless "
        "--live-actions is given. "
        "Exit codes: 0 same behaviour, 1 it differs (or the session/project is missing), "
        "2 usage error."
    )


def run_replay(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    from workbench.testing.replay import difference_lines, replay_session

    summary, turns = _session_turns(args)
    options = options_from_args(args)
    if options.record is not None:
        raise UsageError("sessions replay does not record: use --cassette, --model or --offline")
    project = load_or_report(Path(args.project_dir), options)
    imported = summary.imported
    if args.live_actions and not imported:
        raise UsageError("--live-actions is for imported sessions: a local replay runs them")
    generator = None
    label = "commands recorded in production" if imported else "recorded model outputs"
    if options.offline or options.model or options.cassette:
        generator, label = make_generator(project, options)
    actions: ProjectActions
    if imported and not args.live_actions:
        from workbench.actions.recorded import RecordedActions

        actions = RecordedActions(turns)
        label += ", custom actions from the recorded events"
    else:
        actions = make_actions(project, options)
    try:
        report = asyncio.run(
            replay_session(project, turns, actions=actions, seed=summary.seed, generator=generator)
        )
    finally:
        actions.close()  # stops an action server the replay started
    if args.format == "json":
        print(json.dumps({"session": summary.id, **report.to_dict()}, indent=2, default=str))
        return EXIT_OK if report.same else EXIT_PROBLEMS
    console.print(
        f"replayed session [bold cyan]{escaped(summary.id)}[/] "
        f"[bold]{escaped(summary.title or '(no message yet)')}[/] "
        f"[dim]({len(turns)} turns, seed {summary.seed}, {escaped(label)})[/]"
    )
    first = report.first_difference
    if first is None:
        console.print(f"[green]{escaped(report.summary())}[/]")
        return EXIT_OK
    console.print(f"[red]{escaped(report.summary())}[/]")
    for line in difference_lines(first, "in production" if imported else "recorded"):
        console.print(escaped(line))
    return EXIT_PROBLEMS


# -- the verb -----------------------------------------------------------------------------

SUBVERBS: dict[str, SubVerb] = {
    "list": SubVerb("list sessions, newest first", _list_arguments, run_list),
    "show": SubVerb("print a session's conversation", _show_arguments, run_show),
    "delete": SubVerb("delete a session and its turns", _delete_arguments, run_delete),
    "export": SubVerb("export a session as an e2e test case", _export_arguments, run_export),
    "replay": SubVerb(
        "re-run a session on the project as it is now and compare", _replay_arguments, run_replay
    ),
    "stats": SubVerb(
        "figures across sessions: flows, pattern rates, dropped-command reasons, per day",
        stats_arguments,
        run_stats,
    ),
    "import": SubVerb(
        "list or import conversations from a Rasa tracker store (read-only)",
        import_arguments,
        run_import,
    ),
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog=PROG,
        description="The conversations saved in PROJECT_DIR/.calm/sessions.db. "
        "A session ID may be shortened to any unique prefix.",
    )
    verbs = main.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, verb in SUBVERBS.items():
        verb.arguments(verbs.add_parser(name, help=verb.help, description=verb.help))
    return main


def run(args: argparse.Namespace) -> int:
    if args.verb == "import":
        split_targets(args)
    project_folder(args.project_dir)
    console = Console(highlight=False, soft_wrap=True)
    return SUBVERBS[args.verb].run(args, console)


def cmd_sessions(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["import"]:
        # ids may come after options (`import --list` then `import --tracker-store URL a b`):
        # only an intermixed parse reads positionals on both sides of options
        verb = SUBVERBS["import"]
        alone = _IntermixedParser(prog=f"{PROG} import", description=verb.help)
        verb.arguments(alone)
        alone.set_defaults(verb="import")
        return run_verb(PROG, alone, run, argv[1:])
    return run_verb(PROG, parser(), run, argv)


class _IntermixedParser(argparse.ArgumentParser):
    def parse_args(self, args=None, namespace=None):
        return self.parse_intermixed_args(args, namespace)


# -- helpers ------------------------------------------------------------------------------


def _id_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="a session id or a unique prefix of one")


def _open_existing(project_dir: str, session_id: str) -> SessionStore:
    store = open_store(project_dir)
    if store is None:
        raise WorkbenchError(f"no session '{session_id}': {project_dir} has no sessions")
    return store


def _find(store: SessionStore, session_id: str, project_dir: str) -> SessionSummary:
    try:
        summary = store.get_session(session_id)
    except AmbiguousIdError as exc:
        raise UsageError(str(exc)) from exc
    if summary is None:
        raise WorkbenchError(f"no session '{session_id}' in {project_dir}")
    return summary


def _cell(text: str, style: str = "") -> Text:
    return Text(printable(text, multiline=False), style=style, no_wrap=True, overflow="ellipsis")


def _when(stamp: str) -> str:
    """`2026-11-24T06:01:02.123Z` → `2026-11-24 06:01`."""
    return stamp[:16].replace("T", " ")
