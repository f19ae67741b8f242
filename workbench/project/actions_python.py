"""Which Python runs a project's custom actions, and which modules it lacks.

The current interpreter by default; `--actions-python PATH`, or a `.venv/` (or `venv/`)
inside the project folder, for actions that need packages the workbench's environment
does not have. Another interpreter is asked once (a short subprocess, cached) what it
is and which modules it can find; nothing of the project is imported to find out.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workbench.calm.values import JSONObject
from workbench.errors import WorkbenchError
from workbench.project.issues import IssueList
from workbench.project.model import Project, Source

VENV_FOLDERS = (".venv", "venv")
PROBE_TIMEOUT = 20.0
_BIN = ("Scripts", "python.exe") if os.name == "nt" else ("bin", "python")
# pip names where they differ from the module's
PIP_NAMES = {"rasa": "rasa-pro", "rasa_sdk": "rasa-sdk", "yaml": "pyyaml", "PIL": "pillow"}

_PROBE = """
import importlib.util, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = importlib.util.find_spec(name) is not None
    except Exception:
        found[name] = True  # it exists but cannot be inspected without importing it
print(json.dumps({"executable": sys.executable, "prefix": sys.prefix,
                  "version": "%d.%d.%d" % sys.version_info[:3], "found": found}))
"""


class ActionsPythonError(WorkbenchError):
    """A Python given for the actions that cannot run them; the message says the fix."""


@dataclass(frozen=True)
class ActionsPython:
    path: str
    origin: str  # "current", "--actions-python", ".venv", "venv"
    is_current: bool

    def __str__(self) -> str:
        return self.path


def current_python() -> ActionsPython:
    return ActionsPython(sys.executable, "current", True)


def find_actions_python(root: Path, explicit: str | Path | None = None) -> ActionsPython:
    """`explicit` (a Python, or a virtualenv folder) if given, else the project's
    `.venv/` or `venv/` interpreter, else the current one. Raises ActionsPythonError
    for an explicit path that is not a usable Python."""
    if explicit is not None and str(explicit) != "":
        return _explicit(Path(explicit))
    for folder in VENV_FOLDERS:
        venv = root / folder
        python = venv.joinpath(*_BIN)
        if python.is_file() and os.access(python, os.X_OK):
            if _same_prefix(venv, Path(sys.prefix)):  # the workbench runs from it
                return current_python()
            return ActionsPython(str(python), folder, False)
    return current_python()


def choose_actions_python(
    root: Path, explicit: str | Path | None = None
) -> tuple[ActionsPython, list[str]]:
    """`find_actions_python`, except that a project virtualenv without rasa_sdk (made
    for something else) is passed over for the current Python, with a note saying so.
    Raises ActionsPythonError for a bad explicit path."""
    chosen = find_actions_python(root, explicit)
    if chosen.origin in VENV_FOLDERS and not has_rasa_sdk(chosen):
        note = (
            f"{describe(chosen)} has no rasa_sdk, so the actions run on the workbench's "
            f"Python; install it there (`{chosen.path} -m pip install rasa-sdk`) to use it"
        )
        return current_python(), [note]
    return chosen, []


def _explicit(path: Path) -> ActionsPython:
    flag = "--actions-python"
    if path.is_dir():  # a virtualenv folder: its interpreter
        inner = path.joinpath(*_BIN)
        if not inner.is_file():
            raise ActionsPythonError(
                f"{flag} {path} is a folder without {Path(*_BIN)}; pass a Python "
                f"interpreter, e.g. /path/to/venv/{Path(*_BIN).as_posix()}"
            )
        path = inner
    if not path.exists():
        raise ActionsPythonError(
            f"{flag} {path}: no such file; pass a Python interpreter, "
            f"e.g. /path/to/venv/{Path(*_BIN).as_posix()}"
        )
    if not os.access(path, os.X_OK):
        raise ActionsPythonError(
            f"{flag} {path} is not executable; pass a Python interpreter, "
            f"e.g. /path/to/venv/{Path(*_BIN).as_posix()}"
        )
    try:
        info = probe(str(path))
    except ActionsPythonError as exc:
        raise ActionsPythonError(f"{flag} {exc}") from None
    current = _same_prefix(Path(str(info["prefix"])), Path(sys.prefix))
    return ActionsPython(sys.executable if current else str(path), flag, current)


def _same_prefix(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


@lru_cache(maxsize=64)
def probe(python: str, names: tuple[str, ...] = ()) -> JSONObject:
    """What `python` is (executable, prefix, version) and which of `names` it finds."""
    try:
        done = subprocess.run(
            [python, "-c", _PROBE, *names],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ActionsPythonError(
            f"{python} is not a Python interpreter (running it failed: {exc}); pass the "
            "path of a Python, e.g. /path/to/venv/bin/python"
        ) from None
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
        assert isinstance(info, dict) and isinstance(info.get("found"), dict)
    except (ValueError, IndexError, AssertionError):
        output = " ".join((done.stderr or done.stdout).split())[:300]
        said = output or f"exit code {done.returncode}"
        raise ActionsPythonError(
            f"{python} is not a Python interpreter that can run the actions ({said}); pass "
            "the path of a Python 3, e.g. /path/to/venv/bin/python"
        ) from None
    return info


def missing_modules(python: ActionsPython, names: Iterable[str]) -> list[str]:
    """The top-level modules of `names` that `python` cannot find."""
    wanted = tuple(sorted(set(names)))
    if not wanted:
        return []
    if python.is_current:
        return [name for name in wanted if not _findable_here(name)]
    try:
        found = probe(python.path, wanted)["found"]
    except ActionsPythonError:
        return []  # said elsewhere, by whoever chose this Python
    if not isinstance(found, dict):
        return []
    return [name for name in wanted if not found.get(name, True)]


def describe(python: ActionsPython) -> str:
    """`/x/.venv/bin/python, the project's .venv` and the like, for messages."""
    origin = {
        "current": "the workbench's own",
        "--actions-python": "from --actions-python",
        ".venv": "the project's .venv",
        "venv": "the project's venv",
    }[python.origin]
    return f"{python.path} ({origin})"


def has_rasa_sdk(python: ActionsPython) -> bool:
    return not missing_modules(python, ["rasa_sdk"])


def _findable_here(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True  # there, but odd; importing it will say more


def install_hint(module: str) -> str:
    """The two ways out of a module the actions Python lacks."""
    what = "rasa-pro" if module == "rasa" else PIP_NAMES.get(module, module)
    return f"install {what} in this environment, or pass --actions-python with a Python that has it"


# --- for `calm-tui validate` and the runner's header ---------------------------------------


def missing_module_problems(
    project: Project, python: ActionsPython
) -> list[tuple[Source, str, str]]:
    """(where, module, message) for each module the actions import that `python` lacks,
    at its first import; an empty list when everything is there."""
    from workbench.project.actions_scan import imported_modules

    imports = imported_modules(project.root, project.endpoints.actions_module)
    problems = []
    for module in missing_modules(python, imports):
        first, *more = imports[module]
        others = f" (and {len(more)} more import{'s' if len(more) != 1 else ''})" if more else ""
        problems.append(
            (
                first,
                module,
                f"{first}: the actions import '{module}'{others}, which the actions Python, "
                f"{describe(python)}, cannot import",
            )
        )
    return problems


def action_import_issues(project: Project, actions_python: str | Path | None = None) -> IssueList:
    """`actions-missing-module` issues (and `actions-python` for a bad --actions-python)."""
    issues = IssueList()
    from workbench.project.actions_scan import actions_paths

    if not actions_paths(project.root, project.endpoints.actions_module):
        return issues
    try:
        python, _notes = choose_actions_python(project.root, actions_python)
    except ActionsPythonError as exc:
        issues.error(".", 0, "actions-python", str(exc))
        return issues
    # a warning: it is this environment that lacks something, not the project's files
    # (an error would also keep the TUI from taking in edits to the flows), and with a
    # URL the server may well run elsewhere, with what it needs
    for source, module, message in missing_module_problems(project, python):
        issues.warning(
            source.file,
            source.line,
            "actions-missing-module",
            message.split(": ", 1)[1],
            install_hint(module),
        )
    return issues
