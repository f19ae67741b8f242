"""Build `Flow` objects from the `flows:` map of a YAML file.

Nested `then`/`else` step lists are flattened the way Rasa does it: steps are numbered in
a depth-first walk (branch steps included) and a step without an `id` gets
`<flow_id>_<idx>_<postfix>`. A step without `next` continues with its next sibling; the
last top-level step ends the flow; the last step of a branch list must say where to go.
Structural problems are reported as issues and never raise.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from workbench.calm.values import JSONObject, JSONValue, UncheckedObject
from workbench.project.issues import IssueList, suggest
from workbench.project.model import (
    END_STEP,
    NEXT_PREFIX,
    START_STEP,
    Branch,
    ConditionalNext,
    Flow,
    Next,
    NluTrigger,
    Rejection,
    Source,
    StaticNext,
    Step,
)
from workbench.project.yaml_io import YamlMap, line_of

FLOW_ID_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]*$")

FLOW_KEYS = frozenset(
    {
        "description",
        "steps",
        "name",
        "if",
        "nlu_trigger",
        "persisted_slots",
        "always_include_in_prompt",
        "run_pattern_completed",
        "translation",
        "metadata",
        "file_path",
        "on_activate",
    }
)
STEP_KINDS = ("action", "collect", "link", "call", "set_slots", "noop")
COMMON_STEP_KEYS = frozenset({"id", "next", "description", "metadata"})
STEP_KEYS = {
    "action": COMMON_STEP_KEYS | {"action"},
    "collect": COMMON_STEP_KEYS
    | {
        "collect",
        "utter",
        "ask_before_filling",
        "reset_after_flow_ends",
        "rejections",
        "force_slot_filling",
        "silence_timeout",
        "dtmf",
        "collect-tool-binding",
    },
    "link": COMMON_STEP_KEYS - {"next"} | {"link"},
    "call": COMMON_STEP_KEYS | {"call", "mcp_server", "mapping", "exit_if"},
    "set_slots": COMMON_STEP_KEYS | {"set_slots"},
    "noop": COMMON_STEP_KEYS | {"noop"},
}
# Rasa's flow schema forbids extra keys only in action, collect and call steps; elsewhere
# an unknown key is ignored, so it is worth a warning, not an error
CLOSED_STEP_KINDS = frozenset({"action", "collect", "call"})
RESERVED_STEP_IDS = (START_STEP, END_STEP)


def default_flow_name(flow_id: str) -> str:
    return flow_id.replace("_", " ").replace("-", " ")


def fingerprint(data: object) -> str:
    """A short stable hash of a flow's YAML content (detects edits of live flows)."""
    encoded = json.dumps(_canonical(data), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(encoded.encode(), digest_size=8).hexdigest()


@dataclass
class _Draft:
    """A step while ids are being assigned (ids of siblings are known only after the walk)."""

    data: YamlMap
    kind: str
    idx: int
    id: str = ""
    explicit_id: bool = False
    # (condition or None for else / static, target id, or nested drafts, line)
    # (condition, target: a step id or the steps of a nested branch, line)
    links: list[tuple[str | None, str | list[_Draft], int]] = field(default_factory=list)
    conditional: bool = False
    next_given: bool = False


class FlowBuilder:
    def __init__(self, file: str, issues: IssueList) -> None:
        self.file = file
        self.issues = issues

    # -- flows ------------------------------------------------------------------------

    def build_all(self, flows: object, line: int) -> list[Flow]:
        if not isinstance(flows, dict):
            self.issues.error(
                self.file,
                line,
                "flows-not-mapping",
                "'flows' must be a mapping of flow ids",
                "write `flows:` followed by indented `my_flow:` entries",
            )
            return []
        result = []
        for flow_id, data in flows.items():
            if not isinstance(flow_id, str):
                # `~:`, `true:`, `1:` are keys YAML reads as null, a bool, a number; Rasa
                # fails on them, and as "None" or "True" they would be a different name
                self.issues.error(
                    self.file,
                    flows.line_of(flow_id) if isinstance(flows, YamlMap) else line,
                    "invalid-flow-id",
                    f"flow id {_as_yaml(flow_id)} is read as {_key_kind(flow_id)}, not a name",
                    "use a name of letters, digits, '_' and '-' (quote it if it must "
                    "look like a number)",
                )
                continue
            flow = self.build(flow_id, data, line_of(flows, flow_id))
            if flow is not None:
                result.append(flow)
        return result

    def build(self, flow_id: str, data: object, line: int) -> Flow | None:
        src = Source(self.file, line)
        if not FLOW_ID_RE.match(flow_id):
            self.issues.error(
                self.file,
                line,
                "invalid-flow-id",
                f"invalid flow id '{flow_id}'",
                "use letters, digits, '_' and '-' only, not starting with '-'",
            )
        if not isinstance(data, dict):
            self.issues.error(
                self.file,
                line,
                "flow-not-mapping",
                f"flow '{flow_id}' must be a mapping",
                "give the flow a `description:` and a list of `steps:`",
            )
            return None
        for key in data:
            if key not in FLOW_KEYS:
                self.issues.error(
                    self.file,
                    line_of(data, key),
                    "unknown-flow-key",
                    f"unknown key '{key}' in flow '{flow_id}'",
                    suggest(str(key), FLOW_KEYS, "allowed: " + ", ".join(sorted(FLOW_KEYS))),
                )
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            description = str(description)
        if not description or not str(description).strip():
            self.issues.warning(
                self.file,
                line,
                "missing-description",
                f"flow '{flow_id}' has no description",
                "add a `description:`; the model picks flows by it",
            )
        steps_data = data.get("steps")
        steps: tuple[Step, ...] = ()
        if not isinstance(steps_data, list) or not steps_data:
            self.issues.error(
                self.file,
                line_of(data, "steps") if "steps" in data else line,
                "missing-steps",
                f"flow '{flow_id}' needs a non-empty list of steps",
                "add `steps:` with at least one step, e.g. `- action: utter_greet`",
            )
        else:
            steps = self._steps(flow_id, steps_data)
        guard = data.get("if")
        if guard is not None and not isinstance(guard, (str, bool)):
            self.issues.error(
                self.file,
                line_of(data, "if"),
                "invalid-guard",
                f"the `if` guard of flow '{flow_id}' must be a condition string or a bool",
            )
            guard = None
        name = data.get("name")
        return Flow(
            id=flow_id,
            description=str(description).strip() if description else None,
            steps=steps,
            source=src,
            name=str(name) if name else default_flow_name(flow_id),
            guard=guard,
            nlu_triggers=self._nlu_triggers(flow_id, data),
            persisted_slots=self._string_list(flow_id, data, "persisted_slots"),
            always_include_in_prompt=self._bool(flow_id, data, "always_include_in_prompt", False),
            run_pattern_completed=self._bool(flow_id, data, "run_pattern_completed", True),
            fingerprint=fingerprint(data),
            raw=data,
        )

    def _bool(self, flow_id: str, data: JSONObject, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if isinstance(value, bool):
            return value
        self.issues.error(
            self.file,
            line_of(data, key),
            "invalid-value",
            f"'{key}' of flow '{flow_id}' must be true or false",
        )
        return default

    def _string_list(self, flow_id: str, data: JSONObject, key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.issues.error(
            self.file,
            line_of(data, key),
            "invalid-value",
            f"'{key}' of flow '{flow_id}' must be a list of slot names",
        )
        return ()

    def _nlu_triggers(self, flow_id: str, data: JSONObject) -> tuple[NluTrigger, ...]:
        value = data.get("nlu_trigger")
        if value is None:
            return ()
        triggers = []
        items = value if isinstance(value, list) else [value]
        for item in items:
            intent = item.get("intent") if isinstance(item, dict) else None
            if isinstance(item, dict) and "intent" not in item:
                # Rasa's schema lets an entry without `intent` through; it triggers nothing
                self.issues.warning(
                    self.file,
                    line_of(data, "nlu_trigger"),
                    "invalid-nlu-trigger",
                    f"an nlu_trigger entry of flow '{flow_id}' names no intent",
                    "write `- intent: name`",
                )
                continue
            if isinstance(intent, str):
                triggers.append(NluTrigger(intent))
            elif isinstance(intent, dict) and isinstance(intent.get("name"), str):
                try:
                    threshold = float(intent.get("confidence_threshold", 0.0))
                except (TypeError, ValueError):
                    threshold = 0.0
                triggers.append(NluTrigger(intent["name"], threshold))
            else:
                self.issues.error(
                    self.file,
                    line_of(data, "nlu_trigger"),
                    "invalid-nlu-trigger",
                    f"invalid nlu_trigger in flow '{flow_id}'",
                    "write `nlu_trigger: [{intent: name}]` or "
                    "`[{intent: {name: x, confidence_threshold: 0.8}}]`",
                )
        return tuple(triggers)

    # -- steps ------------------------------------------------------------------------

    def _steps(self, flow_id: str, steps_data: list[JSONValue]) -> tuple[Step, ...]:
        counter = [0]
        drafts: list[_Draft] = []
        root = self._walk(flow_id, steps_data, counter, drafts)
        self._link_defaults(root, is_root=True)
        seen: dict[str, int] = {}
        steps = []
        for draft in drafts:
            step_line = draft.data.line
            if draft.id in seen:
                self.issues.error(
                    self.file,
                    step_line,
                    "duplicate-step-id",
                    f"step id '{draft.id}' is used twice in flow '{flow_id}' "
                    f"(first on line {seen[draft.id]})",
                    "give each step a unique `id`",
                )
                continue
            seen[draft.id] = step_line
            steps.append(self._finish(flow_id, draft))
        return tuple(steps)

    def _walk(
        self, flow_id: str, items: list[JSONValue], counter: list[int], drafts: list[_Draft]
    ) -> list[_Draft]:
        sequence = []
        for index, item in enumerate(items):
            line = line_of(items, index)
            if not isinstance(item, dict):
                self.issues.error(
                    self.file,
                    line,
                    "step-not-mapping",
                    f"a step of flow '{flow_id}' must be a mapping, got {_kind_of(item)}",
                    "write steps as `- action: name`, `- collect: slot`, ...",
                )
                continue
            if not isinstance(item, YamlMap):
                item = _as_map(item, line)
            kinds = [k for k in STEP_KINDS if k in item]
            if not kinds:
                self.issues.error(
                    self.file,
                    item.line,
                    "unknown-step-type",
                    f"step in flow '{flow_id}' has no step type "
                    f"(keys: {', '.join(map(str, item)) or 'none'})",
                    "a step needs one of: " + ", ".join(STEP_KINDS),
                )
                continue
            kind = kinds[0]
            if len(kinds) > 1:
                self.issues.error(
                    self.file,
                    item.line,
                    "ambiguous-step",
                    f"step has several step types ({', '.join(kinds)}) in flow '{flow_id}'",
                    "split it into one step per type",
                )
            for key in item:
                if key not in STEP_KEYS[kind] and key not in kinds[1:]:
                    self._unknown_step_key(flow_id, kind, item, key)
            draft = _Draft(data=item, kind=kind, idx=counter[0])
            counter[0] += 1
            draft.id, draft.explicit_id = self._step_id(flow_id, draft)
            drafts.append(draft)
            sequence.append(draft)
            if "next" in item and kind != "link":
                self._parse_next(flow_id, draft, counter, drafts)
        return sequence

    def _unknown_step_key(self, flow_id: str, kind: str, item: YamlMap, key: object) -> None:
        if key == "next":  # only link steps refuse `next`; Rasa rejects it too
            self.issues.error(
                self.file,
                item.line_of(key),
                "unknown-step-key",
                f"a link step cannot have `next` (flow '{flow_id}')",
                "a link step ends the flow; it cannot have `next`",
            )
            return
        hint = suggest(
            str(key),
            STEP_KEYS[kind],
            f"allowed in a {kind} step: " + ", ".join(sorted(STEP_KEYS[kind])),
        )
        if kind in CLOSED_STEP_KINDS:
            self.issues.error(
                self.file,
                item.line_of(key),
                "unknown-step-key",
                f"unknown key '{key}' in {kind} step of flow '{flow_id}'",
                hint,
            )
        else:
            self.issues.warning(
                self.file,
                item.line_of(key),
                "unknown-step-key",
                f"unknown key '{key}' in {kind} step of flow '{flow_id}' is ignored",
                hint,
            )

    def _step_id(self, flow_id: str, draft: _Draft) -> tuple[str, bool]:
        explicit = draft.data.get("id")
        if explicit is not None:
            text = str(explicit)
            if text in RESERVED_STEP_IDS or text.startswith(NEXT_PREFIX):
                self.issues.error(
                    self.file,
                    draft.data.line_of("id"),
                    "reserved-step-id",
                    f"step id '{text}' is reserved",
                    "START, END and ids starting with NEXT: are reserved; pick another id",
                )
            return text, True
        value = draft.data.get(draft.kind)
        postfix = {
            "action": str(value),
            "collect": f"collect_{value}",
            "link": f"link_{value}",
            "call": f"call_{value}",
            "set_slots": "set_slots",
            "noop": "noop",
        }[draft.kind]
        return f"{flow_id}_{draft.idx}_{postfix}", False

    def _parse_next(
        self, flow_id: str, draft: _Draft, counter: list[int], drafts: list[_Draft]
    ) -> None:
        value = draft.data["next"]
        line = draft.data.line_of("next")
        draft.next_given = True
        if isinstance(value, str):
            draft.links.append((None, value.strip(), line))
            return
        if not isinstance(value, list) or not value:
            self.issues.error(
                self.file,
                line,
                "invalid-next",
                f"`next` in flow '{flow_id}' must be a step id or a list of if/then/else",
                "write `next: step_id` or `next: [{if: cond, then: id}, {else: id}]`",
            )
            return
        draft.conditional = True
        has_else = False
        for index, branch in enumerate(value):
            branch_line = line_of(value, index)
            if not isinstance(branch, dict) or not ({"if", "else"} & set(branch)):
                self.issues.error(
                    self.file,
                    branch_line,
                    "invalid-next",
                    f"each `next` entry needs `if`+`then` or `else` (flow '{flow_id}')",
                )
                continue
            if has_else:
                # Rasa accepts it and, like the engine, takes the `else` when it gets there
                self.issues.warning(
                    self.file,
                    branch_line,
                    "else-not-last",
                    f"an entry after `else` in `next` is never used (flow '{flow_id}')",
                    "move the `- else:` entry to the end",
                )
            if "else" in branch:
                has_else = True
                extra = set(branch) - {"else"}
                condition, target_data = None, branch["else"]
            else:
                extra = set(branch) - {"if", "then"}
                if "then" not in branch:
                    self.issues.error(
                        self.file,
                        branch_line,
                        "missing-then",
                        f"`if` without `then` in flow '{flow_id}'",
                        "add `then:` with a step id or a list of steps",
                    )
                    continue
                condition, target_data = branch["if"], branch["then"]
                if isinstance(condition, bool):
                    self._bool_condition(flow_id, branch_line, condition)
                    condition = str(condition).lower()
                elif not isinstance(condition, str):
                    self.issues.error(
                        self.file,
                        branch_line,
                        "invalid-condition",
                        f"an `if` condition must be a string (flow '{flow_id}')",
                    )
                    condition = "false"
            for key in extra:
                # an entry with both `if` and `else` matches two schemas and Rasa refuses
                # it; any other extra key Rasa ignores
                mixed = key in ("if", "then", "else")
                (self.issues.error if mixed else self.issues.warning)(
                    self.file,
                    line_of(branch, key),
                    "unknown-step-key",
                    f"unknown key '{key}' in a `next` entry of flow '{flow_id}'"
                    + ("" if mixed else " is ignored"),
                    "a `next` entry holds only `if` and `then`, or `else`",
                )
            target = self._branch_target(flow_id, target_data, branch_line, counter, drafts)
            if target is not None:
                draft.links.append((condition, target, branch_line))
        if not has_else:
            self.issues.error(
                self.file,
                line,
                "missing-else",
                f"conditional `next` in flow '{flow_id}' has no `else`",
                "add a final `- else: <step id or END>`",
            )

    def _branch_target(
        self, flow_id: str, data: JSONValue, line: int, counter: list[int], drafts: list[_Draft]
    ) -> str | list[_Draft] | None:
        if isinstance(data, str):
            return data.strip()
        if isinstance(data, list) and data:
            nested = self._walk(flow_id, data, counter, drafts)
            return nested or None
        self.issues.error(
            self.file,
            line,
            "invalid-next",
            f"`then`/`else` in flow '{flow_id}' must be a step id or a list of steps",
        )
        return None

    def _link_defaults(self, sequence: list[_Draft], is_root: bool) -> None:
        for index, draft in enumerate(sequence):
            if not draft.next_given and draft.kind != "link":
                if index + 1 < len(sequence):
                    draft.links.append((None, sequence[index + 1].id, draft.data.line))
                elif is_root:
                    draft.links.append((None, END_STEP, draft.data.line))
                else:
                    self.issues.error(
                        self.file,
                        draft.data.line,
                        "missing-next",
                        f"step '{draft.id}' is the last of a then/else branch and has no `next`",
                        "add `next: END` or `next: <step id>` to it",
                    )
            for _, target, _ in draft.links:
                if isinstance(target, list):
                    self._link_defaults(target, is_root=False)

    def _finish(self, flow_id: str, draft: _Draft) -> Step:
        data = draft.data
        src = Source(self.file, data.line)
        nxt: Next = None
        targets = [
            (cond, target[0].id if isinstance(target, list) else target, line)
            for cond, target, line in draft.links
        ]
        if draft.conditional:
            nxt = ConditionalNext(
                tuple(
                    Branch(cond, target, Source(self.file, line)) for cond, target, line in targets
                )
            )
        elif targets:
            nxt = StaticNext(targets[0][1], Source(self.file, targets[0][2]))
        value = data.get(draft.kind)
        fields: UncheckedObject = {}  # Step's keyword arguments for this kind of step
        if draft.kind in ("action", "collect", "link", "call"):
            if not isinstance(value, str) or not value.strip():
                self.issues.error(
                    self.file,
                    data.line_of(draft.kind),
                    "invalid-step-value",
                    f"`{draft.kind}` in flow '{flow_id}' needs a name, got {_kind_of(value)}",
                )
                value = str(value)
            fields[draft.kind] = value.strip()
        if draft.kind == "collect":
            fields.update(self._collect_options(flow_id, data))
        elif draft.kind == "set_slots":
            pairs = self._slot_values(flow_id, data)
            fields["slot_values"] = tuple((name, value) for name, value, _ in pairs)
            fields["slot_value_lines"] = tuple(line for _, _, line in pairs)
        elif draft.kind == "call":
            fields.update(self._call_options(flow_id, data))
        # `noop` takes any value (`- noop:` with nothing after it is common): only the key
        # makes the step a noop, as in Rasa
        if draft.kind == "noop" and not draft.next_given:
            self.issues.error(
                self.file,
                data.line,
                "noop-needs-next",
                f"noop step '{draft.id}' in flow '{flow_id}' has no `next`",
                "a noop step only branches: give it a `next`",
            )
        description = data.get("description")
        metadata = data.get("metadata")
        return Step(
            id=draft.id,
            kind=draft.kind,  # type: ignore[arg-type]
            next=nxt,
            source=src,
            explicit_id=draft.explicit_id,
            description=str(description) if description is not None else None,
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            raw=data,
            **fields,
        )

    def _collect_options(self, flow_id: str, data: YamlMap) -> JSONObject:
        options: JSONObject = {}
        for key, default in (
            ("ask_before_filling", False),
            ("reset_after_flow_ends", True),
            ("force_slot_filling", False),
        ):
            value = data.get(key, default)
            if not isinstance(value, bool):
                self.issues.error(
                    self.file,
                    data.line_of(key),
                    "invalid-value",
                    f"`{key}` in flow '{flow_id}' must be true or false",
                )
                value = default
            options[key] = value
        utter = data.get("utter")
        if utter is not None:
            options["utter"] = str(utter)
        rejections = data.get("rejections")
        if rejections is not None:
            parsed = []
            if not isinstance(rejections, list):
                rejections = []
                self.issues.error(
                    self.file,
                    data.line_of("rejections"),
                    "invalid-rejections",
                    f"`rejections` in flow '{flow_id}' must be a list of {{if, utter}}",
                )
            for index, item in enumerate(rejections):
                item_line = line_of(rejections, index)
                if not isinstance(item, dict) or "if" not in item:
                    self.issues.error(
                        self.file,
                        item_line,
                        "invalid-rejections",
                        f"each rejection in flow '{flow_id}' needs `if` (and usually `utter`)",
                    )
                    continue
                for key in set(item) - {"if", "utter"}:
                    self.issues.warning(
                        self.file,
                        line_of(item, key),
                        "unknown-step-key",
                        f"unknown key '{key}' in a rejection of flow '{flow_id}' is ignored",
                        "a rejection holds only `if` and `utter`",
                    )
                utter_name = item.get("utter")
                if isinstance(item["if"], bool):
                    self._bool_condition(flow_id, item_line, item["if"])
                parsed.append(
                    Rejection(
                        str(item["if"]),
                        str(utter_name) if utter_name is not None else None,
                        Source(self.file, item_line),
                    )
                )
            options["rejections"] = tuple(parsed)
        return options

    def _bool_condition(self, flow_id: str, line: int, value: bool) -> None:
        # the flow schema allows it, but Rasa's validator fails on a condition that is
        # not text (a TypeError); the engine reads it as the constant
        word = str(value).lower()
        self.issues.error(
            self.file,
            line,
            "invalid-condition",
            f"condition `{word}` in flow '{flow_id}' is a YAML bool, which Rasa's validator "
            "cannot read",
            f'quote it: `if: "{word}"`',
        )

    def _call_options(self, flow_id: str, data: YamlMap) -> JSONObject:
        """`mcp_server` + `mapping` (an MCP tool) or `exit_if` (a sub-agent), in the shapes
        Rasa's flow schema allows."""
        options: JSONObject = {}
        server, mapping, exit_if = (data.get(k) for k in ("mcp_server", "mapping", "exit_if"))
        if ("mcp_server" in data) != ("mapping" in data):
            given, missing = (
                ("mcp_server", "mapping")
                if "mcp_server" in data
                else (
                    "mapping",
                    "mcp_server",
                )
            )
            self.issues.error(
                self.file,
                data.line_of(given),
                "invalid-mcp-call",
                f"call step in flow '{flow_id}' has `{given}` but no `{missing}`",
                "an MCP tool call needs both `mcp_server` and `mapping: {input, output}`",
            )
        if "mcp_server" in data:
            if isinstance(server, str) and server.strip():
                options["mcp_server"] = server.strip()
            else:
                self.issues.error(
                    self.file,
                    data.line_of("mcp_server"),
                    "invalid-mcp-call",
                    f"`mcp_server` in flow '{flow_id}' must be a server name",
                )
        if "mapping" in data:
            options.update(self._mcp_mapping(flow_id, mapping, data.line_of("mapping")))
        if "exit_if" in data:
            if isinstance(exit_if, list) and all(isinstance(c, str) for c in exit_if):
                options["exit_if"] = tuple(exit_if)
            else:
                self.issues.error(
                    self.file,
                    data.line_of("exit_if"),
                    "invalid-exit-if",
                    f"`exit_if` in flow '{flow_id}' must be a list of conditions",
                    'write `exit_if: ["slots.done"]`',
                )
            conflicting = [k for k in ("mcp_server", "mapping") if k in data]
            if conflicting:
                self.issues.error(
                    self.file,
                    data.line_of("exit_if"),
                    "invalid-exit-if",
                    f"a call step with `exit_if` cannot have {', '.join(conflicting)} "
                    f"(flow '{flow_id}')",
                    "`exit_if` belongs to sub-agent calls, `mcp_server`/`mapping` to tool calls",
                )
        return options

    def _mcp_mapping(self, flow_id: str, mapping: object, line: int) -> JSONObject:
        shapes = {"input": ("param", "slot"), "output": ("slot", "value")}
        if not isinstance(mapping, dict):
            self.issues.error(
                self.file,
                line,
                "invalid-mcp-mapping",
                f"`mapping` in flow '{flow_id}' must be a mapping with `input` and `output`",
            )
            return {}
        result: JSONObject = {}
        for key in mapping:
            if key not in shapes:
                self.issues.error(
                    self.file,
                    line_of(mapping, key),
                    "invalid-mcp-mapping",
                    f"unknown key '{key}' in the `mapping` of flow '{flow_id}'",
                    "a mapping holds only `input` and `output`",
                )
        for key, (first, second) in shapes.items():
            items = mapping.get(key)
            if not isinstance(items, list):
                self.issues.error(
                    self.file,
                    line_of(mapping, key) if key in mapping else line,
                    "invalid-mcp-mapping",
                    f"the `mapping` of flow '{flow_id}' needs an `{key}` list "
                    f"of {{{first}, {second}}}",
                )
                continue
            pairs = []
            for index, item in enumerate(items):
                ok = (
                    isinstance(item, dict)
                    and set(item) == {first, second}
                    and all(isinstance(item[k], str) for k in (first, second))
                )
                if not ok:
                    self.issues.error(
                        self.file,
                        line_of(items, index),
                        "invalid-mcp-mapping",
                        f"each `{key}` entry of the mapping in flow '{flow_id}' is "
                        f"`{{{first}: ..., {second}: ...}}`",
                    )
                    continue
                pairs.append((item[first], item[second]))
            result[f"mcp_{key}"] = tuple(pairs)
        return result

    def _slot_values(self, flow_id: str, data: YamlMap) -> list[tuple[str, JSONValue, int]]:
        value = data.get("set_slots")
        pairs: list[tuple[str, JSONValue, int]] = []
        items = value if isinstance(value, list) else None
        if items is None:
            self.issues.error(
                self.file,
                data.line_of("set_slots"),
                "invalid-set-slots",
                f"`set_slots` in flow '{flow_id}' must be a list of `- slot: value`",
            )
            return []
        for index, item in enumerate(items):
            if isinstance(item, dict) and not item:
                self.issues.warning(  # Rasa reads `- {}` as setting nothing
                    self.file,
                    line_of(items, index),
                    "invalid-set-slots",
                    f"an empty `set_slots` entry in flow '{flow_id}' sets nothing",
                )
                continue
            if not isinstance(item, dict):
                self.issues.error(
                    self.file,
                    line_of(items, index),
                    "invalid-set-slots",
                    f"`set_slots` entries in flow '{flow_id}' must look like `- slot: value`",
                )
                continue
            pairs.extend((str(k), v, line_of(items, index)) for k, v in item.items())
        return pairs


def _canonical(data: object) -> JSONValue:
    """Keys as text, so that YAML keys such as `1:` or `true:` can be sorted."""
    if isinstance(data, dict):
        return {str(k): _canonical(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_canonical(v) for v in data]
    return data


def _as_map(data: JSONObject, line: int) -> YamlMap:
    result = YamlMap(line)
    result.update(data)
    return result


def _as_yaml(value: object) -> str:
    if value is None:
        return "'~'"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    return f"'{value}'"


def _key_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


def _kind_of(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
