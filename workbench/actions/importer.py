"""Import machinery for project actions: a private module name, fresh from source.

A private name (``_calm_actions_<path digest>_<n>``), because two projects, or two
versions of one project after an edit, must not share ``sys.modules["actions"]``.
Our own finder and loader, because the standard loader trusts ``__pycache__``, whose
staleness check has one-second resolution: an edit that keeps the file's size within
the same second would run the old code. Compiling from source also leaves no
``__pycache__`` behind in the user's project.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import pkgutil
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, ModuleType

_lock = threading.RLock()


def import_package(name: str, path: Path, configured: str) -> list[ModuleType]:
    """Import the package (or single module) at `path` as `name`, with every submodule;
    while it imports, `configured` (e.g. ``actions``) is an alias of `name`."""
    with _lock:
        _finder().packages[name] = path
        try:
            with _alias(configured, name):
                return _import_all(name)
        except BaseException:
            forget(name)
            raise


def forget(name: str) -> None:
    """Drop a private package from sys.modules; objects made from it keep working."""
    with _lock:
        _finder().packages.pop(name, None)
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def _import_all(name: str) -> list[ModuleType]:
    root = importlib.import_module(name)
    modules = [root]
    if hasattr(root, "__path__"):
        _walk(root, modules)
    return modules


def _walk(package: ModuleType, modules: list[ModuleType]) -> None:
    # like rasa_sdk's register_package: every submodule, recursively, in name order
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        modules.append(module)
        if info.ispkg:
            _walk(module, modules)


@contextmanager
def _alias(configured: str, private: str) -> Iterator[None]:
    """While the package imports, `import actions.db` means the private package's db.

    Projects served by rasa_sdk (run from the project folder) often import their own
    modules absolutely. Only at import time: the name is global, and keeping it would
    let one project's package shadow another's."""
    if "." in configured or configured in sys.stdlib_module_names:
        yield
        return

    def ours(key: str) -> bool:
        return key == configured or key.startswith(configured + ".")

    stashed = {key: sys.modules.pop(key) for key in list(sys.modules) if ours(key)}
    _finder().aliases[configured] = private
    try:
        yield
    finally:
        _finder().aliases.pop(configured, None)
        for key in [k for k in sys.modules if ours(k)]:
            del sys.modules[key]
        sys.modules.update(stashed)


class _FreshLoader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time: no bytecode cache read or written."""

    def get_code(self, fullname: str) -> CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)


class _EmptyPackageLoader(importlib.abc.Loader):
    """A folder without __init__.py (a namespace package)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        return None


class _AliasLoader(importlib.abc.Loader):
    """Hands out the private module under the configured name: one module object, so
    ``actions.db`` and ``from . import db`` share their state."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set the alias's spec on it


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.packages: dict[str, Path] = {}  # private name -> package folder or file
        self.aliases: dict[str, str] = {}  # configured name -> private name

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        head, dot, rest = fullname.partition(".")
        base = self.packages.get(head)
        if base is not None:
            return _source_spec(fullname, base, rest)
        private = self.aliases.get(head)
        if private is not None:
            return importlib.util.spec_from_loader(fullname, _AliasLoader(private + dot + rest))
        return None


def _source_spec(fullname: str, base: Path, rest: str) -> importlib.machinery.ModuleSpec | None:
    if base.is_file():
        return None if rest else _file_spec(fullname, base)
    target = base.joinpath(*rest.split(".")) if rest else base
    # Python's order: a package, then a module, then a folder without __init__.py
    if (target / "__init__.py").is_file():
        return _file_spec(fullname, target / "__init__.py", package=target)
    file = target.with_name(target.name + ".py")
    if rest and file.is_file():
        return _file_spec(fullname, file)
    if target.is_dir():
        spec = importlib.machinery.ModuleSpec(fullname, _EmptyPackageLoader(), is_package=True)
        spec.submodule_search_locations = [str(target)]
        return spec
    return None


def _file_spec(
    fullname: str, file: Path, package: Path | None = None
) -> importlib.machinery.ModuleSpec | None:
    return importlib.util.spec_from_file_location(
        fullname,
        file,
        loader=_FreshLoader(fullname, str(file)),
        submodule_search_locations=[str(package)] if package else None,
    )


_installed: _Finder | None = None


def _finder() -> _Finder:
    global _installed
    with _lock:
        if _installed is None or _installed not in sys.meta_path:
            _installed = _installed or _Finder()
            # first, so the default path finder never loads our modules with bytecode
            sys.meta_path.insert(0, _installed)
        return _installed
