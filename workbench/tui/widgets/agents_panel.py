"""The Agents panel: the MCP tools and sub-agents the shown turn's flows called, each with
what it was sent and what came back; for an agent, its exit conditions and whether they
held, every step of its loop (model replies and the tools they asked for, tool results,
slots set, exit checks), the message it said, the slots it set and its system prompt.
A turn that called nothing says what the project could call."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from workbench.calm.external import CANCELLED, COMPLETED, INPUT_REQUIRED
from workbench.project.model import Project
from workbench.terminal_text import printable
from workbench.trace.calls import AGENT, TOOL, CallRecord
from workbench.trace.text import (
    agent_step_text,
    call_usage,
    json_text,
    short_step,
    tool_result_text,
)
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.base import Line, TextPanel

MUTED = "$text-muted"
LABEL = 10  # the width of a row's label; its text wraps under the text, not the label
INDENT = "  "
NOTHING_TO_CALL = (
    "This project has no sub-agents and no flow calls an MCP tool: add an agent under "
    "sub_agents/, or a `call` step with `mcp_server` and `mapping`, to see calls here."
)
_STATUS_STYLES = {
    "ok": "bold $text-success",
    COMPLETED: "bold $text-success",
    INPUT_REQUIRED: "bold $text-warning",
    CANCELLED: "bold $text-warning",
}
_CHECK_STYLES = {"met": "$text-success", "not met": "$text-warning"}


def project_calls(project: Project) -> tuple[list[str], list[str]]:
    """(the sub-agents, the MCP tools flows call) as a reader names them:
    `parcel_helper (rasa, tools from parcels)`, `track_parcel @parcels`."""
    agents = []
    for agent in sorted(project.agents.values(), key=lambda a: a.name):
        how = [agent.protocol]
        if agent.mcp_servers:
            how.append(f"tools from {', '.join(agent.mcp_servers)}")
        agents.append(f"{agent.name} ({', '.join(how)})")
    tools = sorted(
        {
            f"{step.call} @{step.mcp_server}"
            for flow in project.flows.values()
            for step in flow.steps
            if step.calls_mcp_tool
        }
    )
    return agents, tools


def no_call_note(project: Project) -> str:
    """What the panel says for a turn without a call: what the project could call."""
    agents, tools = project_calls(project)
    if not agents and not tools:
        return NOTHING_TO_CALL
    parts = ["No agent or tool call in this turn."]
    if agents:
        parts.append(f"Agents: {', '.join(agents)}.")
    if tools:
        parts.append(f"MCP tools called by flows: {', '.join(tools)}.")
    return printable(" ".join(parts))


def status_style(record: CallRecord) -> str:
    return _STATUS_STYLES.get(record.status, "bold $text-error")


def _row(label: str, text: str, style: str = "") -> Line:
    body = Content.styled(printable(text), style) if style else Content(printable(text))
    return (f"{INDENT}{label:<{LABEL}}", body)


def _block(label: str, text: str, style: str = "") -> list[Line]:
    """A labelled block over several lines (pretty JSON, a message), each behind a bar."""
    lines: list[Line] = []
    for number, line in enumerate(printable(text).split("\n")):
        prefix = f"{INDENT}{label if number == 0 else '':<{LABEL}}│ "
        lines.append((prefix, Content.styled(line, style) if style else Content(line)))
    return lines


def headline(record: CallRecord) -> Content:
    """`tool track_parcel @parcels  ok · stub · 3.1 ms · 812+40 tokens`"""
    name = printable(record.name, multiline=False)
    parts: list[str | tuple[str, str]] = [(f"{record.kind} ", MUTED), (name, "bold")]
    if record.kind == TOOL and record.server:
        parts.append((f" @{printable(record.server, multiline=False)}", "bold"))
    status = "error" if record.kind == TOOL and record.error else record.status or "error"
    parts += ["  ", (printable(status, multiline=False), status_style(record))]
    parts.append((" · " + " · ".join(call_usage(record)), MUTED))
    return Content.assemble(*parts)


def exit_verdict(record: CallRecord) -> tuple[str, str]:
    """Whether the exit conditions held at the agent's last check: (word, style)."""
    checks = [s for s in record.steps if s.kind == "exit_check"]
    if not checks:
        return "not checked this turn", MUTED
    last = checks[-1]
    if last.error:
        return f"not evaluated: {last.error}", "$text-error"
    word = "met" if last.result is True else "not met"
    return word, _CHECK_STYLES[word]


def call_lines(record: CallRecord) -> list[Line]:
    """One call: its headline, where it was called from, and what went in and came out."""
    lines: list[Line] = [headline(record)]
    step = short_step(record.flow_id, record.step_id)
    lines.append(_row("at", f"{record.flow_id} @ {step}".strip(" @"), MUTED))
    if record.kind == TOOL:
        lines += _block("arguments", json_text(dict(record.arguments), indent=2))
        if record.result is not None and not record.error:
            lines += _block("result", tool_result_text(record.result, indent=2))
    elif record.kind == AGENT:
        lines += _agent_lines(record)
    if record.error:
        lines.append(_row("error", record.error, "bold $text-error"))
    return lines


def _agent_lines(record: CallRecord) -> list[Line]:
    lines: list[Line] = []
    if record.model:
        lines.append(_row("model", record.model))
    for condition in record.exit_if:
        lines.append(_row("exit if", condition))
    if record.exit_if:
        word, style = exit_verdict(record)
        lines.append(_row("exit", word, style))
    if record.steps:
        lines.append(Content.styled(f"{INDENT}Steps ({len(record.steps)})", "bold"))
    for number, step in enumerate(record.steps, 1):
        style = "$text-error" if step.error else ""
        if step.kind == "exit_check" and not step.error:
            style = _CHECK_STYLES["met" if step.result is True else "not met"]
        lines.append((f"{INDENT}{number:>3} ", Content.styled(agent_step_text(step), style)))
    if record.message is not None:
        lines += _block("message", record.message)
    if record.slots:
        sets = ", ".join(f"{name}={json_text(value)}" for name, value in record.slots)
        lines.append(_row("sets", sets, "$text-success"))
    elif record.exit_if:
        lines.append(_row("sets", "no slot", MUTED))
    if record.prompt is not None:
        title = f"{INDENT}System prompt ({len(record.prompt):,} characters)"
        lines.append(Content.styled(title, "bold"))
        lines += [
            (f"{INDENT}│ ", Content(printable(line)))
            for line in record.prompt.rstrip("\n").split("\n")
        ]
    return lines


def subtitle(records: Sequence[CallRecord]) -> str:
    tools = sum(1 for r in records if r.kind == TOOL)
    agents = len(records) - tools
    parts = []
    if tools:
        parts.append(f"{tools} tool call{'s' if tools != 1 else ''}")
    if agents:
        parts.append(f"{agents} agent turn{'s' if agents != 1 else ''}")
    prompt = sum(r.tokens[0] for r in records)
    completion = sum(r.tokens[1] for r in records)
    if prompt or completion:
        parts.append(f"{prompt}+{completion} tok")
    return " · ".join(parts)


class AgentsPanel(TextPanel):
    """The MCP tool calls and sub-agent turns of the shown turn, in the order made."""

    # "Calls" (the `call` steps it shows): every tab fits the bar at 100 columns
    panel_title = "Calls"

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        records = trace.calls
        if not records:
            self.set_subtitle("")
            self.set_body([Content.styled(no_call_note(project), MUTED)])
            return
        lines: list[Line] = []
        for number, record in enumerate(records):
            if number:
                lines.append(Content(""))
            lines += call_lines(record)
        self.set_body(lines)
        self.set_subtitle(subtitle(records))

    @staticmethod
    def wanted(trace: TurnTrace | None, project: Project) -> bool:
        """Whether the tab earns its place in the bar: the project has agents or flows
        that call MCP tools, or the shown turn made a call."""
        agents, tools = project_calls(project)
        return bool(agents or tools or (trace and trace.calls))


__all__ = ["NOTHING_TO_CALL", "AgentsPanel", "no_call_note", "project_calls"]
