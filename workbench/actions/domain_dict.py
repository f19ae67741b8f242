"""The project's domain as the dict Rasa passes to custom actions (``domain`` argument,
action server ``domain`` field), with a digest an action server can cache it by."""

from __future__ import annotations

import hashlib
import json

from workbench.actions.tracker_state import plain
from workbench.calm.values import JSONObject
from workbench.project.model import Project, Response, Slot

DOMAIN_VERSION = "3.1"
# Rasa's session defaults, for keys the project does not set
SESSION_DEFAULTS = {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}


def domain_dict(project: Project) -> JSONObject:
    domain = project.domain
    return {
        "version": DOMAIN_VERSION,
        "intents": list(domain.intents),
        "entities": list(domain.entities),
        "slots": {name: _slot(slot) for name, slot in domain.slots.items()},
        "responses": {name: _variations(r) for name, r in domain.responses.items()},
        "actions": list(domain.actions),
        "forms": plain(domain.raw.get("forms") or {}),
        "e2e_actions": [],
        "session_config": {**SESSION_DEFAULTS, **plain(domain.session_config)},
        "config": {"store_entities_as_slots": True},
    }


def domain_digest(domain: JSONObject) -> str:
    """Stable across runs: changes exactly when the domain dict does."""
    text = json.dumps(domain, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _slot(slot: Slot) -> JSONObject:
    data: JSONObject = {
        "type": slot.type,
        "initial_value": plain(slot.initial_value),
        "mappings": [plain(m.raw) if m.raw else {"type": m.type} for m in slot.mappings],
    }
    if slot.influence_conversation is not None:
        data["influence_conversation"] = slot.influence_conversation
    if slot.type == "categorical":
        data["values"] = list(slot.values)
    if slot.min_value is not None:
        data["min_value"] = slot.min_value
    if slot.max_value is not None:
        data["max_value"] = slot.max_value
    return data


def _variations(response: Response) -> list[JSONObject]:
    variations = []
    for variation in response.variations:
        if variation.raw:
            variations.append(plain(variation.raw))
            continue
        item: JSONObject = {"text": variation.text}
        if variation.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in variation.buttons]
        variations.append(item)
    return variations
