"""The project as the offline generator sees it, prepared once per loaded project: the
flow index for ranking, and for each slot its type, shape, question texts and buttons."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.calm.names import utter_ask
from workbench.project.model import Flow, Project, Slot
from workbench.understanding.dsl.parser import SetSlotsPayload, parse_button_payload
from workbench.understanding.lexical import FieldIndex
from workbench.understanding.offline.true_false import holds_true_false
from workbench.understanding.offline.values import SlotShape, slot_shape
from workbench.understanding.words import STOP_WORDS, stem, terms, words

# how much each field of a flow counts when ranking flows for a message
FIELD_WEIGHTS = {"name": 1.0, "id": 0.6, "description": 0.7, "collect": 0.5}


@dataclass
class SlotInfo:
    slot: Slot
    shape: SlotShape
    hints: tuple[str, ...]
    titles: dict[str, list[str]]  # categorical value -> button titles that set it
    choices: tuple[str, ...]  # values in the order of the question's buttons
    name_terms: frozenset[str]
    description_terms: frozenset[str]
    true_false: bool = False  # a text slot meant to hold True/False (true_false.py)


@dataclass
class Model:
    project: Project
    index: FieldIndex
    startable: tuple[str, ...]
    slots: dict[str, SlotInfo]
    fillable: dict[str, tuple[str, ...]]  # flow -> slots it (and flows it calls) collects
    collected: dict[str, tuple[str, ...]]  # flow -> every slot it (and its calls) collects
    # conversation kind -> the project's own flow for it (conversation_flows.py), as found
    conversation_flows: dict[str, str | None] = field(default_factory=dict)


def called_flows(project: Project, flow_id: str, seen: set[str] | None = None) -> list[Flow]:
    seen = seen if seen is not None else set()
    flow = project.flow(flow_id)
    if flow is None or flow_id in seen:
        return []
    seen.add(flow_id)
    flows = [flow]
    for step in flow.steps:
        if step.kind == "call" and step.call and not step.calls_mcp_tool:
            flows.extend(called_flows(project, step.call, seen))
    return flows


def response_texts(project: Project, name: str | None) -> list[str]:
    response = project.response(name) if name else None
    if response is None:
        return []
    return [v.text for v in response.variations if v.text]


def question_buttons(project: Project, name: str | None) -> list[tuple[str, str]]:
    response = project.response(name) if name else None
    if response is None:
        return []
    for variation in response.variations:
        if variation.buttons:
            return [(b.title, b.payload) for b in variation.buttons]
    return []


def button_values(buttons: list[tuple[str, str]], slot: str) -> list[tuple[str, str]]:
    """(value, title) of each button whose payload sets `slot`."""
    out = []
    for title, payload in buttons:
        parsed = parse_button_payload(payload)
        if isinstance(parsed, SetSlotsPayload):
            for name, value in parsed.slots:
                if name == slot and isinstance(value, str):
                    out.append((value, title))
    return out


def build_model(project: Project) -> Model:
    index = FieldIndex(FIELD_WEIGHTS, title_fields=("name", "id"))
    startable = []
    for flow in project.user_flows:
        if flow.is_link_only:
            continue
        startable.append(flow.id)
        id_words = flow.id.replace("_", " ").replace("-", " ")
        collect_texts: list[str] = []
        for step in flow.steps:
            if step.collect:
                collect_texts.append(step.description or "")
                slot = project.slot(step.collect)
                if slot is not None and slot.type == "categorical":
                    collect_texts.extend(v.replace("_", " ") for v in slot.values)
                    for utter in (step.ask_utter, utter_ask(step.collect)):
                        pairs = button_values(question_buttons(project, utter), step.collect)
                        collect_texts.extend(title for _, title in pairs)
        index.add(
            flow.id,
            {
                "name": [flow.name or id_words],
                "id": [id_words] if flow.name else [],
                "description": [flow.description or ""],
                "collect": collect_texts,
            },
        )

    # what each slot looks like: descriptions, questions, buttons
    step_descriptions: dict[str, list[str]] = {}
    utters: dict[str, list[str]] = {}
    for flow in project.flows.values():
        for step in flow.steps:
            if step.collect:
                if step.description:
                    step_descriptions.setdefault(step.collect, []).append(step.description)
                utters.setdefault(step.collect, []).append(step.ask_utter)
    slots: dict[str, SlotInfo] = {}
    for name, slot in project.domain.slots.items():
        asks = list(dict.fromkeys([utter_ask(name), *utters.get(name, [])]))
        questions = [t for utter in asks for t in response_texts(project, utter)]
        hints = tuple(
            h for h in [slot.description or "", *step_descriptions.get(name, []), *questions] if h
        )
        titles: dict[str, list[str]] = {}
        choices: list[str] = []
        for utter in asks:
            pairs = button_values(question_buttons(project, utter), name)
            for value, title in pairs:
                titles.setdefault(value, []).append(title)
            if not choices and pairs:
                choices = [value for value, _ in pairs]
        if slot.type == "categorical":
            choices = [c for c in choices if c in slot.values]
        name_words = [w for w in words(name) if w not in STOP_WORDS]
        slots[name] = SlotInfo(
            slot=slot,
            shape=slot_shape(name, hints),
            hints=hints,
            titles=titles,
            choices=tuple(choices),
            name_terms=frozenset(stem(w) for w in name_words),
            description_terms=frozenset(terms(" ".join(hints[:2]))),
            true_false=holds_true_false(
                slot, hints, [b for utter in asks for b in question_buttons(project, utter)]
            ),
        )

    fillable: dict[str, tuple[str, ...]] = {}
    collected: dict[str, tuple[str, ...]] = {}
    for flow in project.flows.values():
        group = called_flows(project, flow.id)
        every = [s.collect for f in group for s in f.steps if s.collect]
        free = [
            s.collect
            for f in group
            for s in f.steps
            if s.collect
            and not s.ask_before_filling
            and (slot := project.slot(s.collect)) is not None
            and slot.llm_fillable
        ]
        fillable[flow.id] = tuple(dict.fromkeys(free))
        collected[flow.id] = tuple(dict.fromkeys(every))
    return Model(project, index, tuple(startable), slots, fillable, collected)
