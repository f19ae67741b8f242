"""Run e2e test cases headless on the same `Session` the TUI and the shell use.

Semantics follow Rasa Pro's e2e runner (reference section f):

* each test case gets a fresh conversation (its own sender id, a fixed seed); fixtures
  become slot events right after the session starts ("turn −1");
* custom actions: the file's `stub_custom_actions` (`action` for every test of the file,
  `<test case name, spaces as _>::action` for one), anything else runs in-process;
* each `user` step is sent with the merged metadata (test case's, then the step's);
  each bot/slot step after it must match some event of that turn; sending stops at the
  first failing step;
* a test case with any `assertions` is judged only by its assertions, run after the
  conversation on each asserting step's turn;
* a case that fails is run again under the other Rasa version profile, and the result
  says when it passes there (`other_version.py`).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.engine.events import Event
from workbench.project.loader import with_rasa_version
from workbench.project.model import Project, Source, TestCase, TestFile, TestStep
from workbench.session import CustomActionRunner, Session
from workbench.testing.assertions import assertion_kind, check_step, run_assertion
from workbench.testing.other_version import advice, other_rasa_version, rerun_generator
from workbench.trace.records import BotMessage
from workbench.trace.records import Event as TraceEvent
from workbench.trace.text import command_text, dropped_text, flow_change
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator

GENERATOR_FAILED = "command generator failed: "
ORDER_HINT = " (assertion_order_enabled: check the order in which the assertions are listed)"
DEFAULT_SEED = 0

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


# --- results ------------------------------------------------------------------------------


@dataclass
class TurnView:
    """What one turn did, for a failure report: the user message (None: session start
    and fixtures), bot messages, slot events and the commands the message became."""

    user_text: str | None
    bot: list[BotMessage] = field(default_factory=list)
    slots: list[tuple[str, Any]] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)  # "started x", "completed y at z"
    actions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_text": self.user_text,
            "bot": [
                {
                    "text": m.text,
                    "utter_action": m.response,
                    "buttons": [b.as_dict() for b in m.buttons],
                }
                for m in self.bot
            ],
            "slots": [[name, value] for name, value in self.slots],
            "flows": self.flows,
            "actions": self.actions,
            "commands": self.commands,
            "dropped": self.dropped,
            "errors": self.errors,
            "notices": self.notices,
        }


@dataclass
class Failure:
    """The first thing that diverged."""

    kind: str  # "step", "assertion", "error"
    message: str
    source: Source | None = None  # where the failing step / assertion is written
    expected: str = ""  # the failing step or assertion as written
    step_index: int | None = None
    turn: TurnView | None = None

    @property
    def location(self) -> str:
        return str(self.source) if self.source else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "location": self.location,
            "expected": self.expected,
            "step_index": self.step_index,
            "turn": self.turn.to_dict() if self.turn else None,
        }


@dataclass
class CaseResult:
    file: str
    name: str
    status: str  # passed / failed / skipped
    duration_s: float = 0.0
    failure: Failure | None = None
    source: Source | None = None
    sender_id: str = ""
    notes: list[str] = field(default_factory=list)
    traces: list[TurnTrace] = field(default_factory=list)
    # failed under the run's profile but passes under this Rasa version
    passes_under: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "status": self.status,
            "duration_s": self.duration_s,
            "failure": self.failure.to_dict() if self.failure else None,
            "notes": self.notes,
            "passes_under": self.passes_under,
        }


@dataclass
class RunResult:
    results: list[CaseResult]
    notes: list[str] = field(default_factory=list)
    generator: str = ""
    duration_s: float = 0.0
    rasa_version: str = ""

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == PASSED]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == SKIPPED]

    @property
    def ok(self) -> bool:
        return not self.failed


# --- custom actions --------------------------------------------------------------------------


def _project_runner(
    project: Project, factory: Callable[[Project], CustomActionRunner | None] | None
) -> tuple[CustomActionRunner | None, str | None]:
    """The runner the project declares (or `factory` makes, e.g. with `--actions`)."""
    from workbench.actions.runner import make_action_runner

    try:
        return (factory or make_action_runner)(project), None
    except Exception as exc:  # a broken actions package must not stop the whole run
        return None, f"custom actions cannot run: {exc!r}"


# --- the runner --------------------------------------------------------------------------------


class E2ERunner:
    """Runs test cases of one project with one generator (e.g. one cassette for the run:
    its shared entries are consumed in order across test cases; entries keyed to a test
    case, `test_case:`, only by that case)."""

    def __init__(
        self,
        project: Project,
        generator: CommandGenerator,
        *,
        actions: CustomActionRunner | Callable[[Project], CustomActionRunner | None] | None = None,
        seed: int = DEFAULT_SEED,
        run_id: str | None = None,
        rasa_version: str | None = None,
        try_other_version: bool = True,
    ) -> None:
        """`actions`: the runner for custom actions that are not stubbed (default: the
        in-process runner for the project's actions package, when available).
        `rasa_version`: the behaviour profile to run under (default: the project's);
        `try_other_version`: run failing cases again under the other profile."""
        if rasa_version is not None:
            project = with_rasa_version(project, rasa_version)
        self.project = project
        self.try_other_version = try_other_version
        self._other_project: Project | None = None
        self.generator = generator
        self.seed = seed
        self.notes: list[str] = []
        # unique per run, so that actions keeping per-conversation state (keyed by the
        # sender id) start afresh each run, as Rasa's runner does with a timestamp
        self.run_id = run_id if run_id is not None else _run_id()
        self._counter = itertools.count(1)
        self._actions_arg = actions
        self._fallback: CustomActionRunner | None = None
        self._fallback_ready = False
        self._made_fallback = False  # made here, so closed here (a started server)

    # -- actions -------------------------------------------------------------------------

    def _fallback_runner(self) -> CustomActionRunner | None:
        if not self._fallback_ready:
            self._fallback_ready = True
            arg = self._actions_arg
            self._made_fallback = arg is None or (callable(arg) and not hasattr(arg, "run"))
            if arg is None or self._made_fallback:
                self._fallback, problem = _project_runner(self.project, arg)  # type: ignore[arg-type]
                needs_actions = self.project.custom_actions or (
                    self.project.endpoints.action_endpoint_url
                )
                label = getattr(self._fallback, "label", None)
                if label and needs_actions:
                    self.notes.append(f"custom actions: {label}")
                self.notes.extend(getattr(self._fallback, "problems", None) or [])
                if problem and needs_actions:
                    self.notes.append(problem)
            else:
                self._fallback = arg  # type: ignore[assignment]
        return self._fallback

    async def aclose(self) -> None:
        """Stop what the runner started itself (an action server); a runner passed in
        as `actions` belongs to the caller."""
        runner, self._fallback = self._fallback, None
        self._fallback_ready = False
        close = getattr(runner, "aclose", None) if self._made_fallback else None
        if callable(close):
            await close()

    def actions_for(self, test_file: TestFile, case: TestCase) -> CustomActionRunner | None:
        fallback = self._fallback_runner()
        if not test_file.stub_custom_actions:
            return fallback
        from workbench.actions.stubs import StubbedActions

        return StubbedActions(test_file.stub_custom_actions, stub_case_name(case.name), fallback)

    # -- one case ----------------------------------------------------------------------------

    def sender_id(self, case: TestCase) -> str:
        return f"{case.name}_{self.run_id}_{next(self._counter)}"

    async def run_case(self, test_file: TestFile, case: TestCase) -> CaseResult:
        rerun = rerun_generator(self.generator) if self.try_other_version else None
        result = await self._run_once(self.project, self.generator, test_file, case)
        failure = result.failure
        if rerun is not None and failure is not None and failure.kind != "error":
            version = other_rasa_version(self.project.rasa_version)
            if self._other_project is None:
                self._other_project = with_rasa_version(self.project, version)
            other = await self._run_once(self._other_project, rerun(), test_file, case)
            if other.passed:
                result.passes_under = version
                note = advice(version, self.project.rasa_version)
                if note not in self.notes:
                    self.notes.append(note)
        return result

    async def _run_once(
        self, project: Project, generator: CommandGenerator, test_file: TestFile, case: TestCase
    ) -> CaseResult:
        started = time.perf_counter()
        result = CaseResult(test_file.path, case.name, PASSED, source=case.source)
        # a cassette keeps entries per test case (`test_case:`): say which case runs
        begin = getattr(generator, "begin_test_case", None)
        try:
            if callable(begin):
                begin(case.name, test_file.path)
            await self._run_case(project, generator, test_file, case, result)
        except Exception as exc:  # a bug in a runner part must not end the whole run
            import traceback

            result.status = FAILED
            result.failure = Failure(
                "error",
                f"the test could not run: {exc!r}",
                case.source,
                expected=traceback.format_exc(),
            )
        finally:
            if callable(begin):
                begin(None)
        result.duration_s = time.perf_counter() - started
        return result

    async def _run_case(
        self,
        project: Project,
        generator: CommandGenerator,
        test_file: TestFile,
        case: TestCase,
        result: CaseResult,
    ) -> None:
        sender_id = self.sender_id(case)
        result.sender_id = sender_id
        session = Session(
            project,
            generator,
            actions=self.actions_for(test_file, case),
            sender_id=sender_id,
            seed=self.seed,
        )
        session.start()
        for slot, value in fixture_slots(test_file, case, result.notes):
            session.set_slots({slot: value})
        # turn −1: session start and fixture slot events
        turn_events: list[Event] = list(session.tracker.events)
        turn_trace: TurnTrace | None = None
        case_metadata = _named_metadata(test_file, case.metadata, result.notes)
        step_failure: Failure | None = None
        for index, step in enumerate(case.steps):
            if step.kind == "user":
                text = str(step.value)
                if not text:
                    result.notes.append(f"{step.source}: a user step without text is skipped")
                    continue
                metadata = _merge_metadata(
                    case_metadata, _named_metadata(test_file, step.metadata, result.notes)
                )
                turn_trace = await session.handle(text, metadata)
                result.traces.append(turn_trace)
                turn_events = session.tracker.events[turn_trace.event_offset :]
                problem = generator_failure(turn_trace)
                if problem is not None:
                    result.status = FAILED
                    view = turn_view(turn_events, turn_trace, text)
                    view.errors = [e for e in view.errors if e != problem]
                    result.failure = Failure(
                        "error", problem, step.source, step_index=index, turn=view
                    )
                    return
                continue
            reason = check_step(step, turn_events)
            if reason is not None:
                user_text = turn_trace.user_text if turn_trace else None
                step_failure = Failure(
                    "step",
                    reason,
                    step.source,
                    expected=describe_step(step),
                    step_index=index,
                    turn=turn_view(turn_events, turn_trace, user_text),
                )
                break  # sending stops at the first failing step
        if case.uses_assertions:
            failure = self._judge_assertions(test_file, case, session, case_metadata)
            if step_failure is not None:
                stopped = f"sending stopped at {step_failure.location}: {step_failure.message}"
                if failure is not None and failure.turn is None:
                    failure.message += f" ({stopped})"
                else:
                    result.notes.append(f"{stopped} (not judged: the test uses assertions)")
        else:
            failure = step_failure
        if failure is not None:
            result.status = FAILED
            result.failure = failure

    # -- assertions ----------------------------------------------------------------------------

    def _judge_assertions(
        self,
        test_file: TestFile,
        case: TestCase,
        session: Session,
        case_metadata: dict[str, Any],
    ) -> Failure | None:
        events = session.tracker.events
        for index, step in enumerate(case.steps):
            if step.kind != "user" or not step.assertions:
                continue
            text = str(step.value)
            wanted_metadata = None
            if step.metadata:
                wanted_metadata = _merge_metadata(
                    case_metadata, _named_metadata(test_file, step.metadata, [])
                )
            turn, prior = split_turn(events, text, wanted_metadata)
            if not turn:
                return Failure(
                    "assertion",
                    f"the user message {text!r} is not in the conversation",
                    step.source,
                    expected=f"user: {text}",
                    step_index=index,
                )
            trace = _trace_for(session, turn[0])
            for assertion in step.assertions:
                reason, match = run_assertion(assertion, turn, prior, first_step=index == 0)
                if reason is not None:
                    if step.assertion_order_enabled:
                        reason += ORDER_HINT
                    return Failure(
                        "assertion",
                        reason,
                        _assertion_source(step, assertion),
                        expected=describe_assertion(assertion),
                        step_index=index,
                        turn=turn_view(turn, trace, text),
                    )
                if step.assertion_order_enabled and match is not None:
                    position = turn.index(match)
                    if position + 1 < len(turn):  # as Rasa: never slices to nothing
                        prior = prior + turn[: position + 1]
                        turn = turn[position + 1 :]
        return None

    # -- many cases ------------------------------------------------------------------------------

    async def run(
        self,
        selected: Sequence[tuple[TestFile, TestCase]],
        *,
        fail_fast: bool = False,
        on_start: Callable[[TestFile, TestCase], None] | None = None,
        on_result: Callable[[CaseResult], None] | None = None,
    ) -> RunResult:
        try:
            return await self._run(selected, fail_fast, on_start, on_result)
        finally:
            await self.aclose()

    async def _run(
        self,
        selected: Sequence[tuple[TestFile, TestCase]],
        fail_fast: bool,
        on_start: Callable[[TestFile, TestCase], None] | None,
        on_result: Callable[[CaseResult], None] | None,
    ) -> RunResult:
        started = time.perf_counter()
        results: list[CaseResult] = []
        stop = False
        for test_file, case in selected:
            if stop:
                result = CaseResult(test_file.path, case.name, SKIPPED, source=case.source)
                result.notes.append("not run: --fail-fast stopped the run")
            else:
                if on_start is not None:
                    on_start(test_file, case)
                result = await self.run_case(test_file, case)
                stop = fail_fast and result.status == FAILED
            results.append(result)
            if on_result is not None:
                on_result(result)
        return RunResult(
            results,
            notes=list(self.notes),
            generator=getattr(self.generator, "name", ""),
            duration_s=time.perf_counter() - started,
            rasa_version=self.project.rasa_version,
        )


def run_tests(
    project: Project,
    selected: Sequence[tuple[TestFile, TestCase]],
    generator: CommandGenerator,
    **options: Any,
) -> RunResult:
    """Synchronous convenience: build an E2ERunner and run the cases in a new event loop.
    Options: actions, seed, run_id, rasa_version, try_other_version (for the runner),
    fail_fast, on_start, on_result."""
    runner_keys = ("actions", "seed", "run_id", "rasa_version", "try_other_version")
    runner = E2ERunner(
        project, generator, **{k: options.pop(k) for k in runner_keys if k in options}
    )
    return asyncio.run(runner.run(selected, **options))


# --- helpers -------------------------------------------------------------------------------------


def stub_case_name(name: str) -> str:
    """The test case part of a per-test stub key (`<name>::<action>`)."""
    return name.replace(" ", "_")


def fixture_slots(
    test_file: TestFile, case: TestCase, notes: list[str] | None = None
) -> list[tuple[str, Any]]:
    """(slot, value) pairs of the case's fixtures, in the order the file defines the
    fixtures (as Rasa applies them)."""
    wanted = set(case.fixtures)
    for name in case.fixtures:
        if name not in test_file.fixtures and notes is not None:
            notes.append(f"{case.source}: fixture '{name}' is not defined; ignored")
    pairs: list[tuple[str, Any]] = []
    for name, slots in test_file.fixtures.items():
        if name in wanted:
            pairs.extend(slots)
    return pairs


def _named_metadata(
    test_file: TestFile, name: str | None, notes: list[str] | None
) -> dict[str, Any]:
    if not name:
        return {}
    if name not in test_file.metadata:
        if notes is not None:
            message = f"{test_file.path}: metadata '{name}' is not defined; none is sent"
            if message not in notes:
                notes.append(message)
        return {}
    return dict(test_file.metadata[name])


def _merge_metadata(case: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """The step's metadata wins over the test case's."""
    return {**case, **step}


def split_turn(
    events: Sequence[Event], text: str, metadata: dict[str, Any] | None = None
) -> tuple[list[Event], list[Event]]:
    """(turn events, prior events) for a user message, as Rasa's assertion runner slices:
    from the first `user` event with that text (and metadata, when given) up to the next
    `user` event with a different text. Repeated texts resolve to the first occurrence."""
    start = None
    for index, event in enumerate(events):
        if event.get("event") != "user" or event.get("text") != text:
            continue
        if metadata is not None and (event.get("metadata") or {}) != metadata:
            continue
        start = index
        break
    if start is None:
        return [], []
    turn = [events[start]]
    for event in events[start + 1 :]:
        if event.get("event") == "user" and event.get("text") != text:
            break
        turn.append(event)
    return turn, list(events[:start])


def generator_failure(trace: TurnTrace) -> str | None:
    """Why the command generator failed on this turn (e.g. a cassette miss), if it did."""
    for error in trace.errors:
        if error.startswith(GENERATOR_FAILED):
            return error
    return None


def _trace_for(session: Session, user_event: Event) -> TurnTrace | None:
    events = session.tracker.events
    for trace in session.traces:
        start = trace.event_offset
        if any(e is user_event for e in events[start : start + 3]):
            return trace
    return None


def _assertion_source(step: TestStep, assertion: dict[str, Any]) -> Source:
    line = getattr(assertion, "line", 0)
    return Source(step.source.file, line) if line else step.source


def turn_view(events: Sequence[Event], trace: TurnTrace | None, user_text: str | None) -> TurnView:
    view = TurnView(user_text)
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            view.bot.append(BotMessage.of_event(TraceEvent.from_dict(event)))
        elif kind == "slot":
            view.slots.append((str(event.get("name")), event.get("value")))
        elif kind == "action" and event.get("name") not in ("action_listen",):
            view.actions.append(str(event.get("name")))
        elif (change := flow_change(TraceEvent.from_dict(event))) is not None:
            view.flows.append(change)
        elif kind == "error":
            view.errors.append(str(event.get("message")))
        elif kind == "notice":  # e.g. a step this version skips: explains a divergence
            view.notices.append(str(event.get("message")))
    if trace is not None:
        view.commands = [command_text(c) for c in trace.commands]
        view.dropped = [dropped_text(d) for d in trace.dropped]
        view.errors.extend(e for e in trace.errors if e not in view.errors)
    return view


def describe_step(step: TestStep) -> str:
    if step.kind in ("bot", "utter", "user"):
        return f"{step.kind}: {step.value}"
    from workbench.testing.assertions import describe_slot, slot_entries

    entries = ", ".join(describe_slot(n, v) for n, v in slot_entries(step.value))
    return f"{step.kind}: [{entries}]"


def describe_assertion(assertion: dict[str, Any]) -> str:
    kind = assertion_kind(assertion)
    value = assertion.get(kind) if isinstance(assertion, dict) else None
    return f"{kind}: {_compact(value)}"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) and not value.isidentifier() else str(value)


def _run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + os.urandom(2).hex()


# --- selecting test cases ------------------------------------------------------------------------


class SelectionError(ValueError):
    """A path or test case name that selects nothing (a usage error)."""


def select_cases(
    project: Project, paths: Sequence[str], cwd: Path | None = None
) -> list[tuple[TestFile, TestCase]]:
    """The test cases that PATHS select: a folder (every test file under it), a file, or
    `file.yml::test case name`. Paths are relative to the project (or absolute, or
    relative to `cwd` as a fallback). No paths: every test case of the project."""
    if not paths:
        return list(project.test_cases)
    root = project.root.resolve()
    selected: list[tuple[TestFile, TestCase]] = []
    seen: set[tuple[str, str, int]] = set()
    for raw in paths:
        path_text, _, case_name = raw.partition("::")
        path = _resolve(root, path_text, cwd)
        if path is None:
            raise SelectionError(f"'{path_text}': no such file or folder in {root}")
        if path.is_dir():
            if case_name:
                raise SelectionError(f"'{raw}': '::test case' needs a file, not a folder")
            files = [tf for tf in _all_test_files(project, root) if _is_under(root, tf.path, path)]
            files += [
                tf
                for tf in _extra_test_files(project, root, path)
                if tf.path not in {f.path for f in files}
            ]
            if not files:
                raise SelectionError(f"'{path_text}': no e2e test files in this folder")
        else:
            test_file = _test_file_for(project, root, path)
            if test_file is None:
                raise SelectionError(f"'{path_text}' is not an e2e test file (no `test_cases:`)")
            files = [test_file]
        for test_file in files:
            cases = list(test_file.test_cases)
            if case_name:
                cases = [c for c in cases if c.name == case_name]
                if not cases:
                    known = ", ".join(c.name for c in test_file.test_cases) or "none"
                    raise SelectionError(
                        f"'{raw}': no test case '{case_name}' in {test_file.path} "
                        f"(test cases: {known})"
                    )
            for case in cases:
                key = (test_file.path, case.name, case.source.line)
                if key not in seen:
                    seen.add(key)
                    selected.append((test_file, case))
    return selected


def _resolve(root: Path, text: str, cwd: Path | None) -> Path | None:
    candidate = Path(text).expanduser()
    options = [candidate] if candidate.is_absolute() else [root / candidate]
    if not candidate.is_absolute():
        options.append((cwd or Path.cwd()) / candidate)
    for option in options:
        if option.exists():
            return option.resolve()
    return None


def _all_test_files(project: Project, root: Path) -> list[TestFile]:
    return list(project.test_files)


def _is_under(root: Path, rel: str, folder: Path) -> bool:
    path = (root / rel).resolve()
    return path == folder or folder in path.parents


def _test_file_for(project: Project, root: Path, path: Path) -> TestFile | None:
    for test_file in project.test_files:
        if (root / test_file.path).resolve() == path:
            return test_file
    return _read_test_file(project, root, path)


def _extra_test_files(project: Project, root: Path, folder: Path) -> list[TestFile]:
    """Test files under a folder the loader does not read (outside e2e_tests/, tests/)."""
    known = {(root / tf.path).resolve() for tf in project.test_files}
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".yml", ".yaml") or path.resolve() in known:
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        test_file = _read_test_file(project, root, path, quiet=True)
        if test_file is not None:
            found.append(test_file)
    return found


def _read_test_file(
    project: Project, root: Path, path: Path, quiet: bool = False
) -> TestFile | None:
    """Load a test file the project loader did not (it lies outside the test folders);
    conftest.yml fixtures from its folder and the folders above it (up to the project)
    are merged in, the file's own fixtures winning."""
    from dataclasses import replace

    from workbench.project.e2e import build_fixtures, build_test_file, is_test_file
    from workbench.project.issues import IssueList
    from workbench.project.yaml_io import YamlSyntaxError, parse_yaml

    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), rel)
    except (OSError, UnicodeDecodeError, YamlSyntaxError) as exc:
        if quiet:
            return None
        raise SelectionError(f"{rel}: cannot read the test file: {exc}") from exc
    if not is_test_file(data):
        return None
    issues = IssueList()
    test_file = build_test_file(rel, data, issues)
    if issues.errors:
        raise SelectionError("\n".join(str(issue) for issue in issues.errors))
    shared: dict[str, Any] = {}
    for folder in reversed([path.parent, *path.parent.parents]):
        if folder != root and root not in folder.parents:
            continue
        for name in ("conftest.yml", "conftest.yaml"):
            conftest = folder / name
            if conftest.is_file():
                try:
                    conf = parse_yaml(conftest.read_text(encoding="utf-8"), str(conftest))
                except (OSError, UnicodeDecodeError, YamlSyntaxError):
                    continue
                if isinstance(conf, dict):
                    fixtures, _ = build_fixtures(str(conftest), conf.get("fixtures"), issues)
                    shared.update(fixtures)
    if shared:
        test_file = replace(test_file, fixtures={**shared, **test_file.fixtures})
    return test_file
