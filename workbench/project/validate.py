"""Cross-reference checks over a loaded project: every name a flow, response, button or
test uses must exist, every step must be reachable, every condition must parse."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..engine.conditions import check_syntax, parse_condition
from .issues import IssueList, suggest
from .loader import LoadResult, load_project
from .model import END_STEP, ConditionalNext, Flow, Project, Response, StaticNext, Step

BUILTIN_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_session_start",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_unlikely_intent",
        "action_back",
        "action_send_text",
        "action_extract_slots",
        "action_validate_slot_mappings",
        "action_cancel_flow",
        "action_correct_flow_slot",
        "action_clarify_flows",
        "action_continue_interrupted_flow",
        "action_cancel_interrupted_flows",
        "action_run_slot_rejections",
        "action_trigger_search",
        "action_trigger_chitchat",
        "action_clean_stack",
        "action_repeat_bot_messages",
        "action_handoff_metric",
        "action_hangup",
        "action_reset_routing",
    }
)
REJECTION_RESPONSES = (
    "utter_boolean_slot_rejection",
    "utter_float_slot_rejection",
    "utter_categorical_slot_rejection",
)
LINKABLE_PATTERNS = frozenset(
    {"pattern_human_handoff", "pattern_search", "pattern_customer_satisfaction"}
)
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


def validate_path(root: str | Path, *, actions_python: str | Path | None = None) -> LoadResult:
    """Load and validate a project folder; all issues end up in the result.
    `actions_python`: the interpreter the actions run on (`--actions-python`)."""
    result = load_project(root)
    result.issues.extend(validate_project(result.project, actions_python=actions_python))
    return result


def validate_project(project: Project, *, actions_python: str | Path | None = None) -> IssueList:
    from .actions_python import action_import_issues

    issues = _Validator(project).run()
    # modules the actions import that their Python lacks (`import rasa` without Rasa)
    issues.extend(action_import_issues(project, actions_python))
    return issues


class _Validator:
    def __init__(self, project: Project) -> None:
        self.project = project
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
        self.used_responses = {
            name
            for flow in project.flows.values()
            for step in flow.steps
            for name in (step.action, step.collect and step.ask_utter)
            if name
        } | self.rejection_responses
        for slot in self.slots.values():
            for rejection in (slot.validation or {}).get("rejections") or []:
                if isinstance(rejection, dict) and rejection.get("utter"):
                    self.rejection_responses.add(str(rejection["utter"]))

    def run(self) -> IssueList:
        for flow in self.project.flows.values():
            if not flow.is_default_pattern:
                self.check_flow(flow)
        for response in self.responses.values():
            if not response.is_default:
                self.check_response(response)
        self.check_domain_actions()
        self.check_model_references()
        self.check_tests()
        return self.issues

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
            self.check_condition(flow.guard, file, _line(flow.raw, "if", flow.source.line), flow)
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
                    self.check_categorical(name, value, file, pair_line)
        if isinstance(step.next, ConditionalNext):
            for branch in step.next.branches:
                if branch.condition is not None:
                    self.check_condition(branch.condition, file, branch.source.line, flow)

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
            and f"utter_ask_{name}" not in self.responses
            and f"action_ask_{name}" not in self.known_actions
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
                self.issues.error(
                    file,
                    rejection.source.line,
                    "unknown-response",
                    f"rejection utters '{rejection.utter}', which is not in the domain",
                    suggest(rejection.utter, self.responses, "add the response to the domain"),
                )

    def check_action(self, name: str, file: str, line: int, where: str) -> None:
        if "{{" in name or name in self.responses or name in self.known_actions:
            return
        if name.startswith("utter_"):
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
        other = self.project.flows.get(target)
        if other is None:
            self.issues.error(
                file,
                line,
                "unknown-flow",
                f"`{step.kind}` to unknown flow '{target}'",
                suggest(target, self.project.flows, "use the id of a flow defined in the project"),
            )
            return
        if step.kind == "link" and other.is_pattern and target not in LINKABLE_PATTERNS:
            self.issues.error(
                file,
                line,
                "invalid-link",
                f"pattern '{target}' cannot be linked to",
                "linkable patterns: " + ", ".join(sorted(LINKABLE_PATTERNS)),
            )
        if step.kind == "call":
            if other.is_pattern:
                self.issues.error(
                    file,
                    line,
                    "invalid-call",
                    f"pattern '{target}' cannot be called",
                    "call a user flow; patterns run on their own",
                )
            elif any(s.kind == "link" for s in other.steps):
                self.issues.error(
                    file,
                    line,
                    "invalid-call",
                    f"flow '{target}' is called but contains a `link` step",
                    "called flows return to their caller; remove the link or use `link:` here",
                )
            if target == flow.id:
                self.issues.error(file, line, "invalid-call", f"flow '{flow.id}' calls itself")

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
        self, text: str, file: str, line: int, flow: Flow | None, only_slot: str | None = None
    ) -> None:
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
        for name in parse_condition(plain).slot_names():
            if JINJA_STAND_IN in name:
                continue
            if name not in self.slots:
                self.unknown_slot(name, file, line, f"condition {text!r}")
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
            self.check_categorical(match.group(1), match.group(3), file, line)
        for match in VALUE_THEN_SLOT_RE.finditer(plain):
            self.check_categorical(match.group(3), match.group(2), file, line)

    def check_categorical(self, name: str, value: object, file: str, line: int) -> None:
        slot = self.slots.get(name)
        if slot is None or slot.type != "categorical" or value is None:
            return
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text.lower() not in {v.lower() for v in slot.values} | {"__other__"}:
            self.issues.error(
                file,
                line,
                "invalid-categorical-value",
                f"'{text}' is not a value of categorical slot '{name}'",
                "allowed: " + ", ".join(slot.values),
            )

    def unknown_slot(self, name: str, file: str, line: int, where: str) -> None:
        self.issues.error(
            file,
            line,
            "unknown-slot",
            f"{where} refers to slot '{name}', which is not in the domain",
            suggest(name, self.slots, f"add `{name}:` under `slots:` in the domain"),
        )

    # -- responses, domain, config, tests --------------------------------------------------

    def check_response(self, response: Response) -> None:
        variables = set(self.slots) | CONTEXT_KEYS | set(self.project.response_kwargs)
        variables.add("context")
        if response.name in self.rejection_responses:
            variables.add("value")  # rejections pass the rejected value
        for variation in response.variations:
            file, line = variation.source.file, variation.source.line
            texts = [variation.text or ""] + [b.title for b in variation.buttons]
            # a response no flow sends may get its variables from a custom action's call
            report = (
                self.issues.error if response.name in self.used_responses else (self.issues.warning)
            )
            for name in self._template_names(texts, variation.uses_jinja):
                if name not in variables:
                    report(
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
                self.check_condition(variation.condition, file, condition_line, None)
            elif isinstance(variation.condition, tuple):
                for item in variation.condition:
                    name = str(item.get("name", ""))
                    if item.get("type", "slot") == "slot" and name not in self.slots:
                        self.unknown_slot(
                            name, file, condition_line, f"condition of '{response.name}'"
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
                self.check_categorical(name, value.strip("'\""), file, line)

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
                not name.startswith("utter_")
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
                        self.issues.error(
                            test_file.path,
                            step.source.line,
                            "unknown-response",
                            f"test case '{case.name}' expects unknown response '{step.value}'",
                            suggest(step.value, self.responses, "check the response name"),
                        )
            for fixture_name, fixture in test_file.fixtures.items():
                sources = test_file.fixture_sources.get(fixture_name, ())
                for (name, _), source in zip(fixture, sources, strict=False):
                    if name not in self.slots and source.file not in reported_fixtures:
                        self.unknown_slot(
                            name, source.file, source.line, f"fixture '{fixture_name}'"
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


def _line(raw: dict, key: str, default: int) -> int:
    line_of = getattr(raw, "line_of", None)
    return line_of(key) if line_of else default


def _split_assignments(text: str) -> list[str]:
    """Split `a=1, b=[x, y]` on commas outside brackets."""
    parts, depth, current = [], 0, []
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
    from .loader import default_patterns

    return frozenset(default_patterns()[0])


def _actions_dir_exists(project: Project) -> bool:
    from .actions_scan import actions_paths

    return bool(actions_paths(project.root, project.endpoints.actions_module))
