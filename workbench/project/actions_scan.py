"""Find custom actions by reading the actions package's source, without importing it.

Importing a project's actions runs its code (and may need rasa_sdk); loading and
validating must stay fast and side-effect free, so we parse the files with `ast` and
take every class whose `name()` returns a string literal."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.project.issues import IssueList
from workbench.project.model import CustomActionInfo, Source


def actions_paths(root: Path, actions_module: str | None) -> list[Path]:
    """Python files of the actions package (`actions/` or endpoints' `actions_module`)."""
    module = actions_module or "actions"
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    single = base.with_suffix(".py")
    return [single] if single.is_file() else []


@dataclass(frozen=True)
class _FileScan:
    """What one actions file holds, read once per version of the file."""

    actions: tuple[tuple[str, int, str], ...] = ()  # action name, line, class name
    kwargs: frozenset[str] = frozenset()  # keywords passed to utter_message(...)
    imports: tuple[tuple[str, int], ...] = ()  # unguarded absolute imports: name, line
    problem: tuple[str, int, int, str] | None = None  # code, line, column, message


# every reload scans the actions (a YAML save too): a file is parsed again only when
# its size or modification time changed
_scanned: dict[Path, tuple[tuple[int, int], _FileScan]] = {}


def _scan_file(path: Path, file: str) -> _FileScan:
    try:
        stat = path.stat()
    except OSError as exc:
        return _FileScan(problem=("action-unreadable", 0, 0, f"cannot read actions code: {exc}"))
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _scanned.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    scan = _parse_file(path, file)
    _scanned[path] = (version, scan)
    return scan


def _parse_file(path: Path, file: str) -> _FileScan:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=file)
    except SyntaxError as exc:
        message = f"syntax error in actions code: {exc.msg}"
        return _FileScan(problem=("action-syntax-error", exc.lineno or 0, exc.offset or 0, message))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return _FileScan(problem=("action-unreadable", 0, 0, f"cannot read actions code: {exc}"))
    actions: list[tuple[str, int, str]] = []
    kwargs: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            name = _action_name(node)
            if name:
                actions.append((name, node.lineno, node.name))
        elif isinstance(node, ast.Call) and _is_utter_message(node):
            kwargs.update(k.arg for k in node.keywords if k.arg)
    imports: list[tuple[str, int]] = []
    for statement, guarded in _imports(tree.body, False):
        if guarded:
            continue
        if isinstance(statement, ast.Import):
            imports += [(alias.name, statement.lineno) for alias in statement.names]
        elif statement.level == 0 and statement.module:
            imports.append((statement.module, statement.lineno))
    return _FileScan(tuple(actions), frozenset(kwargs), tuple(imports))


def scan_actions(
    root: Path, actions_module: str | None, issues: IssueList
) -> tuple[dict[str, CustomActionInfo], frozenset[str]]:
    """Return the custom actions found and the keyword names they pass to
    `utter_message(...)` (these become template variables of responses)."""
    found: dict[str, CustomActionInfo] = {}
    kwargs: set[str] = set()
    for path in actions_paths(root, actions_module):
        file = path.relative_to(root).as_posix()
        scan = _scan_file(path, file)
        if scan.problem is not None:
            # a warning: Rasa validates and trains such a project and fails only when it
            # imports the actions; the actions runner reports that on its own
            code, line, column, message = scan.problem
            hint = "fix the Python syntax" if code == "action-syntax-error" else ""
            issues.warning(file, line, code, message, hint, column=column)
            continue
        for name, line, class_name in scan.actions:
            found.setdefault(name, CustomActionInfo(name, Source(file, line), class_name))
        kwargs.update(scan.kwargs)
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


# --- what the actions import ---------------------------------------------------------------

_TRY = tuple(kind for kind in (ast.Try, getattr(ast, "TryStar", None)) if kind is not None)
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def imported_modules(root: Path, actions_module: str | None) -> dict[str, list[Source]]:
    """Top-level modules the actions code imports, each with where: absolute imports
    only, without the standard library, the project's own modules (rasa_sdk runs from
    the project folder, so `import actions.db` is local) and imports guarded by
    ``try: ... except ImportError`` or ``if TYPE_CHECKING:`` (they do not fail)."""
    found: dict[str, list[Source]] = {}
    for path in actions_paths(root, actions_module):
        file = path.relative_to(root).as_posix()
        for name, line in _scan_file(path, file).imports:  # scan_actions reports problems
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__" or _local(root, top):
                continue
            found.setdefault(top, []).append(Source(file, line))
    return found


def _imports(
    body: list[ast.stmt], guarded: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, guarded
        elif isinstance(node, _TRY):
            catches = any(_catches_import_error(h.type) for h in node.handlers)
            yield from _imports(node.body, guarded or catches)
            for handler in node.handlers:  # a fallback for what the try could not import
                yield from _imports(handler.body, guarded or _catches_import_error(handler.type))
            for part in (node.orelse, node.finalbody):
                yield from _imports(part, guarded)
        elif isinstance(node, ast.If):
            checking = "TYPE_CHECKING" in ast.unparse(node.test)
            yield from _imports(node.body, guarded or checking)
            yield from _imports(node.orelse, guarded)
        else:
            for field_name in ("body", "orelse", "finalbody"):
                inner = getattr(node, field_name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    yield from _imports(inner, guarded)


def _catches_import_error(kind: ast.expr | None) -> bool:
    if kind is None:
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(ast.unparse(name).split(".")[-1] in _IMPORT_ERRORS for name in names)


def _local(root: Path, name: str) -> bool:
    return (root / name).is_dir() or (root / f"{name}.py").is_file()
