"""The engine facade: clean → apply → predict, for one project.

Pure and synchronous. The session drives it: it cleans and applies a message's commands,
then asks for the next action until `action_listen`, running each action in between
(responses and custom actions live outside the engine).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.calm.commands import Command, DroppedCommand
from workbench.calm.external import AgentCallRequest, AgentOutcome, ToolCallRequest, ToolOutcome
from workbench.engine import events as ev
from workbench.engine.builtin_actions import BuiltinActions, Effect
from workbench.engine.command_cleaner import CleanResult, CommandCleaner
from workbench.engine.command_runner import CommandRunner
from workbench.engine.external_calls import settle_agent, settle_tool
from workbench.engine.policy import FlowExecutor, Prediction
from workbench.engine.search import SearchOutcome, settle_search
from workbench.engine.stack_ops import push_validation
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.project.validate import BUILTIN_ACTIONS


@dataclass(frozen=True)
class ActionKind:
    RESPONSE = "response"
    BUILTIN = "builtin"
    CUSTOM = "custom"


class Engine:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.known_actions = frozenset(
            set(project.domain.responses)
            | set(project.domain.actions)
            | set(project.custom_actions)
            | BUILTIN_ACTIONS
        )
        self.cleaner = CommandCleaner(project)
        self.runner = CommandRunner(project)
        self.executor = FlowExecutor(project, self.known_actions)
        self.builtins = BuiltinActions(project)

    def clean(self, commands: list[Command], tracker: Tracker, message: str = "") -> CleanResult:
        return self.cleaner.clean(commands, tracker, message)

    def apply(self, commands: list[Command], tracker: Tracker) -> list[DroppedCommand]:
        skipped = self.runner.run(commands, tracker)
        tracker.log_stack()
        return skipped

    def predict(self, tracker: Tracker) -> Prediction:
        self._validate_corrected_slots(tracker)
        prediction = self.executor.predict(tracker)
        tracker.log_stack()
        return prediction

    def settle_search(self, tracker: Tracker, outcome: SearchOutcome) -> str:
        """The knowledge answer for a `search` prediction: pops the search frame (and
        starts the cannot-handle or internal-error pattern when there is no answer);
        returns the action to run."""
        action = settle_search(self.project, tracker, outcome)
        if outcome.kind == "answer":
            self.builtins.outbox.append(ev.bot(outcome.text, None, outcome.metadata))
        tracker.log_stack()
        return action

    def settle_call(
        self,
        tracker: Tracker,
        request: ToolCallRequest | AgentCallRequest,
        outcome: ToolOutcome | AgentOutcome,
    ) -> str | None:
        """The outcome of the MCP tool call or agent turn a prediction asked for; returns
        the action that utters the agent's message, or None to predict on."""
        if isinstance(request, ToolCallRequest) and isinstance(outcome, ToolOutcome):
            settle_tool(self.project, tracker, request, outcome)
            action = None
        elif isinstance(request, AgentCallRequest) and isinstance(outcome, AgentOutcome):
            action = settle_agent(self.project, tracker, request, outcome, self.builtins.outbox)
        else:
            raise TypeError(f"{type(outcome).__name__} does not settle {type(request).__name__}")
        tracker.log_stack()
        return action

    def _validate_corrected_slots(self, tracker: Tracker) -> None:
        """Rasa validates corrected slots only after the action that follows the
        correction (e.g. "Ok, I am updating ...") has run; the frames go on top, the
        first corrected slot's validation runs first."""
        if not tracker.corrected_to_validate:
            return
        if not tracker.correction_followed:
            tracker.correction_followed = True  # this prediction is that next action
            return
        for name in reversed(tracker.corrected_to_validate):
            push_validation(self.project, tracker, name)
        tracker.corrected_to_validate = []

    def action_kind(self, name: str) -> str:
        if name in self.project.domain.responses:
            return ActionKind.RESPONSE
        if name in BUILTIN_ACTIONS:
            return ActionKind.BUILTIN
        return ActionKind.CUSTOM

    def run_builtin(self, name: str, tracker: Tracker) -> list[Effect]:
        return self.builtins.run(name, tracker)

    def stop_loop(self, tracker: Tracker) -> None:
        """The action cap stopped this turn: end the flows that kept predicting."""
        self.executor.end_top_flows(tracker)
        tracker.log_stack()

    def fail_action(self, tracker: Tracker) -> None:
        """A custom action failed: cancel the flow it belongs to and report an error."""
        self.executor.cancel_for_error(tracker)
