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
import time
from collections.abc import Callable, Sequence

from workbench.calm.values import JSONObject
from workbench.engine.events import Event
from workbench.project.loader import with_rasa_version
from workbench.project.model import Project, TestCase, TestFile
from workbench.session import CustomActionRunner, Session
from workbench.testing.assertions import (
    LLM_JUDGE_ASSERTIONS,
    assertion_kind,
    check_step,
    run_assertion,
)
from workbench.testing.case_data import (
    fixture_slots,
    merge_metadata,
    named_metadata,
    stub_case_name,
)
from workbench.testing.judge import Judge, judge_config
from workbench.testing.other_version import advice, other_rasa_version, rerun_generator
from workbench.testing.results import (
    FAILED,
    PASSED,
    SKIPPED,
    CaseResult,
    Failure,
    RunResult,
    TurnView,
    new_run_id,
)
from workbench.testing.selection import SelectionError, select_cases
from workbench.testing.turn_view import (
    assertion_source,
    command_text,
    describe_assertion,
    describe_step,
    generator_failure,
    split_turn,
    trace_for,
    turn_view,
)
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator
from workbench.understanding.tape import ModelTape
from workbench.wiring import Options, generator_tape, make_actions, new_session

# what other modules have always imported from here
__all__ = [
    "FAILED",
    "PASSED",
    "SKIPPED",
    "CaseResult",
    "E2ERunner",
    "Failure",
    "RunResult",
    "SelectionError",
    "TurnView",
    "command_text",
    "run_tests",
    "select_cases",
    "split_turn",
]

ORDER_HINT = " (assertion_order_enabled: check the order in which the assertions are listed)"
DEFAULT_SEED = 0


# --- custom actions --------------------------------------------------------------------------


def _project_runner(
    project: Project, factory: Callable[[Project], CustomActionRunner | None] | None
) -> tuple[CustomActionRunner | None, str | None]:
    """The runner the project declares (or `factory` makes, e.g. with `--actions`)."""
    try:
        return (factory or make_actions)(project), None
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
        tape: ModelTape | None = None,
        offline: bool = False,
    ) -> None:
        """`actions`: the runner for custom actions that are not stubbed (default: the
        in-process runner for the project's actions package, when available).
        `rasa_version`: the behaviour profile to run under (default: the project's);
        `try_other_version`: run failing cases again under the other profile.
        `tape`: the other model calls (rephrasing, judges), by default the generator's
        (replayed from or recorded into its cassette); `offline`: call no model."""
        if rasa_version is not None:
            project = with_rasa_version(project, rasa_version)
        self.project = project
        self.try_other_version = try_other_version
        self._other_project: Project | None = None
        self.generator = generator
        self.tape = tape or generator_tape(generator)
        self.offline = offline
        self.seed = seed
        self.notes: list[str] = []
        # unique per run, so that actions keeping per-conversation state (keyed by the
        # sender id) start afresh each run, as Rasa's runner does with a timestamp
        self.run_id = run_id if run_id is not None else new_run_id()
        self._counter = itertools.count(1)
        self._place: int | None = None  # the running case's place in the selection
        self._conversations = 0
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

    def prepare_actions(self) -> None:
        """Make the project's action runner now and load what it runs in this process
        (in-process actions), before workers are forked from it."""
        prepare = getattr(self._fallback_runner(), "prepare", None)
        if callable(prepare):
            prepare(self.project)

    def actions_for(self, test_file: TestFile, case: TestCase) -> CustomActionRunner | None:
        fallback = self._fallback_runner()
        if not test_file.stub_custom_actions:
            return fallback
        from workbench.actions.stubs import StubbedActions

        return StubbedActions(test_file.stub_custom_actions, stub_case_name(case.name), fallback)

    # -- one case ----------------------------------------------------------------------------

    def sender_id(self, case: TestCase) -> str:
        """`<case>_<run id>_<N>`: N is the case's place in the selection (`at_place`), so
        a case gets the same id in a serial run and in whichever worker of a parallel
        run (`parallel.py`) runs it; the case's second conversation (under the other Rasa
        version) gets `N.2`. Without a place (`run_case` alone) N counts conversations."""
        if self._place is None:
            return f"{case.name}_{self.run_id}_{next(self._counter)}"
        self._conversations += 1
        again = f".{self._conversations}" if self._conversations > 1 else ""
        return f"{case.name}_{self.run_id}_{self._place}{again}"

    def at_place(self, place: int) -> None:
        """The next `run_case` runs the case at `place` (from 1) of the selection."""
        self._place, self._conversations = place, 0

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
        session = new_session(
            project,
            generator,
            actions=self.actions_for(test_file, case),
            sender_id=sender_id,
            seed=self.seed,
            tape=self.tape,
            offline=self.offline,
        )
        if (test_file.stub_tools or test_file.stub_agents) and session.calls is not None:
            from workbench.agents.stubs import CallStubs

            session.calls.stubs = CallStubs(
                test_file.stub_tools, test_file.stub_agents, stub_case_name(case.name)
            )
        session.start()
        for slot, value in fixture_slots(test_file, case, result.notes):
            session.set_slots({slot: value})
        # turn −1: session start and fixture slot events
        turn_events: list[Event] = list(session.tracker.events)
        turn_trace: TurnTrace | None = None
        case_metadata = named_metadata(test_file, case.metadata, result.notes)
        step_failure: Failure | None = None
        for index, step in enumerate(case.steps):
            if step.kind == "user":
                text = str(step.value)
                if not text:
                    result.notes.append(f"{step.source}: a user step without text is skipped")
                    continue
                metadata = merge_metadata(
                    case_metadata, named_metadata(test_file, step.metadata, result.notes)
                )
                turn_trace = await session.handle(text, metadata)
                result.traces.append(turn_trace)
                tracker = session.tracker
                turn_events = tracker.events[turn_trace.event_offset - tracker.forgotten :]
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
            failure = await self._judge_assertions(
                test_file, case, session, case_metadata, result.notes
            )
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

    async def _judge_assertions(
        self,
        test_file: TestFile,
        case: TestCase,
        session: Session,
        case_metadata: JSONObject,
        notes: list[str],
    ) -> Failure | None:
        events = session.tracker.events
        judge = Judge(session.project, self.tape, self.offline)
        for index, step in enumerate(case.steps):
            if step.kind != "user" or not step.assertions:
                continue
            text = str(step.value)
            wanted_metadata = None
            if step.metadata:
                wanted_metadata = merge_metadata(
                    case_metadata, named_metadata(test_file, step.metadata, [])
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
            trace = trace_for(session, turn[0])
            for assertion in step.assertions:
                kind = assertion_kind(assertion)
                if kind in LLM_JUDGE_ASSERTIONS:
                    config = judge_config(session.project.root, test_file.path)
                    verdict = await judge.run(kind, assertion[kind], turn, text, config)
                    reason, match = verdict.failure, verdict.event
                    if verdict.note:
                        notes.append(f"{assertion_source(step, assertion)}: {verdict.note}")
                else:
                    reason, match = run_assertion(assertion, turn, prior, first_step=index == 0)
                if reason is not None:
                    if step.assertion_order_enabled:
                        reason += ORDER_HINT
                    return Failure(
                        "assertion",
                        reason,
                        assertion_source(step, assertion),
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
        for place, (test_file, case) in enumerate(selected, 1):
            if stop:
                result = not_run(test_file, case)
            else:
                if on_start is not None:
                    on_start(test_file, case)
                self.at_place(place)
                result = await self.run_case(test_file, case)
                stop = fail_fast and result.status == FAILED
            results.append(result)
            if on_result is not None:
                on_result(result)
        self._place = None
        return RunResult(
            results,
            notes=list(self.notes),
            generator=getattr(self.generator, "name", ""),
            duration_s=time.perf_counter() - started,
            rasa_version=self.project.rasa_version,
        )


def options_runner(
    project: Project,
    generator: CommandGenerator,
    options: Options,
    *,
    seed: int,
    run_id: str,
    try_other_version: bool = True,
) -> E2ERunner:
    """The runner of `calm-tui test` for the command line's options: made so in the
    parent and in each worker of `-n N`, so that a case runs the same in any of them.
    It makes the action runner when a case first needs one, and stops it."""
    return E2ERunner(
        project,
        generator,
        seed=seed,
        run_id=run_id,
        actions=lambda p: make_actions(p, options),
        offline=options.offline,
        try_other_version=try_other_version,
    )


def not_run(test_file: TestFile, case: TestCase) -> CaseResult:
    """The result of a case that `--fail-fast` kept from running."""
    result = CaseResult(test_file.path, case.name, SKIPPED, source=case.source)
    result.notes.append("not run: --fail-fast stopped the run")
    return result


def run_tests(
    project: Project,
    selected: Sequence[tuple[TestFile, TestCase]],
    generator: CommandGenerator,
    *,
    actions: CustomActionRunner | Callable[[Project], CustomActionRunner | None] | None = None,
    seed: int = DEFAULT_SEED,
    run_id: str | None = None,
    rasa_version: str | None = None,
    try_other_version: bool = True,
    fail_fast: bool = False,
    on_start: Callable[[TestFile, TestCase], None] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> RunResult:
    """Synchronous convenience: build an E2ERunner (see it for the options) and run the
    cases in a new event loop."""
    runner = E2ERunner(
        project,
        generator,
        actions=actions,
        seed=seed,
        run_id=run_id,
        rasa_version=rasa_version,
        try_other_version=try_other_version,
    )
    return asyncio.run(
        runner.run(selected, fail_fast=fail_fast, on_start=on_start, on_result=on_result)
    )
