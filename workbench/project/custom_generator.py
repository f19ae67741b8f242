"""Custom command-generator classes (`pipeline: - name: my_module.MyGenerator`).

The workbench cannot run a project's own generator code, but it must not drop the
generator either: the class runs as the built-in generator it derives from, with the
entry's own `llm`, `prompt_template` and other settings, and a warning says so.

Which built-in? When the module imports (Rasa installed; the module in the project
folder), the first Rasa generator class name in the class's MRO decides. The match is by
class name, so a module does not need Rasa to be recognised. When the import fails (no
Rasa here, a syntax error, anything), a name ending in `CommandGenerator` is matched by
its words: "SearchReady" → SearchReadyLLMCommandGenerator, "MultiStep" →
MultiStepLLMCommandGenerator, "SingleStep" → SingleStepLLMCommandGenerator, anything else
→ CompactLLMCommandGenerator, the generator Rasa recommends (the v2 command syntax). Other
dotted names whose import fails are not taken for command generators (they may be any
custom component).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import replace
from pathlib import Path

from workbench.calm.values import JSONObject
from workbench.project.config import COMMAND_GENERATORS, _command_generator, _short_name
from workbench.project.issues import IssueList
from workbench.project.model import Config
from workbench.project.yaml_io import line_of

NLU_COMMAND_ADAPTER = "NLUCommandAdapter"
# Rasa's abstract generator classes: a class built on one of these directly is a command
# generator, but which built-in it is like can only be read from its name
ABSTRACT_BASES = (
    "SingleStepBasedLLMCommandGenerator",
    "LLMBasedCommandGenerator",
    "CommandGenerator",
)
# no ordering needed: the MRO is walked from the class upwards, the nearest match wins
RASA_BASES = (*COMMAND_GENERATORS, NLU_COMMAND_ADAPTER, *ABSTRACT_BASES)
DEFAULT_BASE = "CompactLLMCommandGenerator"
NAME_RULES = (
    ("SearchReady", "SearchReadyLLMCommandGenerator"),
    ("MultiStep", "MultiStepLLMCommandGenerator"),
    ("SingleStep", "SingleStepLLMCommandGenerator"),
    ("Compact", "CompactLLMCommandGenerator"),
)

# (root, dotted name, module file mtimes) → (base class name or None, import problem)
_CACHE: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], tuple[str | None, str | None]] = {}


def resolve_custom_generator(root: Path, config: Config, issues: IssueList) -> Config:
    """The config with the first custom generator of the pipeline mapped to a built-in one
    (unless a built-in generator comes first)."""
    file = config.source.file
    items = config.raw.get("pipeline") if isinstance(config.raw, dict) else None
    unresolved: list[tuple[JSONObject, str, str]] = []
    for component in config.pipeline:
        name = str(component.get("name") or "")
        short = _short_name(name)
        if short in COMMAND_GENERATORS:
            return config  # a built-in generator comes first; build_config took it
        if "." not in name:
            continue
        base, problem = base_of(root, name)
        if base is None and problem is None:
            continue  # it imports and is no command generator: some other component
        if base is None:
            if not short.endswith("CommandGenerator"):
                unresolved.append((component, short, problem or ""))
                continue
            base = base_by_name(short)
            how = f"its module does not import here ({problem}), so its name decides"
        elif base in ABSTRACT_BASES:
            how = f"it derives from Rasa's {base}, so its name decides"
            base = base_by_name(short)
        else:
            how = f"it derives from {base}"
        line = _line_of_component(items, component)
        if base == NLU_COMMAND_ADAPTER:
            issues.warning(
                file,
                line,
                "custom-generator",
                f"custom component {short} derives from NLUCommandAdapter: intent "
                "triggers (`/intent`) work as with NLUCommandAdapter; its own code is not run",
                "nothing to do unless the class changes how intents become commands",
            )
            return config
        note = f"custom generator {short} runs as {base}; its own code is not run"
        issues.warning(
            file,
            line,
            "custom-generator",
            f"{note} ({how})",
            "its llm, prompt_template and other settings are used as they are",
        )
        generator = replace(
            _command_generator(file or "", component, line),
            name=base,
            custom_class=name,
            custom_note=note,
        )
        return replace(config, command_generator=generator)
    if config.command_generator is None:
        # no generator at all: a component that may be one must not vanish unnoticed
        for component, short, problem in unresolved:
            issues.warning(
                file,
                _line_of_component(items, component),
                "custom-generator",
                f"custom component {short} does not import here ({problem}); if it is a "
                "command generator, the workbench cannot tell which one and runs none",
                "end its class name in CommandGenerator (e.g. ShopCommandGenerator) or make "
                "its module importable",
            )
    return config


def base_by_name(short: str) -> str:
    for word, base in NAME_RULES:
        if word in short:
            return base
    return DEFAULT_BASE


def base_of(root: Path, dotted: str) -> tuple[str | None, str | None]:
    """(Rasa base class name, None) when `dotted` imports; (None, None) when it imports but
    derives from no Rasa generator; (None, why) when it does not import."""
    module_name, _, class_name = dotted.rpartition(".")
    key = (str(root), dotted, _mtimes(root, module_name))
    if key not in _CACHE:
        _CACHE[key] = _import_base(root, module_name, class_name)
    return _CACHE[key]


def _import_base(root: Path, module_name: str, class_name: str) -> tuple[str | None, str | None]:
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    # looking at a class must leave nothing behind in the user's folder
    write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
        mro = cls.__mro__
    except BaseException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        sys.dont_write_bytecode = write_bytecode
        sys.path.remove(str(root))
        _forget_project_modules(root, before)
    for klass in mro:
        if klass.__name__ in RASA_BASES:
            return klass.__name__, None
    return None, None


def _forget_project_modules(root: Path, before: set[str]) -> None:
    """Project modules must not stay imported: the next load (an edit, another project
    with a module of the same name) has to see the file as it is then."""
    top = root.resolve()
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        paths = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
        if any(p and Path(p).resolve().is_relative_to(top) for p in paths):
            sys.modules.pop(name, None)


def _mtimes(root: Path, module_name: str) -> tuple[tuple[str, int, int], ...]:
    """Change stamps of the files the module name can point at, for the cache key."""
    parts = module_name.split(".")
    stamps: list[tuple[str, int, int]] = []
    for index in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:index])
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                stat = path.stat()
                stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _line_of_component(items: object, component: JSONObject) -> int:
    if isinstance(items, list):
        for index, item in enumerate(items):
            if item is component:
                return line_of(items, index)
    return line_of(component)
