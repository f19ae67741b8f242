"""The one place that turns a project and command-line options into a running
conversation: the command generator (a cassette replayed, a recording, the configured
model or the offline one), the custom action runner, the `Session`, and the recorder that
saves its turns to the session store.

Every front end builds here: the TUI (`tui/app.py`, `tui/conversation.py`), `calm-tui
shell`, the e2e runner (`testing/runner.py`) and replay (`testing/replay.py`, `calm-tui
sessions replay`); so do the verbs that only load the project (`validate`, `sessions
export`). Every verb takes the same options through `add_project_options` and
`add_generator_options`, so the front ends cannot drift apart.
"""

from __future__ import annotations

import argparse
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import UsageError
from workbench.project.choices import PROMPT_CHOICES, RASA_VERSIONS
from workbench.project.paths import ProjectPaths, resolve_option_path

if TYPE_CHECKING:
    from workbench.actions.protocol import ActionResult, ProjectActions
    from workbench.engine.tracker import Tracker
    from workbench.knowledge.service import KnowledgeService
    from workbench.project.loader import LoadResult
    from workbench.project.model import Project
    from workbench.project.yaml_io import YamlCache
    from workbench.session import CustomActionRunner, Session
    from workbench.store.recorder import SessionRecorder
    from workbench.store.redact import Scrubber
    from workbench.understanding.base import CommandGenerator
    from workbench.understanding.tape import ModelTape

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
    prompt: str | None = None  # "rasa" | "workbench"; None: workbench.yml's, else Rasa's


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
    group.add_argument(
        "--prompt",
        choices=PROMPT_CHOICES,
        help="the model's command prompt when the project names no prompt_template: Rasa's "
        "own default (needs rasa-pro installed) or the workbench's (default: workbench.yml's "
        "prompt, else Rasa's when installed)",
    )


def options_from_args(args: argparse.Namespace) -> Options:
    get = lambda name: getattr(args, name, None)  # noqa: E731 - verbs take subsets
    if get("cassette") and get("record"):
        raise UsageError("--cassette and --record exclude each other")
    python = get("actions_python")
    prompt = get("prompt")
    if prompt == "rasa":
        from workbench.understanding.rasa_prompt import rasa_installed

        if not rasa_installed():
            raise UsageError(
                "--prompt rasa renders the default prompt of the installed Rasa Pro, but "
                "`rasa` is not importable here: run in the project's Rasa environment "
                "(pip install rasa-pro), or use --prompt workbench"
            )
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
        prompt=prompt,
    )


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def load(
    root: Path, options: Options, *, with_tests: bool = True, cache: YamlCache | None = None
) -> LoadResult:
    """The project as the options describe it (a `LoadResult`)."""
    from workbench.project.loader import load_project

    return load_project(
        root,
        cache=cache,
        with_tests=with_tests,
        paths=options.paths.resolved(Path(root).resolve()),
        rasa_version=options.rasa_version,
        prompt=options.prompt,
    )


def option_path(path: Path, root: Path) -> Path:
    """A file named by `--cassette` or `--record`, resolved as `--config` and `--data`
    are (`ProjectPaths.resolved`): from the current folder when it is there, else from
    the project root, so `calm-tui test shop e2e_tests/x.yml --cassette
    e2e_tests/x.cassette.yml` finds the cassette from inside and outside the project."""
    return resolve_option_path(path, Path(root).resolve())


def cassette_path(cassette: Path, root: Path) -> Path:
    """The `--cassette` file, resolved as `option_path` does; a `UsageError` when it is
    not there (checked before a front end starts, so that it ends as a usage error)."""
    path = option_path(cassette, root)
    if not path.is_file():
        raise UsageError(f"--cassette {cassette}: the file does not exist")
    return path


def make_generator(
    project: Project,
    options: Options,
    notes: list[str] | None = None,
    scrubber: Scrubber | None = None,
) -> tuple[CommandGenerator, str]:
    """(generator, label): a cassette replayed, else the configured model or the offline
    generator (wrapped to record when asked, its secrets masked by `scrubber`). A cassette
    that is not there is a `UsageError`; one that cannot be read raises `CassetteError`
    (both `WorkbenchError`s)."""
    from workbench.store.redact import Scrubber, unmask
    from workbench.understanding.cassette import CassetteGenerator, RecordingGenerator
    from workbench.understanding.choose import choose_generator

    notes = notes if notes is not None else []
    if options.cassette is not None:
        if options.offline or options.model:
            notes.append("--offline/--model have no effect with --cassette (it is replayed)")
        path = cassette_path(options.cassette, project.root)
        # a cassette recorded with its secrets masked still answers the real messages
        cassette = CassetteGenerator(path, unmask=unmask)
        # the other calls are keyed by their scrubbed input, as they were recorded
        cassette.tape.scrub = (scrubber or Scrubber.for_project(project)).text
        return cassette, f"cassette {options.cassette}"
    generator, label = choose_generator(project, offline=options.offline, model=options.model)
    if label.startswith("direct commands only"):
        notes.append(
            "the offline generator is not available: only direct commands "
            "(/start flow x, /SetSlots(...)) are understood"
        )
    if options.record is not None:
        scrubber = scrubber or Scrubber.for_project(project)
        generator = RecordingGenerator(
            generator, option_path(options.record, project.root), scrub=scrubber.scrub
        )
        label = f"{label}, recording to {options.record.name}"
    return generator, label


def make_actions(project: Project, options: Options | None = None) -> ProjectActions:
    """The custom action runner the project declares, as `--actions` and
    `--actions-python` adjust it. It has a `label` for headers; `close()` stops an
    action server it started."""
    from workbench.actions.runner import make_action_runner

    options = options or Options()
    return make_action_runner(project, mode=options.actions, python=options.actions_python)


class LazyActions:
    """The project's custom action runner, made at its first use: importing the runners
    costs ~90 ms (the HTTP client for action servers), which start-up need not wait for.
    Forwards `run`, `refresh`, `load_error`, `warnings`, `label` and `problems`;
    `close()` stops an action server the runner started."""

    def __init__(self, project: Project, options: Options | None = None) -> None:
        self.project = project
        self.options = options
        self._runner: ProjectActions | None = None
        # a front end may make it in a thread (the TUI does) while a first turn needs it
        self._making = threading.Lock()

    @property
    def runner(self) -> ProjectActions:
        with self._making:
            if self._runner is None:
                self._runner = make_actions(self.project, self.options)
            return self._runner

    @property
    def label(self) -> str:
        return str(getattr(self.runner, "label", "") or "")

    @property
    def problems(self) -> list[str]:
        return list(getattr(self.runner, "problems", None) or [])

    # the in-process runner's alone (the others have no package to import):
    @property
    def warnings(self) -> list[str]:
        return list(getattr(self._runner, "warnings", None) or [])

    @property
    def load_error(self) -> str | None:
        error = getattr(self._runner, "load_error", None)
        return error if isinstance(error, str) else None

    def refresh(self, project: Project) -> bool:
        refresh = getattr(self.runner, "refresh", None)
        return bool(refresh(project)) if callable(refresh) else False

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.aclose()

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        return await self.runner.run(name, tracker, project)


# --- a running conversation ----------------------------------------------------------------


@dataclass
class Parts:
    """What every conversation of one front end shares: the command generator, its label
    for headers and the store, and the custom action runner (which reloads itself when
    the project changes, so restarts keep it)."""

    generator: CommandGenerator
    label: str
    actions: ProjectActions
    notes: list[str] = field(default_factory=list)
    # the secrets seen so far, masked in the store, the `--record` cassette and `--debug`
    scrubber: Scrubber | None = None
    # every model call besides command generation goes through it: replayed from the
    # `--cassette`, recorded into the `--record` cassette, else live
    tape: ModelTape = field(default_factory=lambda: _live_tape())
    # `--offline`: no model is called, not even to rephrase a response
    offline: bool = False
    # answers knowledge questions; its knowledge bases outlive restarts
    knowledge: KnowledgeService | None = None

    def close(self) -> None:
        """Write the `--record` cassette once more (with the secrets learned since its
        last write masked) and stop an action server the runner started."""
        write = getattr(self.generator, "write_cassette", None)
        try:
            if callable(write):
                write()
        finally:
            self.actions.close()


def make_parts(
    project: Project,
    options: Options,
    *,
    generator: CommandGenerator | None = None,
    lazy_actions: bool = False,
) -> Parts:
    """The generator as `options` choose it (or `generator`, e.g. a test's script) and
    the project's action runner (`lazy_actions`: made at its first use)."""
    from workbench.store.redact import Scrubber

    notes: list[str] = []
    scrubber = Scrubber.for_project(project)
    if generator is None:
        generator, label = make_generator(project, options, notes, scrubber)
    else:
        label = str(getattr(generator, "name", None) or type(generator).__name__)
    actions = LazyActions(project, options) if lazy_actions else make_actions(project, options)
    from workbench.knowledge.service import KnowledgeService
    from workbench.understanding.tape import ModelTape

    tape = getattr(generator, "tape", None)
    if not isinstance(tape, ModelTape):
        tape = ModelTape()
    elif tape.scrub is None:
        tape.scrub = scrubber.text
    knowledge = KnowledgeService(tape, "--offline" if options.offline else None)
    return Parts(generator, label, actions, notes, scrubber, tape, options.offline, knowledge)


def new_sender_id(prefix: str) -> str:
    """A fresh conversation id: custom actions keep per-conversation state by sender
    (the sample's orders database does), so a restart or a replay starts clean."""
    return f"{prefix}-{secrets.token_hex(4)}"


def new_session(
    project: Project,
    generator: CommandGenerator,
    *,
    actions: CustomActionRunner | None = None,
    sender_id: str = "default",
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    tape: ModelTape | None = None,
    offline: bool = False,
    knowledge: KnowledgeService | None = None,
) -> Session:
    """The one way a front end starts a `Session`. `tape`: the conversation's other
    model calls (default: the generator's, replayed from or recorded into its cassette);
    `offline`: rephrase no response (`--offline`); `knowledge`: the front end's shared
    knowledge service (`Parts.knowledge`), by default the generator's (`knowledge_for`)."""
    from workbench.agents.caller import ExternalCaller
    from workbench.session import Session
    from workbench.understanding.rephrase import Rephraser

    tape = tape or generator_tape(generator)
    if knowledge is None:
        knowledge = knowledge_for(generator, offline)
    return Session(
        project,
        generator,
        actions=actions,
        sender_id=sender_id,
        seed=seed,
        clock=clock,
        rephraser=Rephraser(tape, offline=offline),
        knowledge=knowledge,
        calls=ExternalCaller(tape, "--offline" if offline else None),
    )


_knowledge_services: weakref.WeakKeyDictionary[CommandGenerator, KnowledgeService] = (
    weakref.WeakKeyDictionary()
)


def knowledge_for(generator: CommandGenerator, offline: bool = False) -> KnowledgeService:
    """The knowledge service of the sessions a generator serves (an e2e run's, a
    replay's): one per generator, so its knowledge bases are opened once for all of
    them; it replays and records through the generator's tape."""
    from workbench.knowledge.service import KnowledgeService

    try:
        known = _knowledge_services.get(generator)
    except TypeError:  # a generator that cannot be a key (no hash, no weak reference)
        known = None
    if known is None:
        known = KnowledgeService(generator_tape(generator), "--offline" if offline else None)
        try:
            _knowledge_services[generator] = known
        except TypeError:
            pass
    return known


def _live_tape() -> ModelTape:
    # imported at the first conversation: the tape module brings the model client's
    # module, which start-up need not wait for
    from workbench.understanding.tape import ModelTape

    return ModelTape()


def generator_tape(generator: CommandGenerator) -> ModelTape:
    """The tape of a cassette or recording generator, else a live one."""
    from workbench.understanding.tape import ModelTape

    tape = getattr(generator, "tape", None)
    return tape if isinstance(tape, ModelTape) else ModelTape()


def new_recorder(
    root: Path,
    session: Session,
    label: str,
    warn: Callable[[str], None] | None = None,
    scrubber: Scrubber | None = None,
) -> SessionRecorder:
    """Saves `session`'s turns to `<root>/.calm/sessions.db` as they happen (call it
    with each trace; `close()` ends the stored session). `scrubber`: the conversation's
    (default: a new one for the project)."""
    from workbench.store.recorder import SessionRecorder
    from workbench.store.redact import Scrubber

    return SessionRecorder(
        root,
        generator=label,
        sender_id=session.tracker.sender_id,
        seed=session.tracker.seed,
        project_fingerprint=session.project.fingerprint,
        scrubber=scrubber or Scrubber.for_project(session.project),
        **({"warn": warn} if warn is not None else {}),
    )


@dataclass
class RunningConversation:
    """A session on a project, its parts, and the recorder that saves its turns (None:
    not stored). `close()` ends the stored session and stops what the parts started."""

    session: Session
    parts: Parts
    recorder: SessionRecorder | None = None

    @property
    def label(self) -> str:
        return self.parts.label

    def close(self) -> None:
        try:
            if self.recorder is not None:
                self.recorder.close()
        finally:
            self.parts.close()


def build_conversation(
    project: Project,
    options: Options,
    *,
    root: Path | None = None,
    store: bool = True,
    sender_id: str | None = None,
    seed: int = 0,
    generator: CommandGenerator | None = None,
) -> RunningConversation:
    """A conversation on `project` as `options` say, saved to the store of `root` (the
    project folder by default) unless `store` is false."""
    parts = make_parts(project, options, generator=generator)
    session = new_session(
        project,
        parts.generator,
        actions=parts.actions,
        sender_id=sender_id or "default",
        seed=seed,
        tape=parts.tape,
        offline=parts.offline,
        knowledge=parts.knowledge,
    )
    recorder = (
        new_recorder(root or project.root, session, parts.label, scrubber=parts.scrubber)
        if store
        else None
    )
    return RunningConversation(session, parts, recorder)
