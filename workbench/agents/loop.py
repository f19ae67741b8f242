"""One turn of a `rasa`-protocol sub-agent: the model loop behind `call: <agent>`.

It follows Rasa Pro's MCP agents: a *task agent* when the call step has `exit_if` (it
gets a `set_slot_<name>` tool per exit slot it may fill, and ends when every exit
condition holds), an *open agent* otherwise (it gets `task_completed` and ends when it
calls it). Each model step sees the system prompt, the conversation and the tool
exchange so far, and answers with text (a question to the user: the turn ends waiting
for input) or tool calls (run, answered, and the loop goes on).

Where Rasa differs from what we do, on purpose:
- a `set_slot_` call for a slot the agent was not offered ends the run with a fatal
  error at once (Rasa lets the model retry once); a tool result that talks the model
  into setting another slot must have no effect but a visible error;
- running out of model steps is a fatal error (Rasa completes with a canned message),
  which the engine turns into `pattern_internal_error`;
- a model step that ends the turn keeps its text as the outcome's message, which the
  session utters (Rasa has already sent it to the channel).

The model and the tools come in as parameters (`ChatCall`, `Tools`), so a recorded run
replays with neither (`tape.py`).
"""

from __future__ import annotations

import builtins
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from workbench.agents.chat import ChatCall, ChatReply, ToolCall
from workbench.agents.exits import (
    SET_SLOT_PREFIX,
    exit_error,
    exit_met,
    exit_slots,
    settable_slots,
    slot_value,
)
from workbench.agents.prompt import SystemPrompt, render_agent_prompt
from workbench.calm.external import (
    COMPLETED,
    FATAL_ERROR,
    INPUT_REQUIRED,
    RECOVERABLE_ERROR,
    AgentInput,
    AgentOutcome,
    AgentSlot,
    AgentStep,
    McpError,
    ToolResult,
    ToolSpec,
)
from workbench.calm.values import JSONObject, SlotValue
from workbench.project.model import SubAgent
from workbench.understanding.llm import LLMError
from workbench.understanding.models import ModelSpec
from workbench.understanding.prompt_files import PromptTemplateError

MAX_STEPS = 10  # Rasa's MAX_ITERATIONS
MAX_HISTORY_MESSAGES = 10  # the transcript's last user/assistant messages the model sees
MAX_BAD_CALL_RETRIES = 1  # steps that may name a missing tool before the run fails
TASK_COMPLETED = "task_completed"
MAX_LISTED_TOOLS = 30


class Tools(Protocol):
    """The MCP tools an agent may call (its servers' tools after their include/exclude
    filters). Both raise McpError when a server cannot answer."""

    async def list(self) -> builtins.list[ToolSpec]: ...

    async def call(self, name: str, arguments: JSONObject) -> ToolResult: ...


async def run_agent(
    agent: SubAgent,
    given: AgentInput,
    tools: Tools,
    model: ModelSpec,
    complete: ChatCall,
    max_steps: int = MAX_STEPS,
    *,
    root: Path,
    now: datetime | None = None,
) -> AgentOutcome:
    """Run `agent` until it needs the user, completes, or fails. `root`: the project
    folder (a `prompt_template` is relative to it); `now`: the clock for the prompt."""
    run = _Run(given=given, model=model.model, started=time.perf_counter())
    try:
        run.prompt = render_agent_prompt(agent, given, root=root, now=now)
        offered = await tools.list()
    except (PromptTemplateError, McpError) as error:
        return run.end(FATAL_ERROR, error=str(error))
    problem = exit_error(given.exit_if)
    if problem is not None:
        run.steps.append(AgentStep("exit_check", error=problem))
        return run.end(FATAL_ERROR, error=problem)
    functions, names = _functions(given, offered)
    history = conversation_messages(given)
    bad_steps = 0
    for step in range(max_steps):
        messages: list[JSONObject] = [
            {"role": "system", "content": run.prompt},
            *history,
            *run.exchange,
        ]
        # after `task_completed` without a message, only it stays offered: some
        # providers refuse a tool exchange in a request that offers no tools
        offer = [functions[-1]] if run.completing else functions
        outcome = await run.model_step(complete, messages, offer)
        if isinstance(outcome, AgentOutcome):
            return outcome
        reply = outcome
        if not reply.tool_calls:
            return run.text_only(reply)
        if run.completing:
            return run.end(COMPLETED, message=reply.text or None)
        run.exchange.append(_assistant_message(reply))
        bad_call: str | None = None
        for call in reply.tool_calls:
            ended = await run.tool_step(call, tools, names, reply)
            if isinstance(ended, AgentOutcome):
                return ended
            bad_call = ended or bad_call
        if run.task:
            ended = run.exit_check(reply.text or None)
            if ended is not None:
                return ended
        if bad_call is not None:
            bad_steps += 1
            if bad_steps > MAX_BAD_CALL_RETRIES or step == max_steps - 1:
                return run.end(FATAL_ERROR, error=bad_call)
    return run.end(FATAL_ERROR, error=f"the agent did not finish within {max_steps} model steps")


@dataclass
class _Run:
    given: AgentInput
    model: str
    started: float
    prompt: SystemPrompt | None = None
    steps: list[AgentStep] = field(default_factory=list)
    exchange: list[JSONObject] = field(default_factory=list)
    values: dict[str, SlotValue] = field(default_factory=dict)
    initial: dict[str, SlotValue] = field(default_factory=dict)
    settable: frozenset[str] = frozenset()
    exits: tuple[AgentSlot, ...] = ()
    completing: bool = False  # an open agent called task_completed without a message

    def __post_init__(self) -> None:
        self.values = {slot.name: slot.value for slot in self.given.slots}
        self.initial = dict(self.values)
        self.exits = exit_slots(self.given)
        self.settable = frozenset(slot.name for slot in settable_slots(self.given))

    @property
    def task(self) -> bool:
        return bool(self.given.exit_if)

    # -- one model step -------------------------------------------------------------------

    async def model_step(
        self, complete: ChatCall, messages: list[JSONObject], functions: list[JSONObject]
    ) -> ChatReply | AgentOutcome:
        started = time.perf_counter()
        try:
            reply = await complete(messages, functions)
        except LLMError as error:
            self.steps.append(
                AgentStep("model", name=self.model, error=str(error), latency_ms=_since(started))
            )
            return self.end(FATAL_ERROR, error=f"the agent's model failed: {error}")
        self.steps.append(
            AgentStep(
                "model",
                name=reply.model or self.model,
                text=reply.text or None,
                tool_calls=tuple(call.as_dict() for call in reply.tool_calls),
                latency_ms=reply.latency_ms,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                cost=reply.cost,
            )
        )
        if reply.model:
            self.model = reply.model
        return reply

    def text_only(self, reply: ChatReply) -> AgentOutcome:
        if not reply.text:
            return self.end(
                RECOVERABLE_ERROR, error="the model answered with neither text nor a tool call"
            )
        if self.completing:
            return self.end(COMPLETED, message=reply.text)
        if self.task:
            ended = self.exit_check(reply.text)
            if ended is not None:
                return ended
        return self.end(INPUT_REQUIRED, message=reply.text)

    # -- one tool call ----------------------------------------------------------------------

    async def tool_step(
        self, call: ToolCall, tools: Tools, names: list[str], reply: ChatReply
    ) -> AgentOutcome | str | None:
        """Run `call` and answer it in the exchange. An outcome ends the run; a string
        says the call named a missing tool (or had unreadable arguments): the model is
        told so and may correct itself."""
        if call.error is not None:
            self.steps.append(AgentStep("tool", name=call.name, error=call.error))
            self._answer(call, f"Error: `{call.name}` was not run: {call.error}.")
            return f"the tool call {call.name} has unreadable arguments: {call.error}"
        if call.name.startswith(SET_SLOT_PREFIX):  # no MCP tool has such a name
            return self._set_slot(call)
        if call.name not in names:
            self.steps.append(
                AgentStep(
                    "tool", name=call.name, arguments=call.arguments, error="not an available tool"
                )
            )
            self._answer(call, _unavailable(call.name, names))
            return f"Tool {call.name} is not available"
        if call.name == TASK_COMPLETED and not self.task:
            self.steps.append(AgentStep("tool", name=TASK_COMPLETED, result="Task completed"))
            if reply.text:
                return self.end(COMPLETED, message=reply.text)
            self._ask_for_closing(call)
            return None
        return await self._mcp_tool(call, tools)

    def _set_slot(self, call: ToolCall) -> AgentOutcome | None:
        name = call.name[len(SET_SLOT_PREFIX) :]
        raw = call.arguments.get("slot_value")
        if not self.task or name not in self.settable or "slot_value" not in call.arguments:
            self.steps.append(
                AgentStep("set_slot", name=call.name, arguments=call.arguments, error="not allowed")
            )
            why = (
                f"the agent tried to set the slot '{name}' with {call.name}; it may only "
                "set the slots its exit conditions name that a model may fill"
                if name not in self.settable
                else f"{call.name} was called without a slot_value"
            )
            return self.end(FATAL_ERROR, error=why)
        value = slot_value(raw)
        self.values[name] = value
        self.steps.append(
            AgentStep("set_slot", name=call.name, arguments=call.arguments, result=value)
        )
        self._answer(call, f"The slot {name} is now {json.dumps(value, ensure_ascii=False)}.")
        return None

    def _ask_for_closing(self, call: ToolCall) -> None:
        """`task_completed` without a message: one more step asks the model for the
        closing words (Rasa does the same, with tools withheld)."""
        self._answer(call, "Task completed.")
        self.completing = True
        self.exchange.append(
            {
                "role": "system",
                "content": "The task is complete and this is your last reply. Do not call "
                "any tool; write one short, natural closing sentence to the user.",
            }
        )

    async def _mcp_tool(self, call: ToolCall, tools: Tools) -> AgentOutcome | None:
        started = time.perf_counter()
        try:
            result = await tools.call(call.name, call.arguments)
        except McpError as error:
            self.steps.append(
                AgentStep(
                    "tool",
                    name=call.name,
                    arguments=call.arguments,
                    error=str(error),
                    latency_ms=_since(started),
                )
            )
            return self.end(FATAL_ERROR, error=f"tool {call.name} failed: {error.reason}")
        latency = _since(started)
        shown = tool_text(result)
        failure = (shown or "the tool reported an error") if result.is_error else None
        self.steps.append(
            AgentStep(
                "tool",
                name=call.name,
                arguments=call.arguments,
                result=result.wire,
                error=failure,
                latency_ms=latency,
            )
        )
        if result.is_error:
            return self.end(FATAL_ERROR, error=f"tool {call.name} failed: {failure}")
        if not shown:
            return self.end(RECOVERABLE_ERROR, error=f"tool {call.name} returned no content")
        self._answer(call, shown)
        return None

    def _answer(self, call: ToolCall, content: str) -> None:
        self.exchange.append({"role": "tool", "tool_call_id": call.id, "content": content})

    # -- the exit ---------------------------------------------------------------------------

    def exit_check(self, message: str | None) -> AgentOutcome | None:
        met = exit_met(self.given.exit_if, self.values)
        checked = {slot.name: self.values.get(slot.name) for slot in self.exits}
        self.steps.append(AgentStep("exit_check", arguments={"slots": checked}, result=met))
        return self.end(COMPLETED, message=message) if met else None

    def end(
        self, status: str, message: str | None = None, error: str | None = None
    ) -> AgentOutcome:
        # only the exit slots ever leave the agent, and only those it changed
        changed = tuple(
            (slot.name, self.values[slot.name])
            for slot in self.exits
            if self.values.get(slot.name) != self.initial.get(slot.name)
        )
        return AgentOutcome(
            status=status,
            message=message,
            slots=changed,
            error=error,
            steps=tuple(self.steps),
            prompt=str(self.prompt) if self.prompt is not None else None,
            model=self.model,
            duration_ms=_since(self.started),
        )


# --- what the model is sent ------------------------------------------------------------------


def conversation_messages(given: AgentInput) -> list[JSONObject]:
    """The transcript's last user/assistant messages, ending with the user's message
    (added when the transcript does not end with it)."""
    messages: list[JSONObject] = []
    for line in given.conversation.splitlines():
        role, text = _speaker(line)
        if role is not None:
            messages.append({"role": role, "content": text})
        elif messages and line.strip():  # a message that runs over several lines
            messages[-1]["content"] = f"{messages[-1]['content']}\n{line}"
    messages = [m for m in messages if m["content"]][-MAX_HISTORY_MESSAGES:]
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), None)
    if given.user_message and last_user != given.user_message:
        messages.append({"role": "user", "content": given.user_message})
    return messages


def _speaker(line: str) -> tuple[str | None, str]:
    for prefix, role in (("USER:", "user"), ("AI:", "assistant")):
        if line.startswith(prefix):
            return role, line[len(prefix) :].strip()
    return None, line


def _functions(given: AgentInput, offered: list[ToolSpec]) -> tuple[list[JSONObject], list[str]]:
    """The tools in OpenAI's function format and their names: the MCP tools, then the
    built-ins last. An MCP tool named like a built-in is left out: the built-ins are
    what the run relies on to end."""
    if given.exit_if:
        builtin = [_set_slot_tool(slot) for slot in settable_slots(given)]
    else:
        builtin = [_task_completed_tool()]
    taken = {spec.name for spec in builtin}
    mcp = [
        spec
        for spec in offered
        if spec.name not in taken and not spec.name.startswith(SET_SLOT_PREFIX)
    ]
    tools = [*mcp, *builtin]
    return [_function(spec) for spec in tools], [spec.name for spec in tools]


def _function(spec: ToolSpec) -> JSONObject:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.input_schema or {"type": "object", "properties": {}},
        },
    }


def _set_slot_tool(slot: AgentSlot) -> ToolSpec:
    about = f"Record the value of '{slot.name}' (a {slot.type} slot)"
    if slot.allowed_values:
        about += "; one of: " + ", ".join(slot.allowed_values)
    schema: JSONObject = {
        "type": "object",
        "properties": {"slot_value": {"type": "string", "description": "the value"}},
        "required": ["slot_value"],
        "additionalProperties": False,
    }
    return ToolSpec(f"{SET_SLOT_PREFIX}{slot.name}", about + ".", schema)


def _task_completed_tool() -> ToolSpec:
    about = (
        "Call once the task is fully done, with a short closing message to the user in "
        "the same reply. Takes no arguments."
    )
    schema: JSONObject = {"type": "object", "properties": {}, "additionalProperties": False}
    return ToolSpec(TASK_COMPLETED, about, schema)


def _assistant_message(reply: ChatReply) -> JSONObject:
    return {
        "role": "assistant",
        "content": reply.text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in reply.tool_calls
        ],
    }


def _unavailable(name: str, names: list[str]) -> str:
    if not names:
        listed = "There are no tools."
    elif len(names) > MAX_LISTED_TOOLS:
        listed = "Use only the tools offered with this request."
    else:
        listed = "The tools are: " + ", ".join(sorted(names)) + "."
    return (
        f"Error: there is no tool `{name}`; nothing was run. {listed} "
        "Call one of them by its exact name, or answer the user without a tool."
    )


def tool_text(result: ToolResult) -> str:
    """What the model is shown of a tool's result: its structured content as JSON,
    else its text."""
    structured = result.structured
    if structured is not None:
        return json.dumps(structured, ensure_ascii=False)
    return result.text


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
