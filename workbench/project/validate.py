"""Cross-reference checks over a loaded project: every name a flow, response, button or
test uses must exist, every step must be reachable, every condition must parse."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from workbench.calm.conditions import check_syntax, parse_condition
from workbench.calm.names import (
    ACTION_AGENT_REQUEST_USER_INPUT,
    ACTION_BACK,
    ACTION_CANCEL_FLOW,
    ACTION_CANCEL_INTERRUPTED_FLOWS,
    ACTION_CLARIFY_FLOWS,
    ACTION_CLEAN_STACK,
    ACTION_CONTINUE_INTERRUPTED_FLOW,
    ACTION_CORRECT_FLOW_SLOT,
    ACTION_DEACTIVATE_LOOP,
    ACTION_DEFAULT_ASK_AFFIRMATION,
    ACTION_DEFAULT_ASK_REPHRASE,
    ACTION_DEFAULT_FALLBACK,
    ACTION_EXTRACT_SLOTS,
    ACTION_HANDOFF_METRIC,
    ACTION_HANGUP,
    ACTION_LISTEN,
    ACTION_REPEAT_BOT_MESSAGES,
    ACTION_RESET_ROUTING,
    ACTION_RESTART,
    ACTION_REVERT_FALLBACK_EVENTS,
    ACTION_RUN_SLOT_REJECTIONS,
    ACTION_SEND_TEXT,
    ACTION_SESSION_START,
    ACTION_TRIGGER_CHITCHAT,
    ACTION_TRIGGER_SEARCH,
    ACTION_TWO_STAGE_FALLBACK,
    ACTION_UNLIKELY_INTENT,
    ACTION_VALIDATE_SLOT_MAPPINGS,
    PATTERN_CHITCHAT,
    PATTERN_CUSTOMER_SATISFACTION,
    PATTERN_HUMAN_HANDOFF,
    PATTERN_INTERNAL_ERROR,
    PATTERN_SEARCH,
    ROUTE_SESSION_TO_CALM,
    UTTER_BOOLEAN_SLOT_REJECTION,
    UTTER_CATEGORICAL_SLOT_REJECTION,
    UTTER_FLOAT_SLOT_REJECTION,
    UTTER_PREFIX,
    action_ask,
    is_pattern,
    utter_ask,
)
from workbench.calm.values import JSONObject
from workbench.project.collector import collector_paused
from workbench.project.cycles import cycle_issues
from workbench.project.issues import Issue, IssueList, suggest
from workbench.project.loader import LoadResult, load_project
from workbench.project.model import (
    END_STEP,
    ConditionalNext,
    Flow,
    Project,
    Response,
    StaticNext,
    Step,
)
from workbench.project.nlg import rephrase_settings
from workbench.project.regex_risk import risky_patterns
from workbench.project.search_checks import search_issues
from workbench.project.template_vars import (
    COMMAND_PROMPT_VARIABLES,
    template_source,
    undeclared_variables,
)
from workbench.project.yaml_io import line_of

BUILTIN_ACTIONS = frozenset(
    {
        ACTION_LISTEN,
        ACTION_RESTART,
        ACTION_SESSION_START,
        ACTION_DEFAULT_FALLBACK,
        ACTION_DEACTIVATE_LOOP,
        ACTION_REVERT_FALLBACK_EVENTS,
        ACTION_DEFAULT_ASK_AFFIRMATION,
        ACTION_DEFAULT_ASK_REPHRASE,
        ACTION_TWO_STAGE_FALLBACK,
        ACTION_UNLIKELY_INTENT,
        ACTION_BACK,
        ACTION_SEND_TEXT,
        ACTION_AGENT_REQUEST_USER_INPUT,
        ACTION_EXTRACT_SLOTS,
        ACTION_VALIDATE_SLOT_MAPPINGS,
        ACTION_CANCEL_FLOW,
        ACTION_CORRECT_FLOW_SLOT,
        ACTION_CLARIFY_FLOWS,
        ACTION_CONTINUE_INTERRUPTED_FLOW,
        ACTION_CANCEL_INTERRUPTED_FLOWS,
        ACTION_RUN_SLOT_REJECTIONS,
        ACTION_TRIGGER_SEARCH,
        ACTION_TRIGGER_CHITCHAT,
        ACTION_CLEAN_STACK,
        ACTION_REPEAT_BOT_MESSAGES,
        ACTION_HANDOFF_METRIC,
        ACTION_HANGUP,
        ACTION_RESET_ROUTING,
    }
)
REJECTION_RESPONSES = (
    UTTER_BOOLEAN_SLOT_REJECTION,
    UTTER_FLOAT_SLOT_REJECTION,
    UTTER_CATEGORICAL_SLOT_REJECTION,
)
LINKABLE_PATTERNS = frozenset(
    {PATTERN_HUMAN_HANDOFF, PATTERN_SEARCH, PATTERN_CUSTOMER_SATISFACTION}
)
# a pattern (a flow whose id starts with pattern_, overrides included) may also link here
LINKABLE_FROM_PATTERNS = LINKABLE_PATTERNS | {PATTERN_CHITCHAT}
SLOT_REFERENCE_RE = re.compile(r"\bslots\.\w+")
# keys of stack frames, usable as `{name}` in responses and `context.<name>` in conditions
CONTEXT_KEYS = frozenset(
    {
        "frame_id",
        "type",
        "flow_id",
        "step_id",
        "frame_type",
        "collect",
        "utter",
        "collect_action",
        "rejections",
        "validate",
        "refill_utter",
        "refill_action",
        "is_reset_only",
        "corrected_slots",
        "reset_flow_id",
        "reset_step_id",
        "new_slot_values",
        "canceled_name",
        "canceled_frames",
        "names",
        "clarification_options",
        "clarification_ids",
        "previous_flow_name",
        "interrupted_flow_names",
        "interrupted_flow_ids",
        "interrupted_flow_options",
        "multiple_flows_interrupted",
        "reason",
        "error_type",
        "info",
    }
)
PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([^\n{}]+?)\}(?!\})")
JINJA_EXPR_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
JINJA_STAND_IN = "jinja_value"
SET_SLOTS_RE = re.compile(r"^/SetSlots\((.*)\)\s*$", re.S)
_COMPARE = r"\s*(?:==|=|!=|is not|is)\s*"
SLOT_THEN_VALUE_RE = re.compile(r"slots\.([\w-]+)" + _COMPARE + r"(['\"])(.*?)\2", re.I)
VALUE_THEN_SLOT_RE = re.compile(r"(['\"])(.*?)\1" + _COMPARE + r"slots\.([\w-]+)", re.I)


Item = TypeVar("Item", Flow, Response)


def validate_path(root: str | Path, *, actions_python: str | Path | None = None) -> LoadResult:
    """Load and validate a project folder; all issues end up in the result.
    `actions_python`: the interpreter the actions run on (`--actions-python`)."""
    return validate_loaded(load_project(root), actions_python=actions_python)


def validate_loaded(result: LoadResult, *, actions_python: str | Path | None = None) -> LoadResult:
    """Validate a loaded project; its issues are added to the load issues."""
    result.issues.extend(validate_project(result.project, actions_python=actions_python))
    return result


@dataclass
class ValidationMemo:
    """The checks of each flow and response from the last validation, for the next one
    (hot reload validates after every save; usually one file changed). A flow's or a
    response's issues are reused while it is the very same object (its file did not
    change: the loader reuses what it built from an unchanged file) and everything its
    checks look up elsewhere in the project compares equal."""

    flow_context: tuple[object, ...] = ()
    flows: dict[str, tuple[Flow, tuple[Issue, ...]]] = field(default_factory=dict)
    response_context: tuple[object, ...] = ()
    responses: dict[str, tuple[Response, tuple[Issue, ...]]] = field(default_factory=dict)


def validate_project(
    project: Project,
    *,
    actions_python: str | Path | None = None,
    memo: ValidationMemo | None = None,
) -> IssueList:
    from workbench.project.actions_python import action_import_issues

    with collector_paused():
        issues = _Validator(project, memo).run()
    # modules the actions import that their Python lacks (`import rasa` without Rasa)
    issues.extend(action_import_issues(project, actions_python))
    issues.extend(cycle_issues(project))
    issues.extend(search_issues(project))
    return issues


class _Validator:
    def __init__(self, project: Project, memo: ValidationMemo | None = None) -> None:
        self.project = project
        self.memo = memo
        self.issues = IssueList()
        domain = project.domain
        self.slots = domain.slots
        self.responses = domain.responses
        self.known_actions = set(domain.actions) | set(project.custom_actions) | BUILTIN_ACTIONS
        self.rejection_responses = set(REJECTION_RESPONSES) | {
            rejection.utter
            for flow in project.flows.values()
            for step in flow.steps
            for rejection in step.rejections
            if rejection.utter
        }
        for slot in self.slots.values():
            rejections = (slot.validation or {}).get("rejections")
            for rejection in rejections if isinstance(rejections, list) else []:
                if isinstance(rejection, dict) and rejection.get("utter"):
                    self.rejection_responses.add(str(rejection["utter"]))
        # what a response may interpolate: built once, not per response (5,000 slots
        # times thousands of responses made validation quadratic)
        self.template_variables = frozenset(
            {*self.slots, *CONTEXT_KEYS, *project.response_kwargs, "context"}
        )

    def run(self) -> IssueList:
        flows = [(f.id, f) for f in self.project.flows.values() if not f.is_default_pattern]
        responses = [(r.name, r) for r in self.responses.values() if not r.is_default]
        if self.memo is None:
            for _, flow in flows:
                self.check_flow(flow)
            for _, response in responses:
                self.check_response(response)
        else:
            self.memo.flows = self._remembered(
                flows, self.check_flow, self._flow_context(), "flow_context", self.memo.flows
            )
            self.memo.responses = self._remembered(
                responses,
                self.check_response,
                self._response_context(),
                "response_context",
                self.memo.responses,
            )
        self.check_domain_actions()
        self.check_agents()
        self.check_nlu_triggers()
        self.check_coexistence()
        self.check_model_references()
        self.check_nlg()
        self.check_tests()
        return self.issues

    def _remembered(
        self,
        items: list[tuple[str, Item]],
        check: Callable[[Item], None],
        context: tuple[object, ...],
        context_field: str,
        before: dict[str, tuple[Item, tuple[Issue, ...]]],
    ) -> dict[str, tuple[Item, tuple[Issue, ...]]]:
        """Check each item, or replay its issues from `before` when neither it nor
        `context` changed; returns what to remember for the next run."""
        if getattr(self.memo, context_field) != context:
            before = {}
            setattr(self.memo, context_field, context)
        after: dict[str, tuple[Item, tuple[Issue, ...]]] = {}
        for key, item in items:
            cached = before.get(key)
            if cached is not None and cached[0] is item:
                self.issues.extend(cached[1])
                after[key] = cached
                continue
            start = len(self.issues)
            check(item)
            after[key] = (item, tuple(self.issues[start:]))
        return after

    def _flow_context(self) -> tuple[object, ...]:
        """All that the checks of one flow read outside that flow."""
        project = self.project
        return (
            tuple(self.slots.items()),
            frozenset(self.responses),
            frozenset(self.known_actions),
            tuple((f.id, any(s.kind == "link" for s in f.steps)) for f in project.flows.values()),
            frozenset(project.agents),
            frozenset(project.endpoints.mcp_servers),
        )

    def _response_context(self) -> tuple[object, ...]:
        """All that the checks of one response read outside that response."""
        return (
            tuple(self.slots.items()),
            self.template_variables,
            frozenset(self.rejection_responses),
        )

    # -- flows ------------------------------------------------------------------------

    def check_flow(self, flow: Flow) -> None:
        file = flow.source.file
        if flow.is_pattern and flow.id not in _default_pattern_ids():
            self.issues.warning(
                file,
                flow.source.line,
                "unknown-pattern",
                f"'{flow.id}' looks like a pattern but no such pattern exists",
                "ids starting with 'pattern_' are reserved for conversation patterns",
            )
        if isinstance(flow.guard, str) and not flow.is_link_only:
            self.check_condition(
                flow.guard,
                file,
                _line(flow.raw, "if", flow.source.line),
                flow,
                slots_strict=False,
            )
        for name in flow.persisted_slots:
            if name not in self.slots:
                self.issues.error(
                    file,
                    _line(flow.raw, "persisted_slots", flow.source.line),
                    "unknown-slot",
                    f"persisted slot '{name}' of flow '{flow.id}' is not in the domain",
                    "add the slot to the domain or remove it from persisted_slots",
                )
        step_ids = {step.id for step in flow.steps}
        for step in flow.steps:
            self.check_step(flow, step)
            for target, line in _targets(step):
                if target != END_STEP and target not in step_ids:
                    self.issues.error(
                        file,
                        line,
                        "unknown-next",
                        f"`next` of step '{step.id}' points to unknown step '{target}'",
                        suggest(target, step_ids, "use an existing step id or END"),
                    )
        self.check_reachable(flow)

    def check_step(self, flow: Flow, step: Step) -> None:
        file, line = step.source.file, step.source.line
        if step.kind == "collect":
            self.check_collect(flow, step)
        elif step.kind == "action":
            self.check_action(step.action or "", file, line, f"step in flow '{flow.id}'")
        elif step.kind in ("link", "call"):
            self.check_flow_reference(flow, step)
        elif step.kind == "set_slots":
            for (name, value), pair_line in zip(
                step.slot_values, step.slot_value_lines, strict=True
            ):
                slot = self.slots.get(name)
                if slot is None:
                    self.unknown_slot(name, file, pair_line, f"set_slots in flow '{flow.id}'")
                elif slot.type == "list":
                    self.issues.error(
                        file,
                        pair_line,
                        "list-slot-not-allowed",
                        f"list slot '{name}' cannot be set by set_slots",
                        "list slots are filled by custom actions",
                    )
                else:
                    self.check_categorical(name, value, file, pair_line, strict=False)
        if isinstance(step.next, ConditionalNext):
            for branch in step.next.branches:
                if branch.condition is not None:
                    self.check_condition(
                        branch.condition, file, branch.source.line, flow, values_strict=True
                    )

    def check_collect(self, flow: Flow, step: Step) -> None:
        file, line = step.source.file, step.source.line
        name = step.collect or ""
        slot = self.slots.get(name)
        if slot is None:
            self.unknown_slot(name, file, line, f"collect in flow '{flow.id}'")
        elif slot.type == "list":
            self.issues.error(
                file,
                line,
                "list-slot-not-allowed",
                f"list slot '{name}' cannot be collected",
                "collect a text slot and build the list in a custom action",
            )
        if step.utter and step.utter not in self.responses:
            self.issues.error(
                file,
                line,
                "unknown-response",
                f"collect of '{name}' uses response '{step.utter}', which is not in the domain",
                suggest(step.utter, self.responses, "add the response to the domain"),
            )
        elif (
            not step.utter
            and utter_ask(name) not in self.responses
            and action_ask(name) not in self.known_actions
            and not (slot and slot.initial_value is not None)
        ):
            self.issues.warning(
                file,
                line,
                "missing-ask-response",
                f"collect of '{name}' has no utter_ask_{name} response or action_ask_{name}",
                f"add a response `utter_ask_{name}` with the question to ask",
            )
        for rejection in step.rejections:
            self.check_condition(
                rejection.condition, file, rejection.source.line, flow, only_slot=name
            )
            if rejection.utter and rejection.utter not in self.responses:
                # Rasa does not check it; the rejection then has nothing to say
                self.issues.warning(
                    file,
                    rejection.source.line,
                    "unknown-response",
                    f"rejection utters '{rejection.utter}', which is not in the domain",
                    suggest(rejection.utter, self.responses, "add the response to the domain"),
                )

    def check_action(self, name: str, file: str, line: int, where: str) -> None:
        if "{{" in name or name in self.responses or name in self.known_actions:
            return
        if name.startswith(UTTER_PREFIX):
            hint = suggest(name, self.responses, f"add a response '{name}' to the domain")
            self.issues.error(
                file, line, "unknown-action", f"{where} runs '{name}', which is no response", hint
            )
        else:
            hint = suggest(
                name,
                self.known_actions,
                "define it in the actions package and list it under `actions:` in the domain",
            )
            self.issues.error(
                file,
                line,
                "unknown-action",
                f"{where} runs '{name}', which is neither a response, a custom action "
                "nor a built-in action",
                hint,
            )

    def check_flow_reference(self, flow: Flow, step: Step) -> None:
        file, line = step.source.file, step.source.line
        target = step.target or ""
        if step.kind == "call":
            self.check_call(flow, step)
            return
        other = self.project.flows.get(target)
        if other is None:
            self.issues.error(
                file,
                line,
                "unknown-flow",
                f"`link` to unknown flow '{target}'",
                suggest(target, self.project.flows, "use the id of a flow defined in the project"),
            )
            return
        linkable = LINKABLE_FROM_PATTERNS if flow.is_pattern else LINKABLE_PATTERNS
        if other.is_pattern and target not in linkable:
            self.issues.error(
                file,
                line,
                "invalid-link",
                f"pattern '{target}' cannot be linked to"
                + (" from a pattern" if flow.is_pattern else ""),
                "linkable patterns: " + ", ".join(sorted(linkable)),
            )
        elif flow.id == PATTERN_INTERNAL_ERROR and not other.is_pattern:
            self.issues.error(
                file,
                line,
                "invalid-link",
                "pattern_internal_error cannot link to a user flow",
                "link to pattern_human_handoff instead, or remove the link",
            )

    def check_call(self, flow: Flow, step: Step) -> None:
        """A call runs a flow, a sub-agent or (with mcp_server + mapping) an MCP tool,
        as Rasa's `validate_call_steps` and `validate_mcp_server_references` decide."""
        file, line = step.source.file, step.source.line
        target = step.call or ""
        if flow.is_pattern:
            self.issues.error(
                file,
                line,
                "invalid-call",
                f"pattern '{flow.id}' has a call step; patterns cannot call",
                "patterns may only link (e.g. to pattern_human_handoff)",
            )
        if is_pattern(target):
            self.issues.error(
                file,
                line,
                "invalid-call",
                f"pattern '{target}' cannot be called",
                "call a user flow; patterns run on their own",
            )
            return
        if step.calls_mcp_tool:
            self.check_mcp_call(step)
            return
        other = self.project.flows.get(target)
        is_agent = target in self.project.agents
        if step.exit_if:
            if is_agent or (other is None and not self.project.agents):
                self.check_exit_if(flow, step)
            else:
                self.issues.error(
                    file,
                    _line(step.raw, "exit_if", line),
                    "invalid-exit-if",
                    f"`exit_if` on a call of '{target}', which is no sub-agent",
                    "`exit_if` ends a sub-agent's loop; flows end on their own",
                )
        if is_agent:
            return
        if other is None:
            # Rasa errors only when it has agent configs; without any it cannot tell a
            # sub-agent defined elsewhere from a typo and warns
            report = self.issues.error if self.project.agents else self.issues.warning
            names = set(self.project.flows) | set(self.project.agents)
            report(
                file,
                line,
                "unknown-flow",
                f"`call` to unknown flow or sub-agent '{target}'",
                suggest(
                    target,
                    names,
                    "use a flow id, or an agent name from sub_agents/<folder>/config.yml",
                ),
            )
            return
        if any(s.kind == "link" for s in other.steps):
            self.issues.error(
                file,
                line,
                "invalid-call",
                f"flow '{target}' is called but contains a `link` step",
                "called flows return to their caller; remove the link or use `link:` here",
            )
        if target == flow.id:
            # Rasa resolves called flows recursively while loading and never returns
            self.issues.error(file, line, "invalid-call", f"flow '{flow.id}' calls itself")

    def check_mcp_call(self, step: Step) -> None:
        file, line = step.source.file, step.source.line
        server = step.mcp_server or ""
        if server not in self.project.endpoints.mcp_servers:
            self.issues.error(
                file,
                _line(step.raw, "mcp_server", line),
                "unknown-mcp-server",
                f"call of MCP tool '{step.call}' uses server '{server}', which endpoints.yml "
                "does not define",
                suggest(
                    server,
                    self.project.endpoints.mcp_servers,
                    "add it under `mcp_servers:` in endpoints.yml with name, url and type",
                ),
            )
        mapping_line = _line(step.raw, "mapping", line)
        for name in [slot for _, slot in step.mcp_input] + [slot for slot, _ in step.mcp_output]:
            if name not in self.slots:
                self.unknown_slot(name, file, mapping_line, f"the mapping of tool '{step.call}'")

    def check_exit_if(self, flow: Flow, step: Step) -> None:
        file = step.source.file
        line = _line(step.raw, "exit_if", step.source.line)
        for condition in step.exit_if:
            if not SLOT_REFERENCE_RE.search(condition):
                self.issues.error(
                    file,
                    line,
                    "invalid-exit-if",
                    f"exit_if condition {condition!r} refers to no slot",
                    "an exit condition tests slots, e.g. `slots.order_id is not null`",
                )
                continue
            self.check_condition(condition, file, line, flow)

    def check_reachable(self, flow: Flow) -> None:
        if not flow.steps:
            return
        seen = {flow.steps[0].id}
        todo = [flow.steps[0]]
        while todo:
            step = todo.pop()
            for target, _ in _targets(step):
                nxt = flow.step(target)
                if nxt is not None and nxt.id not in seen:
                    seen.add(nxt.id)
                    todo.append(nxt)
        for step in flow.steps:
            if step.id not in seen:
                self.issues.warning(
                    step.source.file,
                    step.source.line,
                    "unreachable-step",
                    f"step '{step.id}' in flow '{flow.id}' can never be reached",
                    "point a `next` at it or remove it",
                )

    # -- conditions, slots, values ------------------------------------------------------

    def check_condition(
        self,
        text: str,
        file: str,
        line: int,
        flow: Flow | None,
        only_slot: str | None = None,
        slots_strict: bool | str = True,
        values_strict: bool = False,
    ) -> None:
        """Syntax errors are errors everywhere. `slots_strict`: an unknown slot is an error
        (Rasa checks every name in `next` conditions and rejections); False: a warning
        (flow guards, where it only makes the guard false); "compared": an error only where
        the slot is compared with something (response conditions, where Rasa checks the
        comparison and not a bare `slots.x`). `values_strict`: a categorical value outside
        the slot's values is an error (Rasa checks them in `next` conditions only)."""
        plain = JINJA_EXPR_RE.sub(JINJA_STAND_IN, text)
        error = check_syntax(plain)
        if error is not None:
            self.issues.error(
                file,
                line,
                "condition-syntax",
                f"condition {text!r} is invalid: {error.message} "
                f"(at character {error.position + 1})",
                "quote strings ('value'), compare with = != > < and join with and/or",
            )
            return
        for pattern in risky_patterns(plain):
            self.issues.warning(
                file,
                line,
                "slow-regex",
                f"condition {text!r}: the pattern {pattern!r} repeats a repetition, which "
                "can take minutes on some input (and freezes the turn)",
                "rewrite it without a repetition inside a repetition, e.g. (a+)+ as a+",
            )
        for name in parse_condition(plain).slot_names():
            if JINJA_STAND_IN in name:
                continue
            if name not in self.slots:
                strict = (
                    _is_compared(name, plain) if slots_strict == "compared" else bool(slots_strict)
                )
                self.unknown_slot(name, file, line, f"condition {text!r}", strict=strict)
            elif only_slot and name != only_slot:
                self.issues.warning(
                    file,
                    line,
                    "rejection-other-slot",
                    f"rejection condition {text!r} uses slot '{name}', which is undefined "
                    f"there (only slots.{only_slot} is available), so it never matches",
                    f"refer to slots.{only_slot} only",
                )
        for match in SLOT_THEN_VALUE_RE.finditer(plain):
            self.check_categorical(match.group(1), match.group(3), file, line, values_strict)
        for match in VALUE_THEN_SLOT_RE.finditer(plain):
            self.check_categorical(match.group(3), match.group(2), file, line, values_strict)

    def check_categorical(
        self, name: str, value: object, file: str, line: int, strict: bool = True
    ) -> None:
        """`strict`: Rasa refuses the value (in conditions); otherwise (set_slots, button
        payloads) Rasa accepts it and the slot gets a value outside its `values`."""
        slot = self.slots.get(name)
        if slot is None or slot.type != "categorical" or value is None or not slot.values:
            return
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text.lower() not in {v.lower() for v in slot.values} | {"__other__"}:
            report = self.issues.error if strict else self.issues.warning
            report(
                file,
                line,
                "invalid-categorical-value",
                f"'{text}' is not a value of categorical slot '{name}'",
                "allowed: " + ", ".join(slot.values),
            )

    def unknown_slot(
        self, name: str, file: str, line: int, where: str, strict: bool = True
    ) -> None:
        """`strict`: Rasa refuses the name; otherwise Rasa accepts it and it never matches
        a slot (fixtures, old-style response conditions)."""
        (self.issues.error if strict else self.issues.warning)(
            file,
            line,
            "unknown-slot",
            f"{where} refers to slot '{name}', which is not in the domain",
            suggest(name, self.slots, f"add `{name}:` under `slots:` in the domain"),
        )

    # -- responses, domain, config, tests --------------------------------------------------

    def check_response(self, response: Response) -> None:
        variables = self.template_variables
        if response.name in self.rejection_responses:
            variables = variables | {"value"}  # rejections pass the rejected value
        for variation in response.variations:
            file, line = variation.source.file, variation.source.line
            texts = [variation.text or ""] + [b.title for b in variation.buttons]
            # Rasa does not check placeholders, and a custom action may pass the variable
            # in its call: a warning, however likely the text goes out uninterpolated
            for name in self._template_names(texts, variation.uses_jinja):
                if name not in variables:
                    self.issues.warning(
                        file,
                        line,
                        "unknown-slot",
                        f"response '{response.name}' refers to '{name}', which is no slot "
                        "(the text would be sent uninterpolated)",
                        suggest(
                            name,
                            self.slots,
                            "add the slot, or pass it from a custom action as "
                            f"utter_message(response=..., {name}=...)",
                        ),
                    )
            condition_line = _line(variation.raw, "condition", line)
            if isinstance(variation.condition, str):
                self.check_condition(
                    variation.condition, file, condition_line, None, slots_strict="compared"
                )
            elif isinstance(variation.condition, tuple):
                for item in variation.condition:
                    name = str(item.get("name", ""))
                    if item.get("type", "slot") == "slot" and name not in self.slots:
                        self.unknown_slot(
                            name,
                            file,
                            condition_line,
                            f"condition of '{response.name}'",
                            strict=False,
                        )
            for button in variation.buttons:
                self.check_payload(
                    button.payload, file, button.line or line, f"button of '{response.name}'"
                )

    def _template_names(self, texts: Iterable[str], jinja: bool) -> set[str]:
        names: set[str] = set()
        for text in texts:
            if jinja:
                names |= _jinja_names(text)
            else:
                names |= {m.group(1) for m in PLACEHOLDER_RE.finditer(text)}
        return names

    def check_payload(self, payload: str, file: str, line: int, where: str) -> None:
        match = SET_SLOTS_RE.match(payload.strip())
        if not match:
            return
        for part in _split_assignments(match.group(1)):
            if "=" not in part:
                continue
            name, value = (s.strip() for s in part.split("=", 1))
            if name not in self.slots:
                self.unknown_slot(name, file, line, where)
            else:
                self.check_categorical(name, value.strip("'\""), file, line, strict=False)

    def check_domain_actions(self) -> None:
        for name, info in self.project.custom_actions.items():
            if name not in self.project.domain.actions:
                self.issues.warning(
                    info.source.file,
                    info.source.line,
                    "action-not-in-domain",
                    f"custom action '{name}' is not listed under `actions:` in the domain",
                    f"add `- {name}` to the domain's actions list",
                )
        if self.project.endpoints.action_endpoint_url or not _actions_dir_exists(self.project):
            return  # the actions live elsewhere; nothing to compare with
        for name, source in self.project.domain.actions.items():
            if (
                not name.startswith(UTTER_PREFIX)
                and name not in self.project.custom_actions
                and name not in BUILTIN_ACTIONS
            ):
                self.issues.warning(
                    source.file,
                    source.line,
                    "action-not-implemented",
                    f"action '{name}' is listed in the domain but not defined in the actions code",
                    "add a class whose name() returns it, or remove it from the domain",
                )

    def check_nlu_triggers(self) -> None:
        """An intent starts one flow at most (Rasa refuses the flows otherwise)."""
        first: dict[str, Flow] = {}
        for flow in self.project.flows.values():
            for trigger in flow.nlu_triggers:
                other = first.setdefault(trigger.intent, flow)
                if other is not flow:
                    self.issues.error(
                        flow.source.file,
                        _line(flow.raw, "nlu_trigger", flow.source.line),
                        "duplicate-nlu-trigger",
                        f"intent '{trigger.intent}' already starts flow '{other.id}' "
                        f"({other.source})",
                        "an intent may trigger one flow only",
                    )

    def check_agents(self) -> None:
        for name, agent in self.project.agents.items():
            if name in self.project.flows:
                self.issues.error(
                    agent.source.file,
                    agent.source.line,
                    "agent-flow-conflict",
                    f"agent name '{name}' is also a flow id ({self.project.flows[name].source})",
                    "rename the agent or the flow; a `call` could not tell them apart",
                )

    def check_coexistence(self) -> None:
        """Rasa refuses to train a router without a bool `route_session_to_calm` slot, and
        that slot without a router."""
        router = self.project.config.router
        slot = self.slots.get(ROUTE_SESSION_TO_CALM)
        config = self.project.config.source
        if router and (slot is None or slot.type != "bool"):
            self.issues.error(
                config.file,
                config.line,
                "coexistence-slot",
                f"{router} is in the pipeline but the domain has no bool slot "
                f"'{ROUTE_SESSION_TO_CALM}'",
                f"add `{ROUTE_SESSION_TO_CALM}: {{type: bool}}` under `slots:` in the domain",
            )
        elif slot is not None and not router and not slot.is_builtin:
            self.issues.error(
                slot.source.file,
                slot.source.line,
                "coexistence-slot",
                f"slot '{ROUTE_SESSION_TO_CALM}' is in the domain but no router "
                "(LLMBasedRouter, IntentBasedRouter) is in config.yml's pipeline",
                "add a router to the pipeline, or remove the slot",
            )

    def check_model_references(self) -> None:
        generator = self.project.config.command_generator
        if generator is None:
            return
        groups = self.project.endpoints.model_groups
        for section_name, section in (
            ("llm", generator.llm),
            ("flow_retrieval.embeddings", generator.flow_retrieval.get("embeddings") or {}),
        ):
            group = section.get("model_group") if isinstance(section, dict) else None
            if group and group not in groups:
                self.issues.error(
                    generator.source.file,
                    generator.source.line,
                    "unknown-model-group",
                    f"{section_name} of {generator.name} uses model group '{group}', "
                    "which endpoints.yml does not define",
                    "add it under `model_groups:` in endpoints.yml",
                )
        template = generator.prompt_template
        if template and not (self.project.root / template).is_file():
            self.issues.error(
                generator.source.file,
                generator.source.line,
                "missing-prompt-template",
                f"prompt template '{template}' does not exist",
                "give a path relative to the project folder",
            )
        elif template:
            source = template_source(self.project.root / template)
            for name, line in undeclared_variables(source or "", COMMAND_PROMPT_VARIABLES):
                self.issues.warning(
                    template,
                    line,
                    "undefined-prompt-variable",
                    f"the prompt template uses `{name}`, which the command generator never "
                    "passes: it renders empty",
                    "check the spelling against the variables Rasa passes (available_flows, "
                    "current_conversation, flow_slots, current_flow, current_slot, ...)",
                )

    def check_nlg(self) -> None:
        """`nlg: type: rephrase`: its model group and prompt template must exist."""
        settings = rephrase_settings(self.project.endpoints)
        if settings is None:
            return
        file = self.project.endpoints.source.file
        line = line_of(self.project.endpoints.raw, "nlg")
        group = settings.llm.get("model_group")
        if group and group not in self.project.endpoints.model_groups:
            self.issues.error(
                file,
                line,
                "unknown-model-group",
                f"nlg uses model group '{group}', which endpoints.yml does not define",
                "add it under `model_groups:`",
            )
        template = settings.prompt_template
        if template and not (self.project.root / template).is_file():
            self.issues.error(
                file,
                line,
                "missing-prompt-template",
                f"nlg prompt template '{template}' does not exist",
                "give a path relative to the project folder",
            )

    def check_tests(self) -> None:
        reported_fixtures: set[str] = set()  # shared conftest fixtures are reported once
        for test_file in self.project.test_files:
            for case in test_file.test_cases:
                for name in case.fixtures:
                    if name not in test_file.fixtures:
                        self.issues.error(
                            test_file.path,
                            case.source.line,
                            "unknown-fixture",
                            f"test case '{case.name}' uses unknown fixture '{name}'",
                            "define it under `fixtures:` in this file or a conftest.yml",
                        )
                for step in case.steps:
                    if step.kind == "utter" and step.value not in self.responses:
                        # Rasa does not check it; the test case fails when it runs
                        self.issues.warning(
                            test_file.path,
                            step.source.line,
                            "unknown-response",
                            f"test case '{case.name}' expects unknown response '{step.value}'",
                            suggest(str(step.value), self.responses, "check the response name"),
                        )
            for fixture_name, fixture in test_file.fixtures.items():
                sources = test_file.fixture_sources.get(fixture_name, ())
                for (name, _), source in zip(fixture, sources, strict=False):
                    if name not in self.slots and source.file not in reported_fixtures:
                        self.unknown_slot(
                            name,
                            source.file,
                            source.line,
                            f"fixture '{fixture_name}'",
                            strict=False,
                        )
            reported_fixtures.update(
                s.file
                for sources in test_file.fixture_sources.values()
                for s in sources
                if s.file != test_file.path
            )


def _targets(step: Step) -> list[tuple[str, int]]:
    if isinstance(step.next, StaticNext):
        source = step.next.source
        return [(step.next.target, source.line if source else step.source.line)]
    if isinstance(step.next, ConditionalNext):
        return [(b.target, b.source.line) for b in step.next.branches]
    return []


def _is_compared(slot: str, condition: str) -> bool:
    name = re.escape(slot)
    operator = r"(?:==|=|!=|>=|<=|>|<|is\b|contains\b|matches\b)"
    return bool(
        re.search(rf"slots\.{name}\s*{operator}", condition)
        or re.search(rf"{operator}\s*slots\.{name}\b", condition)
    )


def _line(raw: JSONObject, key: str, default: int) -> int:
    line_of = getattr(raw, "line_of", None)
    return line_of(key) if line_of else default


def _split_assignments(text: str) -> list[str]:
    """Split `a=1, b=[x, y]` on commas outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _jinja_names(text: str) -> set[str]:
    if "{" not in text:
        return set()
    from jinja2 import Environment, TemplateSyntaxError, meta

    try:
        return set(meta.find_undeclared_variables(Environment().parse(text)))
    except TemplateSyntaxError:
        return set()


def _default_pattern_ids() -> frozenset[str]:
    from workbench.project.loader import default_patterns

    return frozenset(default_patterns()[0])


def _actions_dir_exists(project: Project) -> bool:
    from workbench.project.actions_scan import actions_paths

    return bool(actions_paths(project.root, project.endpoints.actions_module))
