"""Build the `Domain` from one domain file or a folder of files that merge."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.issues import IssueList
from workbench.project.model import (
    SLOT_TYPES,
    Button,
    Domain,
    Response,
    ResponseVariation,
    Slot,
    SlotMapping,
    Source,
)
from workbench.project.yaml_io import YamlCache, YamlMap, line_of

DOMAIN_KEYS = frozenset(
    {
        "version",
        "intents",
        "entities",
        "actions",
        "responses",
        "slots",
        "forms",
        "config",
        "session_config",
        "e2e_actions",
    }
)
SLOT_KEYS = frozenset(
    {
        "type",
        "mappings",
        "initial_value",
        "values",
        "min_value",
        "max_value",
        "influence_conversation",
        "validation",
        "description",
        "shared_for_coexistence",
    }
)
VARIATION_KEYS = frozenset(
    {
        "text",
        "buttons",
        "button_type",
        "quick_replies",
        "image",
        "attachment",
        "elements",
        "custom",
        "channel",
        "condition",
        "metadata",
        "id",
        "translation",
    }
)


@dataclass
class DomainParts:
    """Collects domain files one by one; `build()` merges them."""

    issues: IssueList
    slots: dict[str, Slot] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)
    actions: dict[str, Source] = field(default_factory=dict)
    intents: dict[str, None] = field(default_factory=dict)
    entities: dict[str, None] = field(default_factory=dict)
    session_config: JSONObject = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    raw: JSONObject = field(default_factory=dict)

    def add_file(self, file: str, data: JSONValue, cache: YamlCache | None = None) -> None:
        """Read one file into its own parts (reused from `cache` while the file is
        unchanged), then merge them into these: a later definition wins, with a warning."""
        self.files.append(file)

        def read() -> DomainParts:
            single = DomainParts(IssueList())
            single._read(file, data)
            return single

        single = cache.derived("domain", file, data, read) if cache is not None else read()
        self.issues.extend(single.issues)
        for key, value in single.raw.items():
            self.raw.setdefault(key, value)
        self.intents.update(single.intents)
        self.entities.update(single.entities)
        self.actions.update(single.actions)
        for name, slot in single.slots.items():
            if name in self.slots:
                first = self.slots[name].source
                self.issues.warning(
                    file,
                    slot.source.line,
                    "duplicate-slot",
                    f"slot '{name}' is defined again (first at {first}); this one is used",
                    "define each slot in one domain file",
                )
            self.slots[name] = slot
        for name, response in single.responses.items():
            if name in self.responses:
                self.issues.warning(
                    file,
                    response.source.line,
                    "duplicate-response",
                    f"response '{name}' is defined again "
                    f"(first at {self.responses[name].source}); this one is used",
                )
            self.responses[name] = response
        self.session_config.update(single.session_config)

    def _read(self, file: str, data: object) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            self.issues.error(
                file,
                line_of(data) or 1,
                "domain-not-mapping",
                "a domain file must be a mapping",
                "start with keys such as `slots:`, `responses:`, `actions:`",
            )
            return
        for key in data:
            if key not in DOMAIN_KEYS:
                self.issues.warning(
                    file,
                    line_of(data, key),
                    "unknown-domain-key",
                    f"unknown domain key '{key}' is ignored",
                    "allowed: " + ", ".join(sorted(DOMAIN_KEYS)),
                )
            else:
                self.raw.setdefault(key, data[key])
        self._names(file, data, "intents", self.intents)
        self._names(file, data, "entities", self.entities)
        self._actions(file, data)
        self._slots(file, data)
        self._responses(file, data)
        if isinstance(data.get("session_config"), dict):
            self.session_config.update(data["session_config"])

    def build(self) -> Domain:
        return Domain(
            slots=dict(self.slots),
            responses=dict(self.responses),
            actions=dict(self.actions),
            intents=tuple(self.intents),
            entities=tuple(self.entities),
            session_config=dict(self.session_config),
            files=tuple(self.files),
            raw=self.raw,
        )

    # -- sections --------------------------------------------------------------------

    def _names(self, file: str, data: JSONObject, key: str, into: dict[str, None]) -> None:
        value = data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.issues.error(file, line_of(data, key), "invalid-domain", f"`{key}` must be a list")
            return
        for item in value:
            if isinstance(item, str):
                into[item] = None
            elif isinstance(item, dict) and item:
                into[str(next(iter(item)))] = None

    def _actions(self, file: str, data: JSONObject) -> None:
        value = data.get("actions")
        if value is None:
            return
        if not isinstance(value, list):
            self.issues.error(
                file,
                line_of(data, "actions"),
                "invalid-domain",
                "`actions` must be a list",
                "list custom action names, e.g. `- action_check_order`",
            )
            return
        for index, item in enumerate(value):
            name = item if isinstance(item, str) else None
            if isinstance(item, dict) and len(item) == 1:
                name = str(next(iter(item)))  # `- action_x: {send_domain: true}`
            if not name:
                self.issues.error(
                    file,
                    line_of(value, index),
                    "invalid-domain",
                    "an `actions` entry must be an action name",
                )
                continue
            self.actions[name] = Source(file, line_of(value, index))

    def _slots(self, file: str, data: JSONObject) -> None:
        value = data.get("slots")
        if value is None:
            return
        if not isinstance(value, dict):
            self.issues.error(
                file,
                line_of(data, "slots"),
                "invalid-domain",
                "`slots` must be a mapping",
                "write `slots:` then `slot_name: {type: text}` entries",
            )
            return
        for name, spec in value.items():
            line = line_of(value, name)
            slot = self._slot(file, str(name), spec, line)
            if slot is not None:
                self.slots[slot.name] = slot

    def _slot(self, file: str, name: str, spec: object, line: int) -> Slot | None:
        if not isinstance(spec, dict):
            self.issues.error(
                file,
                line,
                "invalid-slot",
                f"slot '{name}' must be a mapping with a `type`",
                "e.g. `amount: {type: float}`",
            )
            return None
        for key in spec:
            if key not in SLOT_KEYS:
                self.issues.warning(
                    file,
                    line_of(spec, key),
                    "unknown-slot-key",
                    f"unknown key '{key}' in slot '{name}' is ignored",
                    "allowed: " + ", ".join(sorted(SLOT_KEYS)),
                )
        slot_type = spec.get("type")
        if not isinstance(slot_type, str):
            self.issues.error(
                file,
                line,
                "invalid-slot",
                f"slot '{name}' has no `type`",
                "add `type:` (" + ", ".join(SLOT_TYPES) + ")",
            )
            return None
        if slot_type not in SLOT_TYPES:
            if "." in slot_type:
                self.issues.warning(
                    file,
                    line_of(spec, "type"),
                    "custom-slot-type",
                    f"custom slot type '{slot_type}' of slot '{name}' is treated as `any`",
                )
                slot_type = "any"
            else:
                self.issues.error(
                    file,
                    line_of(spec, "type"),
                    "invalid-slot",
                    f"slot '{name}' has unknown type '{slot_type}'",
                    "use one of: " + ", ".join(SLOT_TYPES),
                )
                return None
        values: tuple[str, ...] = ()
        if slot_type == "categorical":
            raw_values = spec.get("values")
            if not isinstance(raw_values, list) or not raw_values:
                # Rasa loads it; every value it is given is then invalid
                self.issues.warning(
                    file,
                    line,
                    "invalid-slot",
                    f"categorical slot '{name}' has no `values`",
                    "add `values: [a, b]`",
                )
            else:
                values = tuple(_categorical_text(v) for v in raw_values)
        return Slot(
            name=name,
            type=slot_type,
            source=Source(file, line),
            mappings=self._mappings(file, name, spec),
            initial_value=spec.get("initial_value"),
            values=values,
            min_value=_number(spec.get("min_value")),
            max_value=_number(spec.get("max_value")),
            influence_conversation=spec.get("influence_conversation"),
            shared_for_coexistence=spec.get("shared_for_coexistence") is True,
            description=str(spec["description"]) if spec.get("description") else None,
            validation=spec.get("validation") if isinstance(spec.get("validation"), dict) else None,
        )

    def _mappings(self, file: str, name: str, spec: JSONObject) -> tuple[SlotMapping, ...]:
        value = spec.get("mappings")
        if value is None:
            return (SlotMapping("from_llm"),)
        if not isinstance(value, list):
            self.issues.error(
                file,
                line_of(spec, "mappings"),
                "invalid-slot",
                f"`mappings` of slot '{name}' must be a list",
            )
            return (SlotMapping("from_llm"),)
        mappings = []
        for item in value:
            if not isinstance(item, dict):
                item = {}
            conditions = item.get("conditions")
            mappings.append(
                SlotMapping(
                    type=str(item.get("type") or "from_llm"),
                    conditions=tuple(c for c in conditions if isinstance(c, dict))
                    if isinstance(conditions, list)
                    else (),
                    allow_nlu_correction=bool(item.get("allow_nlu_correction", False)),
                    raw=dict(item),
                )
            )
        return tuple(mappings) or (SlotMapping("from_llm"),)

    def _responses(self, file: str, data: JSONObject) -> None:
        value = data.get("responses")
        if value is None:
            return
        if not isinstance(value, dict):
            self.issues.error(
                file,
                line_of(data, "responses"),
                "invalid-domain",
                "`responses` must be a mapping of response names",
            )
            return
        for name, variations in value.items():
            line = line_of(value, name)
            if not isinstance(variations, list) or not variations:
                self.issues.error(
                    file,
                    line,
                    "invalid-response",
                    f"response '{name}' must be a list of variations",
                    'write `- text: "..."` under the response name',
                )
                continue
            parsed = [
                v
                for index, item in enumerate(variations)
                if (v := self._variation(file, str(name), item, line_of(variations, index)))
            ]
            self.responses[str(name)] = Response(str(name), tuple(parsed), Source(file, line))

    def _variation(
        self, file: str, name: str, item: JSONValue, line: int
    ) -> ResponseVariation | None:
        if not isinstance(item, dict):
            self.issues.error(
                file,
                line,
                "invalid-response",
                f"a variation of response '{name}' must be a mapping such as `- text: ...`",
            )
            return None
        for key in item:
            if key not in VARIATION_KEYS:
                self.issues.warning(
                    file,
                    line_of(item, key),
                    "unknown-response-key",
                    f"unknown key '{key}' in response '{name}' is ignored",
                    "allowed: " + ", ".join(sorted(VARIATION_KEYS)),
                )
        buttons = []
        raw_buttons = item.get("buttons") or []
        if not isinstance(raw_buttons, list):
            raw_buttons = []
        for index, button in enumerate(raw_buttons):
            button_line = line_of(raw_buttons, index)
            if not isinstance(button, dict):
                self.issues.error(
                    file,
                    button_line,
                    "invalid-response",
                    f"a button of response '{name}' must be a mapping with `title` and `payload`",
                )
                continue
            # Rasa refuses a button without a payload, and shows one without a title
            if not str(button.get("payload") or "").strip():
                self.issues.error(
                    file,
                    button_line,
                    "invalid-response",
                    f"a button of response '{name}' has no `payload`",
                    "give it a payload such as `/SetSlots(slot=value)` or `/intent`",
                )
            if "title" not in button:
                self.issues.warning(
                    file,
                    button_line,
                    "invalid-response",
                    f"a button of response '{name}' has no `title`",
                )
            buttons.append(
                Button(
                    str(button.get("title", "")),
                    str(button.get("payload", "")),
                    line_of(raw_buttons, index),
                )
            )
        condition = item.get("condition")
        if isinstance(condition, list):
            condition = tuple(c for c in condition if isinstance(c, dict))
        elif condition is not None and not isinstance(condition, str):
            condition = str(condition)
        metadata = item.get("metadata")
        text = item.get("text")
        return ResponseVariation(
            text=str(text) if text is not None else None,
            source=Source(file, line),
            buttons=tuple(buttons),
            condition=condition,
            channel=str(item["channel"]) if item.get("channel") else None,
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            raw=item if isinstance(item, YamlMap) else dict(item),
        )


def _number(value: JSONValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _categorical_text(value: object) -> str:
    # YAML 1.2 reads `true`, `1` as bool/int; Rasa keeps categorical values as strings
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
