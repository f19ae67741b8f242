"""Makes the calls the engine asks for at `call` steps: an MCP tool, a sub-agent's turn.

Each call is answered, in this order, by an e2e test's stub (`stubs.py`), by the
cassette when the conversation replays one, or live (the MCP server, the agent's model
through litellm); recording, the live answers go into the cassette. Whatever happens,
the caller returns an outcome the engine can settle and the record the Agent panel
shows: a server that is down or a model that is missing is an outcome with a reason,
never an exception.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from workbench.calm.external import (
    FATAL_ERROR,
    AgentCallRequest,
    AgentInput,
    AgentOutcome,
    McpError,
    ToolCallRequest,
    ToolOutcome,
)
from workbench.project.model import Project, SubAgent
from workbench.trace.calls import AGENT, LIVE, OFFLINE, RECORDED, STUB, TOOL, CallRecord

if TYPE_CHECKING:
    from workbench.agents.stubs import CallStubs
    from workbench.understanding.models import ModelSpec
    from workbench.understanding.tape import ModelTape

# Rasa's flow tool-call timeout (`TOOL_CALL_DEFATULT_TIMEOUT`)
TOOL_TIMEOUT_S = 10.0


class ExternalCaller:
    """One per conversation. `tape`: the conversation's recorded model calls (replayed
    or recorded with the command generator's); `offline`: why no model may be called
    (`--offline`), None when each agent's model decides; `stubs`: an e2e test's."""

    def __init__(
        self,
        tape: ModelTape | None = None,
        offline: str | None = None,
        stubs: CallStubs | None = None,
    ) -> None:
        self.tape = tape
        self.offline = offline
        self.stubs = stubs

    @property
    def _replaying(self) -> bool:
        return self.tape is not None and self.tape.replaying

    # -- MCP tools --------------------------------------------------------------------------

    async def call_tool(
        self, project: Project, request: ToolCallRequest
    ) -> tuple[ToolOutcome, CallRecord]:
        started = time.perf_counter()
        source = LIVE
        stubbed = self.stubs.tool(request.tool) if self.stubs is not None else None
        if stubbed is not None:
            outcome, source = ToolOutcome(result=stubbed), STUB
        else:
            server = project.endpoints.mcp_servers.get(request.server)
            if server is None:
                outcome = ToolOutcome(
                    error=f"MCP server '{request.server}' is not defined in endpoints.yml"
                )
            else:
                from workbench.agents.recorded import recorded_tools

                tools = recorded_tools(self.tape, server, TOOL_TIMEOUT_S)
                try:
                    outcome = ToolOutcome(result=await tools.call(request.tool, request.arguments))
                except McpError as error:
                    outcome = ToolOutcome(error=error.reason)
                source = RECORDED if self._replaying else LIVE
        duration = (time.perf_counter() - started) * 1000
        outcome = ToolOutcome(outcome.result, outcome.error, duration)
        return outcome, tool_record(request, outcome, source)

    # -- sub-agents -------------------------------------------------------------------------

    async def run_agent(
        self, project: Project, request: AgentCallRequest, given: AgentInput
    ) -> tuple[AgentOutcome, CallRecord]:
        started = time.perf_counter()
        agent = project.agents.get(request.agent)
        stubbed = self.stubs.agent(request.agent) if self.stubs is not None else None
        if stubbed is not None:
            outcome, source = stubbed, STUB
        elif agent is None:
            outcome, source = _failed(f"agent '{request.agent}' is not defined"), LIVE
        elif agent.protocol == "a2a":
            from workbench.agents.a2a import run_a2a_agent

            outcome, source = await run_a2a_agent(agent, given, project.root), LIVE
        else:
            outcome, source = await self._run_model_agent(project, agent, given)
        duration = (time.perf_counter() - started) * 1000
        record = agent_record(request, outcome, source, duration)
        return outcome, record

    async def _run_model_agent(
        self, project: Project, agent: SubAgent, given: AgentInput
    ) -> tuple[AgentOutcome, str]:
        from workbench.agents.chat import litellm_chat
        from workbench.agents.loop import run_agent
        from workbench.agents.recorded import agent_tools, recorded_chat
        from workbench.understanding.models import ModelConfigError

        try:
            model = agent_model(project, agent)
        except ModelConfigError as error:
            return _failed(f"agent {agent.name}: {error}"), LIVE
        if not self._replaying:
            missing = self.offline or _missing_credentials(model)
            if missing:
                return _failed(needs_model(agent.name, model.model, missing)), OFFLINE
        chat = recorded_chat(self.tape, model, litellm_chat(model))
        tools = agent_tools(self.tape, project, agent, TOOL_TIMEOUT_S)
        outcome = await run_agent(agent, given, tools, model, chat, root=project.root)
        return outcome, RECORDED if self._replaying else LIVE


def agent_model(project: Project, agent: SubAgent) -> ModelSpec:
    """The agent's `configuration.llm` (a model group or an inline config), else Rasa's
    default model, as Rasa picks it."""
    from workbench.understanding.models import RASA_DEFAULT_LLM, resolve_model

    llm = agent.configuration.get("llm")
    return resolve_model(project, llm if isinstance(llm, Mapping) and llm else RASA_DEFAULT_LLM)


def needs_model(agent: str, model: str, why: str) -> str:
    """The plain reason an agent cannot run here, with the ways out."""
    reason = why if why.startswith("--") else f"no {why} is set"
    return (
        f"agent {agent} needs a model ({model}; {reason}): set the key or `--model`, "
        "record the conversation once with a model and replay it (`--cassette`), "
        "or stub the agent in the e2e test (`stub_agents:`)"
    )


def _missing_credentials(model: ModelSpec) -> str | None:
    from workbench.understanding.models import missing_credentials

    return missing_credentials(model)


def _failed(reason: str) -> AgentOutcome:
    return AgentOutcome(FATAL_ERROR, error=reason)


def failed_tool_call(request: ToolCallRequest, reason: str) -> tuple[ToolOutcome, CallRecord]:
    outcome = ToolOutcome(error=reason)
    return outcome, tool_record(request, outcome, LIVE)


def failed_agent_turn(request: AgentCallRequest, reason: str) -> tuple[AgentOutcome, CallRecord]:
    outcome = _failed(reason)
    return outcome, agent_record(request, outcome, LIVE, 0.0)


def tool_record(request: ToolCallRequest, outcome: ToolOutcome, source: str) -> CallRecord:
    result = outcome.result
    error = outcome.error
    if error is None and result is not None and result.is_error:
        error = result.text or "the tool reported an error"
    return CallRecord(
        kind=TOOL,
        name=request.tool,
        flow_id=request.flow_id,
        step_id=request.step_id,
        status="error" if error else "ok",
        server=request.server,
        arguments=dict(request.arguments),
        result=result.wire if result is not None else None,
        error=error,
        duration_ms=outcome.duration_ms,
        source=source,
    )


def agent_record(
    request: AgentCallRequest, outcome: AgentOutcome, source: str, duration_ms: float
) -> CallRecord:
    return CallRecord(
        kind=AGENT,
        name=request.agent,
        flow_id=request.flow_id,
        step_id=request.step_id,
        status=outcome.status,
        message=outcome.message,
        slots=outcome.slots,
        error=outcome.error,
        steps=outcome.steps,
        prompt=outcome.prompt,
        model=outcome.model,
        exit_if=request.exit_if,
        duration_ms=outcome.duration_ms or duration_ms,
        source=source,
    )
