"""Find custom actions by reading the actions package's source, without importing it.

Importing a project's actions runs its code (and may need rasa_sdk); loading and
validating must stay fast and side-effect free, so we parse the files with `ast` and
take every class whose `name()` returns a string literal."""

from __future__ import annotations

import ast
from pathlib import Path

from .issues import IssueList
from .model import CustomActionInfo, Source


def actions_paths(root: Path, actions_module: str | None) -> list[Path]:
    """Python files of the actions package (`actions/` or endpoints' `actions_module`)."""
    module = actions_module or "actions"
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    single = base.with_suffix(".py")
    return [single] if single.is_file() else []


def scan_actions(
    root: Path, actions_module: str | None, issues: IssueList
) -> tuple[dict[str, CustomActionInfo], frozenset[str]]:
    """Return the custom actions found and the keyword names they pass to
    `utter_message(...)` (these become template variables of responses)."""
    found: dict[str, CustomActionInfo] = {}
    kwargs: set[str] = set()
    for path in actions_paths(root, actions_module):
        file = path.relative_to(root).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=file)
        except SyntaxError as exc:
            # a warning: Rasa validates and trains such a project and fails only when it
            # imports the actions; the actions runner reports that on its own
            issues.warning(
                file,
                exc.lineno or 0,
                "action-syntax-error",
                f"syntax error in actions code: {exc.msg}",
                "fix the Python syntax",
                column=exc.offset or 0,
            )
            continue
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            issues.warning(file, 0, "action-unreadable", f"cannot read actions code: {exc}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                name = _action_name(node)
                if name:
                    found.setdefault(
                        name, CustomActionInfo(name, Source(file, node.lineno), node.name)
                    )
            elif isinstance(node, ast.Call) and _is_utter_message(node):
                kwargs.update(k.arg for k in node.keywords if k.arg)
    return found, frozenset(kwargs - {"response", "text", "buttons", "image", "json_message"})


def _action_name(node: ast.ClassDef) -> str | None:
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "name":
            for statement in ast.walk(item):
                if (
                    isinstance(statement, ast.Return)
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    return statement.value.value
    return None


def _is_utter_message(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr == "utter_message"
