"""Stack changes as JSON Patches (RFC 6902), the way Rasa's `stack` event stores them.

Rasa's `DialogueStackUpdated` event holds `update`: a JSON text of patch operations on
the list of frame dicts (`/0/step_id`, `/1`, ...). An event then costs what changed, not
the whole stack, in the tracker, the action payloads and the store. `apply_patch` also
reads patches Rasa made (`move`, `copy` and `test` included)."""

from __future__ import annotations

import copy
import json

from workbench.calm.values import JSONObject, JSONValue

Operation = JSONObject


def make_patch(old: list[JSONObject], new: list[JSONObject]) -> list[Operation]:
    """Operations that turn the frames `old` into `new` (none if they are equal). They
    share values with `new` (no copies: the tracker serialises them at once)."""
    ops: list[Operation] = []
    for index in range(min(len(old), len(new))):
        before, after = old[index], new[index]
        if before == after:
            continue
        if before.get("frame_id") != after.get("frame_id"):
            ops.append({"op": "replace", "path": f"/{index}", "value": after})
            continue
        for key in before:
            if key not in after:
                ops.append({"op": "remove", "path": f"/{index}/{_escape(key)}"})
        for key, value in after.items():
            if key not in before:
                ops.append({"op": "add", "path": f"/{index}/{_escape(key)}", "value": value})
            elif before[key] != value:
                path = f"/{index}/{_escape(key)}"
                ops.append({"op": "replace", "path": path, "value": value})
    for index in range(len(old), len(new)):
        ops.append({"op": "add", "path": f"/{index}", "value": new[index]})
    for index in range(len(old) - 1, len(new) - 1, -1):
        ops.append({"op": "remove", "path": f"/{index}"})
    return ops


def patch_text(ops: list[Operation]) -> str:
    return json.dumps(ops, ensure_ascii=False, default=str)


def apply_patch(frames: list[JSONObject], update: str | list[Operation]) -> list[JSONObject]:
    """The frames after the patch (a new list; `frames` is left as it was). Raises
    ValueError for a patch that does not fit."""
    ops = json.loads(update) if isinstance(update, str) else update
    if not isinstance(ops, list):
        raise ValueError("a stack update is a list of patch operations")
    document: JSONValue = copy.deepcopy(frames)
    for op in ops:
        if not isinstance(op, dict):
            raise ValueError(f"not a patch operation: {op!r}")
        document = _apply(document, op)
    if not isinstance(document, list):
        raise ValueError("a stack update must leave a list of frames")
    return [frame for frame in document if isinstance(frame, dict)]


def _apply(document: JSONValue, op: Operation) -> JSONValue:
    kind = op.get("op")
    path = _pointer(op.get("path"))
    if kind == "test":
        if _get(document, path) != op.get("value"):
            raise ValueError(f"patch test failed at {op.get('path')}")
        return document
    if kind in ("move", "copy"):
        source = _pointer(op.get("from"))
        value = copy.deepcopy(_get(document, source))
        if kind == "move":
            document = _remove(document, source)
        return _add(document, path, value)
    if kind == "remove":
        return _remove(document, path)
    if kind == "add":
        return _add(document, path, copy.deepcopy(op.get("value")))
    if kind == "replace":
        document = _remove(document, path)
        return _add(document, path, copy.deepcopy(op.get("value")))
    raise ValueError(f"unknown patch operation {kind!r}")


def _pointer(path: JSONValue) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ValueError(f"not a JSON pointer: {path!r}")
    return [_unescape(part) for part in path.split("/")[1:]] if path else []


def _get(document: JSONValue, path: list[str]) -> JSONValue:
    for part in path:
        if isinstance(document, list):
            document = document[_index(document, part, False)]
        elif isinstance(document, dict):
            if part not in document:
                raise ValueError(f"no '{part}' in the stack")
            document = document[part]
        else:
            raise ValueError(f"cannot step into {document!r}")
    return document


def _add(document: JSONValue, path: list[str], value: JSONValue) -> JSONValue:
    if not path:
        return value
    parent = _get(document, path[:-1])
    if isinstance(parent, list):
        parent.insert(_index(parent, path[-1], True), value)
    elif isinstance(parent, dict):
        parent[path[-1]] = value
    else:
        raise ValueError(f"cannot add into {parent!r}")
    return document


def _remove(document: JSONValue, path: list[str]) -> JSONValue:
    if not path:
        return None
    parent = _get(document, path[:-1])
    if isinstance(parent, list):
        del parent[_index(parent, path[-1], False)]
    elif isinstance(parent, dict):
        if path[-1] not in parent:
            raise ValueError(f"no '{path[-1]}' to remove from the stack")
        del parent[path[-1]]
    else:
        raise ValueError(f"cannot remove from {parent!r}")
    return document


def _index(items: list[JSONValue], part: str, adding: bool) -> int:
    if adding and part == "-":
        return len(items)
    if not part.isdigit():
        raise ValueError(f"not a list index: {part!r}")
    index = int(part)
    if index > len(items) or (index == len(items) and not adding):
        raise ValueError(f"index {index} is outside the stack")
    return index


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
