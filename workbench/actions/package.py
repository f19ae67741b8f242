"""A project's actions package: where it is, whether it changed, and its actions.

Loading imports it under a new private name each time (see `importer`), so a reload
is a fresh import and the previous version's objects stay intact until dropped.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Protocol, TypeGuard

from workbench.actions.importer import import_package
from workbench.errors import WorkbenchError

PREFIX = "_calm_actions_"
Fingerprint = tuple[tuple[str, int, int], ...]

_generations = itertools.count(1)


@dataclass(frozen=True)
class PackageLocation:
    root: Path
    module: str  # as configured: "actions", "src.actions"
    path: Path  # the package folder, or the file of a single-module package

    @property
    def is_package(self) -> bool:
        return self.path.is_dir()

    def rel(self, file: str | Path) -> str:
        try:
            return Path(file).relative_to(self.root).as_posix()
        except ValueError:
            return str(file)

    def contains(self, file: str | Path) -> bool:
        path = Path(file)
        return path == self.path or self.path in path.parents


def locate(root: Path, actions_module: str | None) -> PackageLocation | None:
    """Where `actions_module` (default ``actions``) lives under the project root."""
    module = actions_module or "actions"
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return PackageLocation(root, module, base)
    single = base.with_suffix(".py")
    return PackageLocation(root, module, single) if single.is_file() else None


def fingerprint(location: PackageLocation) -> Fingerprint:
    """(file, mtime, size) of every .py file: any edit, new or deleted file changes it."""
    if location.is_package:
        files = sorted(p for p in location.path.rglob("*.py") if "__pycache__" not in p.parts)
    else:
        files = [location.path]
    found = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:  # deleted while we looked
            continue
        found.append((path.as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


@dataclass
class LoadedPackage:
    name: str  # the private module name
    location: PackageLocation
    actions: dict[str, CustomAction]  # action name -> the one instance of its class
    notes: list[str] = field(default_factory=list)  # classes skipped, duplicate names


class PackageLoadError(WorkbenchError):
    """Importing failed; `message` starts with `file:line` where the cause is."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def load_package(location: PackageLocation) -> LoadedPackage:
    """Import the package and all its submodules under a new private name and create
    one instance of every action class. Raises PackageLoadError."""
    digest = hashlib.blake2b(str(location.path).encode(), digest_size=4).hexdigest()
    name = f"{PREFIX}{digest}_{next(_generations)}"
    try:
        modules = import_package(name, location.path, location.module)
    except (Exception, SystemExit) as exc:  # project code may even call sys.exit()
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise PackageLoadError(_describe(exc, location), details) from None
    actions, notes = _find_actions(modules, location)
    return LoadedPackage(name, location, actions, notes)


def where(exc: BaseException, location: PackageLocation) -> str | None:
    """`file:line` of the innermost place in the package the exception passed through."""
    if isinstance(exc, SyntaxError) and exc.filename and location.contains(exc.filename):
        return f"{location.rel(exc.filename)}:{exc.lineno or 0}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if location.contains(f.filename)]
    return f"{location.rel(frames[-1].filename)}:{frames[-1].lineno}" if frames else None


def _describe(exc: BaseException, location: PackageLocation) -> str:
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    place = where(exc, location) or location.rel(location.path)
    text = f"{place}: {type(exc).__name__}: {message}"
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing and not location.contains(location.root / missing.split(".")[0]):
        from workbench.project.actions_python import install_hint

        text += f" ({install_hint(missing.split('.')[0])})"
    return text


# --- finding actions ---------------------------------------------------------------------


class CustomAction(Protocol):
    """A project's action: rasa_sdk's ``Action`` interface, however the class is based.

    ``run`` may be sync or async; the runner awaits what it returns when it is awaitable.
    """

    def name(self) -> str: ...

    def run(self, dispatcher: object, tracker: object, domain: object) -> object: ...


def _find_actions(
    modules: list[ModuleType], location: PackageLocation
) -> tuple[dict[str, CustomAction], list[str]]:
    actions: dict[str, CustomAction] = {}
    notes: list[str] = []
    for module in modules:
        file = location.rel(getattr(module, "__file__", None) or location.path)
        for cls in list(vars(module).values()):
            # defined here, not imported (base classes from rasa_sdk or workbench.sdk)
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            if not _looks_like_action(cls):
                continue
            try:
                instance = cls()
                name = instance.name()
            except NotImplementedError:  # a base class for the project's own actions
                continue
            except (Exception, SystemExit) as exc:
                notes.append(f"{file}: class {cls.__name__} skipped: {type(exc).__name__}: {exc}")
                continue
            if not isinstance(name, str) or not name:
                notes.append(f"{file}: class {cls.__name__} skipped: name() returned {name!r}")
            elif name in actions:
                first = type(actions[name]).__name__
                notes.append(
                    f"{file}: class {cls.__name__} also names itself '{name}'; {first} is used"
                )
            else:
                actions[name] = instance
    return actions, notes


def _looks_like_action(cls: type) -> TypeGuard[type[CustomAction]]:
    """Has ``name()`` and ``run(dispatcher, tracker, domain)``, sync or async."""
    if inspect.isabstract(cls):
        return False
    name, run = getattr(cls, "name", None), getattr(cls, "run", None)
    if not (callable(name) and callable(run)):
        return False
    try:
        inspect.signature(run).bind(None, None, None, None)  # self, dispatcher, tracker, domain
    except (TypeError, ValueError):
        return False
    return True
