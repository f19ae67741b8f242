"""Running dialogue-understanding tests: only the command generator is tested.

As `rasa test du` does, the conversation of a test case is first played with the
expected commands standing in for the model, so that the state before each user message
(slots, the dialogue stack, the bot's messages) is what the test describes; at each user
message the command generator under test predicts its commands from that state, and its
prediction is compared with the expected commands. A wrong prediction therefore never
derails the later turns: each turn is judged on its own.

The conversation itself runs offline (knowledge answers, rephrasing: no model), custom
actions as in e2e tests (stubs from the file, else the project's action runner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from workbench.actions.protocol import CustomActionRunner
from workbench.calm.commands import Command
from workbench.engine.tracker import Tracker
from workbench.project.model import Project, Source
from workbench.testing.case_data import fixture_slots, merge_metadata, named_metadata
from workbench.testing.du import DUCase, differences
from workbench.understanding.base import CommandGenerator, GeneratorOutput
from workbench.understanding.dsl.parser import SetSlotsPayload, parse_button_payload
from workbench.wiring import new_session


@dataclass(frozen=True)
class TurnResult:
    case: str
    source: Source
    text: str
    expected: tuple[Command, ...]
    predicted: tuple[Command, ...]
    error: str | None = None  # the generator failed

    @property
    def missing(self) -> list[Command]:
        return differences(self.expected, self.predicted)[1]

    @property
    def unexpected(self) -> list[Command]:
        return differences(self.expected, self.predicted)[2]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.missing and not self.unexpected


@dataclass
class TypeScore:
    """How one command type fared: matched, expected but missing, predicted but wrong."""

    matched: int = 0
    missing: int = 0
    unexpected: int = 0

    @property
    def precision(self) -> float | None:
        total = self.matched + self.unexpected
        return self.matched / total if total else None

    @property
    def recall(self) -> float | None:
        total = self.matched + self.missing
        return self.matched / total if total else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None


@dataclass
class DURun:
    turns: list[TurnResult] = field(default_factory=list)
    cases: dict[str, bool] = field(default_factory=dict)  # case → all its turns passed

    @property
    def ok(self) -> bool:
        return all(turn.passed for turn in self.turns)

    def scores(self) -> dict[str, TypeScore]:
        """Per command type (`start flow`, `set slot`, ...), over every turn."""
        scores: dict[str, TypeScore] = {}
        for turn in self.turns:
            matched, missing, unexpected = differences(turn.expected, turn.predicted)
            for commands, attribute in (
                (matched, "matched"),
                (missing, "missing"),
                (unexpected, "unexpected"),
            ):
                for command in commands:
                    score = scores.setdefault(command.name, TypeScore())
                    setattr(score, attribute, getattr(score, attribute) + 1)
        return dict(sorted(scores.items()))


class ExpectedCommands:
    """Stands in for the model while the conversation is played: the next user message
    gets the commands the test expects for it."""

    name = "expected commands"

    def __init__(self) -> None:
        self.next: tuple[Command, ...] = ()

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        return GeneratorOutput(list(self.next))


ActionsFor = Callable[[DUCase], CustomActionRunner | None]


async def run_du_cases(
    project: Project,
    generator: CommandGenerator,
    cases: Iterable[DUCase],
    actions_for: ActionsFor | None = None,
) -> DURun:
    run = DURun()
    for du_case in cases:
        turns = await run_du_case(project, generator, du_case, actions_for)
        run.turns.extend(turns)
        run.cases[f"{du_case.test_file.path}::{du_case.case.name}"] = all(t.passed for t in turns)
    return run


async def run_du_case(
    project: Project,
    generator: CommandGenerator,
    du_case: DUCase,
    actions_for: ActionsFor | None = None,
) -> list[TurnResult]:
    test_file, case = du_case.test_file, du_case.case
    expected_commands = ExpectedCommands()
    actions = actions_for(du_case) if actions_for is not None else None
    session = new_session(
        project,
        expected_commands,
        actions=actions,
        sender_id=f"du_{case.name}",
        offline=True,
    )
    session.start()
    notes: list[str] = []
    for slot, value in fixture_slots(test_file, case, notes):
        session.set_slots({slot: value})
    case_metadata = named_metadata(test_file, case.metadata, notes)
    turns: list[TurnResult] = []
    for step, expected in zip(case.steps, du_case.commands, strict=True):
        if step.kind != "user" or expected is None or not str(step.value):
            continue
        text = str(step.value)
        predicted, error = await _predict(generator, text, session.tracker, project)
        turns.append(TurnResult(case.name, step.source, text, expected, predicted, error))
        expected_commands.next = expected
        metadata = merge_metadata(case_metadata, named_metadata(test_file, step.metadata, notes))
        await session.handle(text, metadata)
    return turns


async def _predict(
    generator: CommandGenerator, text: str, tracker: Tracker, project: Project
) -> tuple[tuple[Command, ...], str | None]:
    payload = parse_button_payload(text.strip())
    if isinstance(payload, SetSlotsPayload):
        # a button's slots never reach the generator (Rasa's CommandPayloadReader)
        return payload.commands(), payload.error
    try:
        output = await generator.generate(text, tracker, project)
    except Exception as error:  # the generator under test failed: this turn fails
        return (), f"the command generator failed: {error}"
    failure = output.failure.text if output.failure is not None else None
    return tuple(output.commands), failure


def failing(turns: Sequence[TurnResult]) -> list[TurnResult]:
    return [turn for turn in turns if not turn.passed]
