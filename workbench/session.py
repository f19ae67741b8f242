"""The one turn pipeline: understand → clean → apply → execute → record.

The TUI, `calm-tui shell` and `calm-tui test` all drive a `Session`; a behaviour
difference between them is a bug.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.actions.protocol import ActionResult, CustomActionRunner
from workbench.actions.responses import render_response
from workbench.calm.commands import (
    ERROR_DEFAULT,
    ERROR_INPUT_EMPTY,
    ERROR_INPUT_TOO_LONG,
    FROM_ACTION,
    CannotHandle,
    Command,
    DroppedCommand,
    Error,
    Restart,
    SessionEnd,
    SessionStart,
    StartFlow,
)
from workbench.calm.names import (
    ACTION_AGENT_REQUEST_USER_INPUT,
    ACTION_CORRECT_FLOW_SLOT,
    ACTION_RESTART,
    ACTION_SESSION_START,
    UTTER_INTERNAL_ERROR,
)
from workbench.calm.values import JSONObject, SlotValue
from workbench.engine import events as ev
from workbench.engine.builtin_actions import Utter
from workbench.engine.coexistence import (
    NLU_SIDE,
    ROUTE_TO_CALM_SLOT,
    intent_route,
    is_coexistence,
    route_message,
    routing_commands,
)
from workbench.engine.core import ActionKind, Engine
from workbench.engine.flow_edits import FlowEdit, add_new_slots, continue_edited_flows
from workbench.engine.loops import repeating_tail, spell_loop
from workbench.engine.policy import ACTION_LISTEN
from workbench.engine.search import SearchOutcome
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.log import TraceLog
from workbench.trace.records import (
    ActionRun,
    BotMessage,
    CommandRecord,
    DroppedRecord,
    Event,
    KnowledgeRecord,
    RewrittenRecord,
    StackFrame,
    resolve_stack_events,
)
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator, GeneratorFailure, GeneratorOutput
from workbench.understanding.dsl.parser import (
    IntentPayload,
    SetSlotsPayload,
    parse_button_payload,
    parse_commands,
)
from workbench.understanding.rephrase import Rephraser

if TYPE_CHECKING:
    from workbench.agents.caller import ExternalCaller
    from workbench.calm.external import AgentCallRequest, ToolCallRequest
    from workbench.knowledge.service import KnowledgeService
    from workbench.trace.calls import CallRecord

# Rasa's cap on predictions per turn in a CALM assistant (MAX_NUMBER_OF_PREDICTIONS_CALM),
# five times that in a turn that corrects a slot (a correction may walk a long flow)
MAX_ACTIONS_PER_TURN = 1000
CORRECTION_FACTOR = 5
# bounds that keep one turn small whatever is pasted or returned: a message longer than
# this is refused before anything reads it, a custom action's slot value is refused
MAX_MESSAGE_CHARACTERS = 64 * 1024
MAX_SLOT_CHARACTERS = 256 * 1024
# a conversation holding more events than this forgets those before its latest restart
# (they are in the session store), so that a long session stays small
HISTORY_EVENTS = 2000
REFUSED_PREVIEW = 200
INTERNAL_ERROR = UTTER_INTERNAL_ERROR
MESSAGE_KEYS = ("text", "buttons", "image", "attachment", "custom", "elements", "quick_replies")
SPECIAL_INTENTS = {"session_start": SessionStart, "session_end": SessionEnd, "restart": Restart}


class Session:
    def __init__(
        self,
        project: Project,
        generator: CommandGenerator,
        *,
        actions: CustomActionRunner | None = None,
        sender_id: str = "default",
        seed: int = 0,
        channel: str | None = None,
        clock: Callable[[], float] = time.perf_counter,
        rephraser: Rephraser | None = None,
        knowledge: KnowledgeService | None = None,
        calls: ExternalCaller | None = None,
    ) -> None:
        self.project = project
        # answers knowledge questions (Enterprise Search); one the front end shares keeps
        # its knowledge bases across restarts, else one is made at the first question
        self.knowledge = knowledge
        # calls MCP tools and runs sub-agents; wiring gives one that records or replays
        self.calls = calls
        self.clock = clock  # seconds; tests pass a fake one for timings they can assert
        self.generator = generator
        self.actions = actions
        self.channel = channel
        # responses are rephrased when the project's nlg says so (endpoints.yml)
        self.rephraser = rephraser or Rephraser()
        # render, for a message no model sees, the prompt one would get (the TUI's Prompt
        # panel offline); off by default: test runs need no prompt
        self.preview_prompt = False
        self.engine = Engine(project)
        self.tracker = Tracker(project, sender_id=sender_id, seed=seed)
        self.traces = TraceLog()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> list[JSONObject]:
        """Begin the conversation as a new session does (no message, no bot output)."""
        if self.tracker.session_started:
            return []
        first = len(self.tracker.events)
        self.tracker.add(ev.action(ACTION_SESSION_START))
        self.tracker.add(ev.session_started())
        self.tracker.add(ev.action(ACTION_LISTEN))
        return self.tracker.events[first:]

    def set_slots(self, values: Mapping[str, SlotValue]) -> None:
        """Fixture-style slot values (e2e tests), applied after the session started."""
        self.start()
        for name, value in values.items():
            self.tracker.set_slot(name, value)

    def replace_project(
        self, project: Project, actions: CustomActionRunner | bool | None = False
    ) -> list[FlowEdit]:
        """Swap in a reloaded project; the conversation goes on: new slots exist, and a
        running flow that changed continues at its matching step (engine/flow_edits.py),
        or, with `code_change: rasa` or no matching step, is handled by the code-change
        pattern on the next message. Returns what became of each changed running flow.
        Pass `actions` to replace the custom action runner too (e.g. a new endpoint)."""
        old, self.project = self.project, project
        self.engine = Engine(project)
        if actions is not False:
            self.actions = actions  # type: ignore[assignment]
        add_new_slots(project, self.tracker)
        if project.code_change == "rasa":
            return []
        return continue_edited_flows(old, project, self.tracker)

    # -- one turn ------------------------------------------------------------------------------

    async def handle(self, text: str, metadata: JSONObject | None = None) -> TurnTrace:
        clock = self.clock
        started = clock()
        self.start()
        tracker = self.tracker
        tracker.forget_before_restart(HISTORY_EVENTS)
        refused = None
        if len(text) > MAX_MESSAGE_CHARACTERS:
            # a pasted file must not freeze the chat, the model call or the store: the
            # message is refused whole, and only its start is kept to show what it was
            refused = (
                f"message of {len(text) // 1024} KB refused: messages over "
                f"{MAX_MESSAGE_CHARACTERS // 1024} KB are not processed"
            )
            text = text[:REFUSED_PREVIEW] + f"… ({len(text)} characters)"
        trace = TurnTrace(
            index=len(self.traces),
            user_text=text,
            slots_before=_copy(tracker.slots),
            stack_before=_frames(tracker.stack.as_dicts()),
            project_fingerprint=self.project.fingerprint,
            event_offset=tracker.forgotten + len(tracker.events),
        )
        first_event = len(tracker.events)
        if refused is not None:
            trace.errors.append(refused)
            too_long = Error(ERROR_INPUT_TOO_LONG, {"max_characters": MAX_MESSAGE_CHARACTERS})
            output, source = GeneratorOutput([too_long]), "user"
        else:
            output, source = await self._understand(text, trace)
        understood = clock()
        trace.source = source
        trace.raw_output = output.raw_output
        trace.prompt = output.prompt
        trace.prompt_tokens = output.prompt_tokens
        trace.prompt_template = output.prompt_template
        trace.prompt_preview = output.prompt_preview
        trace.retrieved_flows = output.retrieved_flows
        trace.usage = output.usage
        why = [*output.why, *[""] * (len(output.commands) - len(output.why))]
        trace.parsed_commands = [
            CommandRecord.of(c, w) for c, w in zip(output.commands, why, strict=False)
        ]
        tracker.add(ev.user(text, [c.as_dict() for c in output.commands], metadata))
        for notice in output.notices:
            tracker.add(ev.notice(notice))
        cleaned = self.engine.clean(output.commands, tracker, text)
        skipped = self.engine.apply(cleaned.commands, tracker)
        applied = clock()
        runs: list[_ActionCall] = []
        await self._run_actions(runs, trace)
        finished = clock()
        trace.commands = [
            CommandRecord.of(c, _why(c, output.commands, why)) for c in cleaned.commands
        ]
        trace.dropped = [DroppedRecord.of(d) for d in [*output.dropped, *cleaned.dropped, *skipped]]
        trace.rewritten = [RewrittenRecord.of(r) for r in cleaned.rewritten]
        logged = {i - first_event: f for i, f in tracker.logged_stacks.items() if i >= first_event}
        tracker.logged_stacks.clear()
        trace.events = resolve_stack_events(
            trace.stack_before, [Event.from_dict(e) for e in tracker.events[first_event:]], logged
        )
        trace.actions = [run.record(trace.events, first_event) for run in runs]
        trace.bot_messages = [BotMessage.of_event(e) for e in trace.events if e.type == "bot"]
        trace.slots_after = _copy(tracker.slots)
        trace.stack_after = _frames(tracker.stack.as_dicts())
        trace.errors.extend(e.message for e in trace.events if e.type == "error")
        trace.notices.extend(e.message for e in trace.events if e.type == "notice")
        load_error = getattr(self.actions, "load_error", None)
        # a call that could not run says it already
        errors = " ".join(run.error or "" for run in trace.actions)
        already_said = isinstance(load_error, str) and bool(load_error) and load_error in errors
        if load_error and trace.actions and not already_said:
            trace.errors.append(
                f"actions do not load: {load_error} (the last good actions are in use)"
            )
        trace.timings_ms = {
            "understand": (understood - started) * 1000,
            "clean_apply": (applied - understood) * 1000,
            "execute": (finished - applied) * 1000,
            "total": (finished - started) * 1000,
        }
        self.traces.append(trace)
        return trace

    async def _understand(self, text: str, trace: TurnTrace) -> tuple[GeneratorOutput, str]:
        stripped = text.strip()
        if stripped.startswith("/"):
            direct = self._direct(stripped)
            if direct is not None:
                return direct
            text = stripped.lstrip("/")
        limit = self.project.config.command_generator
        max_characters = limit.max_characters if limit else 420
        if not text.strip():
            return GeneratorOutput([Error(ERROR_INPUT_EMPTY)]), "user"
        if 0 <= max_characters < len(text):
            reason = f"message has {len(text)} characters, more than the {max_characters} allowed"
            trace.errors.append(reason)
            return (
                GeneratorOutput([Error(ERROR_INPUT_TOO_LONG, {"max_characters": max_characters})]),
                "user",
            )
        route = route_message(self.project, self.tracker.slots)
        notices = [route.notice] if route.notice else []
        if not route.to_calm:
            return GeneratorOutput([], notices=notices), "user"
        trace.generator = self.generator.name
        try:
            output = await self.generator.generate(text, self.tracker, self.project)
        except Exception as exc:  # a broken generator must not end the conversation
            failure = GeneratorFailure.of(exc)
            trace.errors.append(failure.text)
            output = GeneratorOutput([Error(ERROR_DEFAULT)], failure=failure)
        if self.preview_prompt and output.prompt is None and output.failure is None:
            output.prompt_preview = self._prompt_preview(text, output)
        # as Rasa's generators do after every prediction in a coexistence project
        output.commands = [*output.commands, *routing_commands(self.project)]
        output.notices = [*notices, *output.notices]
        return output, "user"

    def _prompt_preview(self, text: str, output: GeneratorOutput) -> str:
        """The prompt a model would get for `text` now, offered the flows the generator
        ranked (all startable ones when it ranked none)."""
        from workbench.understanding.prompt import PromptTemplateError, render_prompt

        ranked = [self.project.flow(r.flow_id) for r in output.retrieved_flows]
        flows = [f for f in ranked if f is not None] or list(self.project.user_flows)
        try:
            return render_prompt(self.project, self.tracker, text, flows)
        except PromptTemplateError as error:
            return f"(the prompt template does not render: {error})"

    def _direct(self, text: str) -> tuple[GeneratorOutput, str] | None:
        """`/SetSlots(...)` buttons, `/intent` triggers and typed commands skip the model."""
        payload = parse_button_payload(text)
        if isinstance(payload, SetSlotsPayload):
            unknown = [name for name, _ in payload.slots if self.project.slot(name) is None]
            if payload.error or unknown:
                reason = payload.error or f"unknown slot(s) {', '.join(unknown)} void the payload"
                return (
                    GeneratorOutput([CannotHandle()], [DroppedCommand(reason, line=text)]),
                    "button",
                )
            return GeneratorOutput(list(payload.commands())), "button"
        parsed = parse_commands(text.lstrip("/"), "any")
        if any(not isinstance(c, CannotHandle) for c in parsed.commands):
            return GeneratorOutput(list(parsed.commands), list(parsed.dropped), raw_output=text), (
                "direct"
            )
        if isinstance(payload, IntentPayload):
            commands = self._intent_commands(payload.intent)
            if is_coexistence(self.project):
                return self._route_intent(payload.intent, commands), "intent"
            return GeneratorOutput(commands), "intent"
        return None

    def _route_intent(self, intent: str, commands: list[Command]) -> GeneratorOutput:
        """`/intent` in a coexistence project: a domain intent that starts no flow gives
        no command (the NLU side answers it), and Rasa's processor routes the session."""
        if commands == [CannotHandle()] and intent in self.project.domain.intents:
            commands = []
        extra, notice = intent_route(self.project, self.tracker.slots, commands)
        if notice is None and not commands and self.tracker.slots.get(ROUTE_TO_CALM_SLOT) is False:
            notice = NLU_SIDE
        return GeneratorOutput([*commands, *extra], notices=[notice] if notice else [])

    def _intent_commands(self, intent: str) -> list[Command]:
        if intent in SPECIAL_INTENTS:
            return [SPECIAL_INTENTS[intent]()]
        for flow in self.project.flows.values():
            if not flow.is_pattern and any(t.intent == intent for t in flow.nlu_triggers):
                return [StartFlow(flow.id)]
        return [CannotHandle()]

    # -- running actions ----------------------------------------------------------------

    async def _run_actions(self, runs: list[_ActionCall], trace: TurnTrace) -> None:
        followups: list[str] = []
        trail: list[tuple[str, str]] = []
        limit = MAX_ACTIONS_PER_TURN
        while True:
            if followups:
                name, flow_id = followups.pop(0), "followup"
            else:
                prediction = self.engine.predict(self.tracker)
                name, flow_id = prediction.action, prediction.flow_id or "-"
                if prediction.search:
                    name, flow_id = await self._search(trace.knowledge), "search"
                elif prediction.call is not None:
                    settled = await self._call(prediction.call, trace.calls)
                    if settled is None:
                        # a call is a step, not an action: a looping flow is still bounded
                        trail.append((flow_id, f"call {prediction.call}"))
                        if len(trail) >= limit:
                            break
                        continue
                    name = settled
            if name == ACTION_LISTEN:
                self.tracker.add(ev.action(ACTION_LISTEN))
                return
            if name == ACTION_CORRECT_FLOW_SLOT:
                limit = MAX_ACTIONS_PER_TURN * CORRECTION_FACTOR
            if len(trail) >= limit:
                break
            trail.append((flow_id, name))
            followups.extend(await self._run_action(name, runs))
            if name == ACTION_AGENT_REQUEST_USER_INPUT:  # the agent waits for the answer
                self.tracker.add(ev.action(ACTION_LISTEN))
                return
        # Rasa only stops predicting; the looping flows are ended too, so that a `link`
        # cycle does not start over with the next message
        self.engine.stop_loop(self.tracker)
        self.tracker.add(
            ev.error(
                f"action limit: more than {limit} actions in one turn (Rasa's "
                f"MAX_NUMBER_OF_PREDICTIONS_CALM); {spell_loop(trail)}; the flows were ended",
                limit="max_actions",
                loop=[list(pair) for pair in repeating_tail(trail)],
            )
        )
        self.tracker.add(ev.action(ACTION_LISTEN))

    async def _search(self, knowledge: list[KnowledgeRecord]) -> str:
        """Enterprise Search answers the search frame on top of the stack; returns the
        action that follows (the answer sent, or the pattern the engine started)."""
        if self.knowledge is None:
            from workbench.knowledge.service import KnowledgeService

            self.knowledge = KnowledgeService()
        try:
            answered = await self.knowledge.answer(self.project, self.tracker)
        except Exception as exc:  # a bug there must not end the conversation
            outcome = SearchOutcome("error", reason=f"knowledge answer failed: {exc!r}")
        else:
            outcome = answered.outcome
            knowledge.append(answered.record)
        return self.engine.settle_search(self.tracker, outcome)

    async def _call(
        self, request: ToolCallRequest | AgentCallRequest, records: list[CallRecord]
    ) -> str | None:
        """Make the MCP tool call or agent turn the engine asked for; returns the action
        the engine settles on (None: go on predicting)."""
        if self.calls is None:
            from workbench.agents.caller import ExternalCaller

            self.calls = ExternalCaller()
        # imported at the first call step: a conversation without one need not load them
        from workbench.agents.caller import failed_agent_turn, failed_tool_call
        from workbench.agents.given import agent_input
        from workbench.calm.external import AgentOutcome, ToolCallRequest, ToolOutcome

        outcome: ToolOutcome | AgentOutcome
        try:
            if isinstance(request, ToolCallRequest):
                outcome, record = await self.calls.call_tool(self.project, request)
            else:
                given = agent_input(self.project, self.tracker, request)
                outcome, record = await self.calls.run_agent(self.project, request, given)
        except Exception as exc:  # a bug there must not end the conversation
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(request, ToolCallRequest):
                outcome, record = failed_tool_call(request, reason)
            else:
                outcome, record = failed_agent_turn(request, reason)
        records.append(record)
        return self.engine.settle_call(self.tracker, request, outcome)

    async def _run_action(self, name: str, runs: list[_ActionCall]) -> list[str]:
        tracker = self.tracker
        kind = self.engine.action_kind(name)
        started = self.clock()
        first = len(tracker.events)
        tracker.add(ev.action(name))
        followups: list[str] = []
        custom = _CustomRun()
        if kind == ActionKind.RESPONSE:
            await self.utter(name)
        elif kind == ActionKind.BUILTIN:
            for effect in self.engine.run_builtin(name, tracker):
                if isinstance(effect, Utter):
                    await self.utter(effect.response, effect.kwargs)
                else:
                    tracker.add(effect)
        else:
            followups = await self._run_custom(name, custom)
            kind = custom.kind
        # made into records with the turn's events, once the turn is over
        runs.append(
            _ActionCall(
                name, kind, (self.clock() - started) * 1000, first + 1, len(tracker.events), custom
            )
        )
        return followups

    async def _run_custom(self, name: str, run: _CustomRun) -> list[str]:
        tracker = self.tracker
        if self.actions is None:
            result = ActionResult(kind="none", error=f"no custom action runner for '{name}'")
        else:
            try:
                result = await self.actions.run(name, tracker, self.project)
            except Exception as exc:  # runners report errors, but a bug there must not crash
                result = ActionResult(
                    error=f"action '{name}' failed: {exc!r}", traceback=traceback.format_exc()
                )
        run.kind = result.kind
        run.log_lines = list(getattr(result, "log_lines", None) or [])
        run.warnings = list(getattr(self.actions, "warnings", None) or [])
        followups: list[str] = []
        problem = result.error
        if problem is None:
            try:
                for message in result.messages:
                    await self.send(message)
                followups = self.apply_action_events(result.events)
            except (TypeError, ValueError, KeyError) as exc:
                problem = f"action '{name}' returned something malformed: {exc}"
        if problem is not None:
            run.error = problem
            run.traceback = result.traceback
            tracker.add(ev.error(problem, action=name))
            self.engine.fail_action(tracker)
        return followups

    def apply_action_events(self, events: Sequence[object]) -> list[str]:
        """Apply Rasa event dicts a custom action returned; returns follow-up actions."""
        followups = []
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                raise ValueError(f"not an event: {event!r}")
            kind = event["event"]
            if kind == "slot":
                if not isinstance(event.get("name"), str):
                    raise ValueError(f"slot event without a name: {event!r}")
                size = len(json.dumps(event.get("value"), default=str))
                if size > MAX_SLOT_CHARACTERS:
                    raise ValueError(
                        f"slot '{event['name']}' set to a value of {size // 1024} KB, more "
                        f"than the {MAX_SLOT_CHARACTERS // 1024} KB a slot may hold"
                    )
                self.tracker.set_slot(event["name"], event.get("value"), FROM_ACTION)
            elif kind == "followup":
                followups.append(str(event["name"]))
            elif kind == "reset_slots":
                for slot_name, slot in self.project.domain.slots.items():
                    self.tracker.set_slot(slot_name, slot.initial_value)
            elif kind == "restart":
                self.engine.run_builtin(ACTION_RESTART, self.tracker)
            elif kind == "bot":
                self.tracker.add(
                    ev.bot(event.get("text"), event.get("data"), event.get("metadata"))
                )
            else:
                self.tracker.add(dict(event))
        return followups

    # -- responses ----------------------------------------------------------------------

    async def send(self, message: JSONObject) -> None:
        """A dispatcher message: a response by name (with kwargs) or literal content."""
        if not isinstance(message, dict):
            raise ValueError(f"not a message: {message!r}")
        name = message.get("response") or message.get("template")
        if name:
            kwargs = {
                k: v
                for k, v in message.items()
                if k not in ("response", "template") and not (k in MESSAGE_KEYS and not v)
            }
            await self.utter(str(name), kwargs)
            return
        data = {k: message[k] for k in MESSAGE_KEYS[1:] if message.get(k)}
        text = message.get("text")
        self.tracker.add(ev.bot(None if text is None else str(text), data))

    async def utter(self, name: str, kwargs: JSONObject | None = None) -> None:
        response = self.project.response(name)
        message = None
        if response is not None:
            message = render_response(
                response,
                slots=self.tracker.slots,
                context=self.tracker.context(),
                kwargs=kwargs or {},
                rng=self.tracker.rng,
                channel=self.channel,
                language=self.tracker.language,
                default_language=self.project.config.language,
            )
        if message is None and name != INTERNAL_ERROR:
            self.tracker.add(ev.error(f"response '{name}' has no variation to send"))
            await self.utter(INTERNAL_ERROR)
            return
        if message is not None and response is not None:
            event = message.as_event()
            # a model call: it runs inside the turn, off any front end's event loop
            await self.rephraser.apply(event, response, self.project, self.tracker)
            self.tracker.add(event)


def _copy(slots: Mapping[str, SlotValue]) -> dict[str, SlotValue]:
    """A snapshot of the slots: most values are strings, numbers or None, which need no
    copy; only lists and mappings are copied (deeply), so a later change cannot reach in."""
    import copy

    return {
        name: copy.deepcopy(value) if isinstance(value, (list, dict)) else value
        for name, value in slots.items()
    }


@dataclass
class _ActionCall:
    """An action that ran, by where its events are in the tracker."""

    name: str
    kind: str
    duration_ms: float
    first: int  # its first event (after its own `action` event)
    end: int
    custom: _CustomRun

    def record(self, events: list[Event], offset: int) -> ActionRun:
        own = tuple(events[self.first - offset : self.end - offset])
        return ActionRun(
            name=self.name,
            kind=self.kind,
            duration_ms=self.duration_ms,
            events=own,
            messages=tuple(BotMessage.of_event(e) for e in own if e.type == "bot"),
            error=self.custom.error,
            traceback=self.custom.traceback,
            warnings=tuple(self.custom.warnings),
            log_lines=tuple(self.custom.log_lines),
        )


@dataclass
class _CustomRun:
    """What a custom action call reported, gathered while it runs."""

    kind: str = "python"
    error: str | None = None
    traceback: str | None = None
    warnings: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)


def _frames(frames: Sequence[JSONObject]) -> list[StackFrame]:
    return [StackFrame.from_dict(f) for f in frames]


def _why(command: Command, parsed: list[Command], why: list[str]) -> str:
    """The reason recorded for the parsed command the cleaner kept as `command`."""
    for candidate, reason in zip(parsed, why, strict=False):
        if candidate == command:
            return reason
    return ""
