"""The one renderer of trace records: commands, dropped and rewritten commands, events,
bot messages with buttons, stack frames, action runs and model usage, as plain text and
as Rich renderables. The shell, `sessions show`, the e2e report, replay and every TUI
panel draw through here, so that one thing reads the same wherever it is shown.

`printable` is the one guard between outside text (a model's output, an action's
messages, what a user typed, a stored session, a project file) and a terminal: every
function here passes what it returns through it, and the front ends call it for text
they show without these helpers.

Two forms of a command: `command_text` is the short, DSL-like line (`set slot a 3`) that
panels, reports and replay show; `command_call` spells every argument out
(`set slot(slot='a', value=3, filled_by='LLM')`) for the full per-turn trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence, Sized

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from workbench.calm.commands import FROM_LLM
from workbench.calm.external import AgentStep
from workbench.calm.names import UTTER_ACTION_KEY, is_session_start
from workbench.calm.values import JSONValue
from workbench.terminal_text import escaped, json_printable, printable
from workbench.trace.calls import AGENT, TOOL, CallRecord, agent_state
from workbench.trace.records import (
    ActionRun,
    BotMessage,
    Button,
    CommandRecord,
    DroppedRecord,
    Event,
    KnowledgeHit,
    KnowledgeRecord,
    ModelUsage,
    RewrittenRecord,
    StackFrame,
)
from workbench.trace.turn import TurnTrace

ELLIPSIS = "…"
RANKED_FLOWS_SHOWN = 8

# pattern context keys that are plumbing rather than something a reader wants to see
_QUIET_CONTEXT = {
    "utter",
    "collect_action",
    "rejections",
    "refill_utter",
    "refill_action",
    "canceled_frames",
    "reset_flow_id",
    "reset_step_id",
    "reset_frame_id",
    "new_slot_values",
    "filled_by",
    "is_reset_only",
    "clarification_options",
}
# the context key that says most about a pattern frame, shown first
_CONTEXT_VERBS = (
    ("collect", "collect"),
    ("validate", "validate"),
    ("canceled_name", "cancel"),
    ("previous_flow_name", "after"),
    ("corrected_slots", "correct"),
    ("names", "options"),
    ("reason", "reason"),
    ("error_type", "error"),
)
_FLOW_CHANGES = ("flow_completed", "flow_cancelled", "flow_interrupted", "flow_resumed")


# --- values --------------------------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis marks the cut)."""
    flat = printable(" ".join(text.split()) if "\n" in text or "\r" in text else text)
    if limit > 0 and len(flat) > limit:
        return flat[: max(limit - 1, 0)] + ELLIPSIS
    return flat


def value_text(value: JSONValue, limit: int = 48) -> str:
    """A slot value as a reader would write it: `'A1001'`, `3.0`, `True`, `null`, `[...]`."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return truncate(repr(value), limit)
    if isinstance(value, (dict, list, tuple)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
        return truncate(text, limit)
    return truncate(repr(value), limit)


def _plain(value: JSONValue) -> str:
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[0], str):
            return f"{value[0]}={_plain(value[1])}"
        return " ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def short_step(flow_id: str | None, step_id: str | None) -> str:
    """A generated step id without its flow prefix: `check_order_status_0_collect_order_id`
    -> `0_collect_order_id`; explicit ids, START and END are kept."""
    if not step_id:
        return ""
    if flow_id and step_id.startswith(flow_id + "_") and len(step_id) > len(flow_id) + 1:
        return step_id[len(flow_id) + 1 :]
    return step_id


# --- commands ------------------------------------------------------------------------------


def command_text(command: CommandRecord | None) -> str:
    """A command on one line, close to the DSL: `set slot order_id A1001`,
    `correct slot order_id=A1002`, `clarify a b`. A source other than the model is named."""
    if command is None:
        return "?"
    parts = [command.name]
    for key, value in command.fields.items():
        if key == "filled_by" or value in (None, "", [], {}, ()):
            continue
        parts.append(_plain(value))
    filled_by = command.filled_by
    if filled_by and filled_by != FROM_LLM:
        parts.append(f"({filled_by})")
    return printable(" ".join(parts), multiline=False)


def command_call(command: CommandRecord) -> str:
    """A command with every argument spelled out: `start flow(flow='x')`."""
    args = ", ".join(f"{k}={v!r}" for k, v in command.fields.items())
    return printable(f"{command.name}({args})", multiline=False)


def commands_call(commands: Iterable[CommandRecord]) -> str:
    return "; ".join(command_call(c) for c in commands)


def dropped_what(dropped: DroppedRecord, full: bool = False) -> str:
    """What was dropped: the command, or the line that could not be parsed."""
    if dropped.line:
        return printable(dropped.line.strip(), multiline=False)
    if dropped.command is None:
        return ""
    return command_call(dropped.command) if full else command_text(dropped.command)


def dropped_text(dropped: DroppedRecord, full: bool = False) -> str:
    """`what: why` for a dropped command."""
    what = dropped_what(dropped, full)
    reason = printable(dropped.reason)
    return f"{what}: {reason}" if what else reason


def rewritten_text(rewritten: RewrittenRecord, full: bool = False) -> str:
    """`a → b: why` for a rewritten command."""
    show = command_call if full else command_text
    reason = printable(rewritten.reason)
    return f"{show(rewritten.original)} → {show(rewritten.replacement)}: {reason}"


# --- events --------------------------------------------------------------------------------


def event_line(event: Event, text_limit: int = 40) -> tuple[str, str]:
    """One event as (kind, text): kind is the event type (used for styling), text reads
    like `slot order_id = 'A1001'` or `bot "Hello…" (utter_greet)`."""
    kind, text = _event_line(event, text_limit)
    return printable(kind, multiline=False), printable(text, multiline=False)


def _event_line(event: Event, text_limit: int) -> tuple[str, str]:
    kind = event.type
    if kind == "user":
        return kind, f'user "{truncate(event.text or "", text_limit)}"'
    if kind == "bot":
        text = event.text
        shown = f'"{truncate(text, text_limit)}"' if text else "(no text)"
        utter = event.metadata.get(UTTER_ACTION_KEY)
        payload = event.payload
        extras = []
        buttons = payload.get("buttons")
        if buttons and isinstance(buttons, Sized):
            extras.append(f"{len(buttons)} buttons")
        extras.extend(k for k in ("custom", "image", "attachment") if payload.get(k))
        suffix = f" ({utter})" if utter else ""
        if extras:
            suffix += " [" + ", ".join(extras) + "]"
        return kind, f"bot {shown}{suffix}"
    if kind == "slot":
        line = f"slot {event.name} = {value_text(event.value, text_limit)}"
        if event.metadata.get("reset"):
            line += " (reset)"
        elif event.filled_by and event.filled_by != FROM_LLM:
            line += f" ({event.filled_by})"
        return kind, line
    if kind == "action":
        return kind, f"action {event.name}"
    if kind.startswith("flow_"):
        return kind, f"{kind} {event.flow_id}"
    if kind == "notice":
        return kind, f"note: {truncate(event.message, 0)}"
    if kind == "error":
        where = f" ({event.action})" if event.action else ""
        return kind, f"error{where}: {truncate(event.message, 0)}"
    if kind == "stack":
        frames = event.frames
        if not frames:
            return kind, "stack (empty)"
        top = frames[-1]
        where = f"{top.flow_name} @ {top.step_id or ''}".strip(" @")
        return kind, f"stack ({len(frames)} frames) top: {where}"
    rest = {k: v for k, v in event.data.items() if k != "timestamp"}
    details = " ".join(f"{k}={value_text(v, 24)}" for k, v in rest.items())
    return kind, f"{kind} {details}".rstrip()


def slot_set_text(name: str, value: JSONValue) -> str:
    """A slot set to a value, as the e2e report lists it: `order_id='A1001'`."""
    return printable(f"{name}={value!r}", multiline=False)


def flow_change(event: Event, at_step: bool = True) -> str | None:
    """A flow starting or ending, as `started x` or `completed x at step`; None for any
    other event."""
    change = _flow_change(event, at_step)
    return None if change is None else printable(change, multiline=False)


def _flow_change(event: Event, at_step: bool) -> str | None:
    if event.type == "flow_started":
        return f"started {event.flow_id}"
    if event.type in _FLOW_CHANGES:
        verb = event.type.split("_", 1)[1]
        return (
            f"{verb} {event.flow_id} at {event.step_id}" if at_step else f"{verb} {event.flow_id}"
        )
    return None


# --- bot messages --------------------------------------------------------------------------


def button_label(button: Button) -> str:
    return printable(f"{button.title} → {button.payload}", multiline=False)


def message_content(message: BotMessage) -> list[str]:
    """What a chat shows of a message besides its buttons: text, image, custom payload."""
    lines = []
    if message.text:
        lines.append(message.text)
    if message.image:
        lines.append(f"[image] {message.image}")
    if message.custom:
        lines.append(json.dumps(message.custom, ensure_ascii=False, default=str))
    if message.attachment:
        lines.append(f"[attachment] {_plain(message.attachment)}")
    if not lines and not message.buttons:
        lines.append("(empty message)")
    return [printable(line) for line in lines]


def rephrase_note(message: BotMessage) -> str | None:
    """`rephrased from: <the response's text>`, or why the nlg did not rephrase it
    (e.g. `not rephrased (offline)`); None for a message the rephraser did not touch."""
    if message.original_text is not None:
        return printable(f"rephrased from: {message.original_text}")
    return printable(message.rephrase_note) if message.rephrase_note else None


def message_source(message: BotMessage) -> str | None:
    """Where a text no response made came from: `knowledge answer, extractive (offline):
    docs/fees.txt:3`; None for a response."""
    return printable(message.source, multiline=False) if message.source else None


def translation_note(message: BotMessage) -> str | None:
    """`in de (a translation of utter_greet)` for a response sent in another language."""
    if not message.translation:
        return None
    language = printable(message.translation, multiline=False)
    name = printable(message.response or "the response", multiline=False)
    return f"in {language} (a translation of {name})"


def bot_message_lines(messages: Sequence[BotMessage], indent: str = "  ") -> list[str]:
    """Bot messages as `[response] 'text'` lines, a rephrased one's original, buttons
    and the source on lines below."""
    lines = []
    for message in messages:
        name = printable(message.response or "-", multiline=False)
        text = message.text
        lines.append(f"{indent}[{name}] {text!r}" if text is not None else f"{indent}[{name}]")
        note = rephrase_note(message)
        if note is not None:
            lines.append(f"{indent}    {note}")
        if message.buttons:
            shown = ", ".join(button_label(b) for b in message.buttons)
            lines.append(f"{indent}    buttons: {shown}")
        source = message_source(message)
        if source:
            lines.append(f"{indent}    source: {source}")
        translation = translation_note(message)
        if translation:
            lines.append(f"{indent}    {translation}")
    return lines


def chat_markup(message: BotMessage, first_number: int = 1) -> list[str]:
    """A bot message as a line chat shows it (Rich markup): `bot> text`, then one
    numbered line per button (`1 title → payload`)."""
    lines = [f"[green]bot>[/] {escape(line)}" for line in message_content(message)]
    for number, button in enumerate(message.buttons, first_number):
        lines.append(
            f"      [yellow]{number}[/] {escape(printable(button.title, multiline=False))} "
            f"[dim]→ {escape(printable(button.payload, multiline=False))}[/]"
        )
    source = message_source(message)
    if source:
        lines.append(f"      [dim]({escape(source)})[/]")
    return lines


def user_markup(trace: TurnTrace) -> str:
    if is_session_start(trace.user_text):
        return "[dim](session start)[/]"
    return f"[bold]you>[/] {escape(printable(trace.user_text))}"


# --- the stack -----------------------------------------------------------------------------


def frame_context(frame: StackFrame, limit: int = 40) -> str:
    """The pattern context that matters, e.g. `collect order_id` or `cancel check order`."""
    context = frame.context
    parts: list[str] = []
    used: set[str] = set()
    for key, verb in _CONTEXT_VERBS:
        value = context.get(key)
        if value in (None, "", [], {}):
            continue
        parts.append(f"{verb} {_plain(value)}")
        used.add(key)
    for key, value in context.items():
        if key in used or key in _QUIET_CONTEXT or value in (None, "", [], {}):
            continue
        parts.append(f"{key}={_plain(value)}")
    return truncate(", ".join(parts), limit)


def frame_cells(frame: StackFrame, style: str = "") -> tuple[Text, Text]:
    """(flow id / @ step, frame kind / pattern context) of one frame, two lines each; an
    agent frame names its agent and state, and the flow step that called it."""
    kind = frame.kind
    agent = agent_frame_text(frame)
    if agent is not None:
        first = Text.assemble(
            (agent, style or "bold"), "\n", (f"for {_frame_where(frame)}", style or "dim")
        )
        return first, Text(kind, style=style or "bold")
    name_style = style or ("dim" if kind == "pattern" else "bold")
    step = printable(short_step(frame.flow_id, frame.step_id), multiline=False)
    first = Text.assemble(
        (printable(frame.flow_name or "?", multiline=False), name_style),
        "\n",
        (f"@ {step}" if step else "", style or "dim"),
    )
    second = Text.assemble((kind, style or ""), "\n", (frame_context(frame), style or "dim"))
    return first, second


def _frame_where(frame: StackFrame) -> str:
    step = short_step(frame.flow_id, frame.step_id)
    return printable(f"{frame.flow_id or '?'} @ {step}" if step else frame.flow_id or "?")


def frame_text(frame: StackFrame) -> str:
    """`flow (kind) @ step` for one frame; `agent x · waiting for input (for flow @ step)`
    for an agent's."""
    agent = agent_frame_text(frame)
    if agent is not None:
        return printable(f"{agent} (for {_frame_where(frame)})", multiline=False)
    return printable(f"{frame.flow_name} ({frame.kind}) @ {frame.step_id}", multiline=False)


# --- actions, usage, retrieval -------------------------------------------------------------


def action_names(actions: Iterable[ActionRun]) -> str:
    return printable(", ".join(a.name for a in actions), multiline=False)


def run_timing(run: ActionRun) -> str:
    """How an action ran and how long it took: `python 12.3 ms`."""
    return f"{run.kind} {run.duration_ms:.1f} ms"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _tokens(usage: ModelUsage | None, prompt_tokens: int | None) -> tuple[str, str]:
    """(prompt, completion) token counts; the prompt's as estimated when the provider
    reported none."""
    if usage is not None and usage.prompt_tokens is not None:
        prompt_tokens = usage.prompt_tokens
    return _count(prompt_tokens), _count(usage.completion_tokens if usage else None)


def usage_parts(usage: ModelUsage | None, prompt_tokens: int | None = None) -> list[str]:
    """`[model, "812 prompt + 3 completion tokens", "640 ms", "$0.00012"]`: the model
    first ("model unknown" when none is named), then what is known."""
    prompt, completion = _tokens(usage, prompt_tokens)
    parts = [
        printable(usage.model, multiline=False) if usage and usage.model else "model unknown",
        f"{prompt} prompt + {completion} completion tokens",
    ]
    if usage and usage.latency_ms is not None:
        parts.append(f"{usage.latency_ms:.0f} ms")
    if usage and usage.cost is not None:
        parts.append(f"${usage.cost:.6f}".rstrip("0").rstrip("."))
    return parts


def usage_text(usage: ModelUsage, prompt_tokens: int | None = None) -> str:
    """A model call on one line: `model · 812 prompt + 3 completion tokens · 640 ms ·
    $0.00012`, and its error if it failed."""
    text = " · ".join(usage_parts(usage, prompt_tokens))
    return f"{text} · error: {printable(usage.error)}" if usage.error else text


def usage_brief(usage: ModelUsage | None, prompt_tokens: int | None = None) -> str:
    """`812+3 tok · 640 ms`, for a panel's subtitle."""
    prompt, completion = _tokens(usage, prompt_tokens)
    brief = f"{prompt}+{completion} tok"
    if usage and usage.latency_ms is not None:
        brief += f" · {usage.latency_ms:.0f} ms"
    return brief


def ranked_flows_text(trace: TurnTrace, shown: int = RANKED_FLOWS_SHOWN) -> str:
    ranked = ", ".join(
        f"{'*' if f.active else ''}{f.flow_id}" + (f" {f.score:.2f}" if f.score is not None else "")
        for f in trace.retrieved_flows[:shown]
    )
    more = len(trace.retrieved_flows) - shown
    ranked = printable(ranked, multiline=False)
    return ranked + (f" (+{more} more)" if more > 0 else "")


# --- knowledge answers ---------------------------------------------------------------------

OUTCOME_WORDS = {"answer": "answered", "no_answer": "no relevant answer", "error": "failed"}


def knowledge_hit_text(hit: KnowledgeHit, excerpt: int = 80) -> str:
    """`#1 docs/fees.txt:3 0.81 "Q: What are the fees…"`"""
    shown = truncate(hit.excerpt, excerpt) if excerpt else ""
    text = f"#{hit.rank} {hit.location} {hit.score:.3g}"
    return printable(f"{text} {shown!r}" if shown else text, multiline=False)


def knowledge_rows(record: KnowledgeRecord) -> list[tuple[str, str]]:
    """A knowledge question as (label, text) rows: how it was answered, the query, the
    chunks found, the model call, the raw and final answer, citations, the verdict."""
    outcome = OUTCOME_WORDS.get(record.outcome, record.outcome)
    head = f"{record.label} · {outcome} · {record.duration_ms:.1f} ms"
    rows = [("knowledge", head), ("query", record.query or "(empty)")]
    if record.method:
        rows.append(("searched", record.method))
    rows.extend(("chunk", knowledge_hit_text(hit)) for hit in record.hits)
    if not record.hits and record.outcome != "error":
        rows.append(("chunk", "none found"))
    if record.prompt is not None:
        rows.append(("prompt", f"{len(record.prompt)} characters, {len(record.hits)} chunks"))
    if record.usage is not None:
        rows.append(("model", usage_text(record.usage)))
    if record.raw_answer is not None and record.raw_answer.strip() != (record.answer or ""):
        rows.append(("raw answer", record.raw_answer.strip() or "(empty)"))
    if record.relevant is not None:
        verdict = "relevant" if record.relevant else "not relevant"
        rows.append(("relevancy", verdict))
    if record.answer is not None:
        rows.append(("answer", record.answer))
    rows.extend(("citation", citation) for citation in record.citations)
    if record.sources:
        rows.append(("from", ", ".join(record.sources)))
    if record.reason:
        rows.append(("reason", record.reason))
    rows.extend(("doc issue", issue) for issue in record.issues)
    return [(printable(label, multiline=False), printable(text)) for label, text in rows]


# --- MCP tool and sub-agent calls ----------------------------------------------------------

# the agent frame's states on the stack, as a reader says them
AGENT_STATES = {
    "waiting_for_input": "waiting for input",
    "interrupted": "interrupted",
    "resuming": "resuming",
}


def json_text(value: JSONValue, indent: int | None = None) -> str:
    """`value` as JSON (`indent`: pretty, over several lines), text that is not JSON as is."""
    try:
        dumped = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    except (TypeError, ValueError):
        dumped = repr(value)
    return printable(json_printable(dumped))


def arguments_text(name: str, arguments: JSONValue) -> str:
    """`track_parcel(tracking_number='A1', full=true)`: a call as a reader writes it."""
    pairs = arguments.items() if isinstance(arguments, dict) else ()
    shown = ", ".join(f"{key}={value_text(value, 0)}" for key, value in pairs)
    return printable(f"{name}({shown})", multiline=False)


def tool_result_text(result: JSONValue, indent: int | None = None) -> str:
    """What a tool returned: its `structuredContent` as JSON, else its text parts, else the
    wire result as it came."""
    if isinstance(result, dict):
        structured = result.get("structuredContent")
        if structured is not None:
            return json_text(structured, indent)
        parts = result.get("content")
        if isinstance(parts, list):
            texts = [
                str(part.get("text", ""))
                for part in parts
                if isinstance(part, dict) and part.get("type") == "text"
            ]
            if texts:
                return printable("\n".join(texts))
    if result is None:
        return "(nothing)"
    return printable(result) if isinstance(result, str) else json_text(result, indent)


def call_usage(record: CallRecord) -> list[str]:
    """`[source, "12.3 ms", "812+40 tokens", "$0.0012"]`: how a call was made and what it
    took (tokens and cost only for an agent whose model was asked)."""
    parts = [printable(record.source, multiline=False), f"{record.duration_ms:.1f} ms"]
    if any(step.kind == "model" for step in record.steps):
        prompt, completion = record.tokens
        parts.append(f"{prompt}+{completion} tokens")
    cost = record.cost
    if cost is not None:
        parts.append(f"${cost:.6f}".rstrip("0").rstrip("."))
    return parts


def call_title(record: CallRecord) -> str:
    """`tool track_parcel @parcels: ok · stub · 3.1 ms`: the headline and its usage."""
    return printable(" · ".join([record.headline, *call_usage(record)]), multiline=False)


def exit_check_text(step: AgentStep) -> str:
    """`order_status='shipped' → met`: the exit slots' values and whether `exit_if` held."""
    if step.error:
        return printable(f"not evaluated: {step.error}", multiline=False)
    checked = step.arguments.get("slots")
    values = (
        ", ".join(f"{name}={value_text(value, 0)}" for name, value in checked.items())
        if isinstance(checked, dict) and checked
        else "no exit slot set"
    )
    verdict = "met" if step.result is True else "not met"
    return printable(f"{values} → {verdict}", multiline=False)


def _step_usage(step: AgentStep) -> str:
    parts = []
    if step.prompt_tokens is not None or step.completion_tokens is not None:
        parts.append(f"{_count(step.prompt_tokens)}+{_count(step.completion_tokens)} tokens")
    if step.latency_ms:
        parts.append(f"{step.latency_ms:.0f} ms")
    return " · ".join(parts)


def agent_step_text(step: AgentStep) -> str:
    """One step of an agent's loop on one line: `model "text" → calls x(a=1) · 80+12
    tokens · 420 ms`, `tool x(a=1) → {...} · 30 ms`, `set_slot s(slot_value=1) → 1`,
    `exit check a=1 → met`."""
    usage = _step_usage(step)
    if step.kind == "model":
        said = f" {truncate(repr(step.text), 0)}" if step.text else ""
        calls = ", ".join(
            arguments_text(str(call.get("name", "?")), call.get("arguments"))
            for call in step.tool_calls
        )
        text = f"model{said}" + (f" → calls {calls}" if calls else "")
    elif step.kind == "exit_check":
        text = f"exit check {exit_check_text(step)}"
    elif step.kind in ("tool", "set_slot"):
        text = f"{step.kind} {arguments_text(step.name, step.arguments)}"
        if step.error:
            text += f" → error: {step.error}"
        elif step.result is not None:
            shown = (
                tool_result_text(step.result) if step.kind == "tool" else value_text(step.result, 0)
            )
            text += f" → {shown}"
    else:
        text = f"{step.kind} {step.name}".rstrip()
        if step.error:
            text += f": {step.error}"
    if usage:
        text += f" · {usage}"
    return printable(text, multiline=False)


def call_rows(record: CallRecord) -> list[tuple[str, str]]:
    """A tool or agent call as (label, text) rows: the headline, where it was called, what
    it was sent and what came back; for an agent its exit conditions, each step of its
    loop, the message it said and the slots it set."""
    where = short_step(record.flow_id, record.step_id)
    rows = [("call", call_title(record)), ("at", f"{record.flow_id} @ {where}".strip(" @"))]
    if record.kind == TOOL:
        rows.append(("arguments", json_text(dict(record.arguments))))
        if record.result is not None:
            rows.append(("result", tool_result_text(record.result)))
    elif record.kind == AGENT:
        if record.model:
            rows.append(("model", record.model))
        rows.extend(("exit if", condition) for condition in record.exit_if)
        if record.prompt is not None:
            rows.append(("prompt", f"{len(record.prompt)} characters"))
        rows.extend(
            (f"step {number}", agent_step_text(step)) for number, step in enumerate(record.steps, 1)
        )
        if record.message is not None:
            rows.append(("message", record.message))
        if record.slots:
            rows.append(("sets", ", ".join(slot_set_text(n, v) for n, v in record.slots)))
    if record.error:
        rows.append(("error", record.error))
    return [(printable(label, multiline=False), printable(text)) for label, text in rows]


def agent_frame_text(frame: StackFrame) -> str | None:
    """`agent parcel_helper · waiting for input` for an agent frame; None for any other."""
    state = agent_state(frame)
    if state is None:
        return None
    agent = frame.context.get("agent_id") or "?"
    text = f"agent {agent}"
    if state:
        text += f" · {AGENT_STATES.get(state, state)}"
    return printable(text, multiline=False)


# --- a whole turn --------------------------------------------------------------------------


def turn_title(trace: TurnTrace) -> str:
    source = printable(trace.source, multiline=False)
    return f"turn {trace.index} · {source} · {trace.timings_ms.get('total', 0):.1f} ms"


def trace_rows(trace: TurnTrace) -> list[tuple[str, str]]:
    """The full trace of a turn as (label, text) rows: what `shell --debug` and
    `sessions show -v` print."""
    rows: list[tuple[str, str]] = []
    if trace.generator:
        rows.append(("generator", trace.generator))
    if trace.retrieved_flows:
        rows.append(("flows", ranked_flows_text(trace)))
    if trace.usage is not None:
        rows.append(("model", usage_text(trace.usage, trace.prompt_tokens)))
    elif trace.prompt_tokens is not None:
        rows.append(("prompt", f"{trace.prompt_tokens} tokens"))
    if trace.raw_output is not None:
        rows.append(("raw output", trace.raw_output.strip() or "(empty)"))
    rows.append(("commands", commands_call(trace.commands) or "—"))
    for command in trace.commands:
        if command.why:
            rows.append(("why", f"{command.dsl or command_text(command)}: {command.why}"))
    rows.extend(("dropped", dropped_text(d, full=True)) for d in trace.dropped)
    rows.extend(("rewritten", rewritten_text(r, full=True)) for r in trace.rewritten)
    for name, (before, after) in trace.changed_slots.items():
        rows.append(("slot", f"{name}: {before!r} → {after!r}"))
    rows.extend(("stack", frame_text(frame)) for frame in reversed(trace.stack_after))
    changes = [c for e in trace.events if (c := flow_change(e, at_step=False)) is not None]
    if changes:
        rows.append(("flow events", ", ".join(changes)))
    if trace.actions:
        rows.append(("actions", action_names(trace.actions)))
    for message in trace.bot_messages:
        note = rephrase_note(message)
        if note is not None:
            rows.append(("rephrase", f"{message.response or '-'}: {note}"))
    for run in trace.actions:
        rows.extend((f"log {run.name}", line) for line in run.log_lines)
    for record in trace.knowledge:
        rows.extend(knowledge_rows(record))
    for call in trace.calls:
        rows.extend(call_rows(call))
    return [(printable(label, multiline=False), printable(text)) for label, text in rows]


_ROW_STYLES = {
    "dropped": "red",
    "rewritten": "yellow",
    "reason": "yellow",
    "doc issue": "yellow",
    "error": "red",
}


def trace_table(trace: TurnTrace) -> Table:
    """The full trace of a turn as a Rich table."""
    table = Table(
        title=turn_title(trace),
        show_header=False,
        box=None,
        title_justify="left",
        title_style="dim",
        pad_edge=False,
    )
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for label, text in trace_rows(trace):
        style = _ROW_STYLES.get(label) or ("dim" if label.startswith("log ") else "")
        shown = f"[{style}]{escape(label)}[/]" if style else escape(label)
        table.add_row(shown, escape(text))
    return table


def summary_markup(trace: TurnTrace) -> list[str]:
    """The short trace of a turn under its messages (Rich markup): commands, dropped
    commands and errors."""
    lines = []
    if trace.commands:
        lines.append(f"  [cyan]commands[/] {escape(commands_call(trace.commands))}")
    lines.extend(f"  [red]dropped[/]  {escape(dropped_text(d, full=True))}" for d in trace.dropped)
    lines.extend(f"  [red]error[/]    {escape(printable(error))}" for error in trace.errors)
    return lines


def bot_text(messages: Iterable[BotMessage]) -> str:
    """The texts of a turn's bot messages, one per line (what the store keeps to search):
    raw, as said; whoever shows it passes it through `printable`."""
    return "\n".join(m.text for m in messages if m.text)


__all__ = [
    "AGENT_STATES",
    "action_names",
    "agent_frame_text",
    "agent_step_text",
    "arguments_text",
    "bot_message_lines",
    "bot_text",
    "button_label",
    "call_rows",
    "call_title",
    "call_usage",
    "chat_markup",
    "command_call",
    "command_text",
    "commands_call",
    "dropped_text",
    "dropped_what",
    "escaped",
    "event_line",
    "exit_check_text",
    "flow_change",
    "frame_cells",
    "frame_context",
    "frame_text",
    "json_printable",
    "json_text",
    "knowledge_hit_text",
    "knowledge_rows",
    "message_content",
    "message_source",
    "printable",
    "rephrase_note",
    "rewritten_text",
    "run_timing",
    "short_step",
    "slot_set_text",
    "summary_markup",
    "tool_result_text",
    "trace_rows",
    "trace_table",
    "truncate",
    "turn_title",
    "usage_brief",
    "usage_parts",
    "usage_text",
    "user_markup",
    "value_text",
]
