"""Watch a project folder and reload it when a file the assistant is made of changes.

`ProjectWatcher` owns one `YamlCache`, so a reload after saving one file re-parses only
that file. A reload that finds errors never replaces the last good project: the caller
keeps chatting on `last_good` and shows `errors` until a later save fixes them.

No Textual here: the TUI runs `ProjectWatcher.watch()` in an exclusive worker and turns
each `ReloadResult` into a Message; tests and benchmarks drive it directly.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.project.collector import collector_paused
from workbench.project.issues import Issue
from workbench.project.loader import TEST_DIRS
from workbench.project.model import Project
from workbench.project.validate import ValidationMemo, validate_project
from workbench.project.yaml_io import YamlCache
from workbench.wiring import Options, load

# Fast enough to feel instant, slow enough to take an editor's write+rename as one change:
# changes are collected until 10 ms pass without a new one (at most 50 ms).
DEBOUNCE_MS = 50
STEP_MS = 10
WATCHED_SUFFIXES = frozenset({".yml", ".yaml", ".py"})
# a saved document is re-indexed by the knowledge base alone: the project is not reloaded
DOCUMENT_SUFFIX = ".txt"
# `.calm/` holds the session store and the actions' SQLite files: writing them on every
# turn must not reload the project. e2e tests are not part of the assistant either (and
# an export writes there).
IGNORED_DIRS = frozenset(
    {
        ".calm",
        ".git",
        ".hg",
        "__pycache__",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        "models",
        *TEST_DIRS,
    }
)
# editor swap, backup and lock files (vim, emacs, JetBrains, kate, VS Code, gedit)
TEMP_PATTERNS = (
    ".#*",
    "#*#",
    "*~",
    "*.swp",
    "*.swo",
    "*.swx",
    "*.tmp",
    "*.bak",
    "*.orig",
    "*___jb_tmp___",
    "*___jb_old___",
    "*.kate-swp",
    ".~lock.*",
    ".goutputstream-*",
    "4913",
)


def is_relevant(root: Path, path: str | Path) -> bool:
    """Whether a change at `path` (under `root`) can change the loaded project."""
    return _watched(root, path) and Path(path).suffix in WATCHED_SUFFIXES


def is_document(root: Path, path: str | Path) -> bool:
    """Whether `path` may be a knowledge base document (Rasa indexes `**/*.txt`)."""
    return _watched(root, path) and Path(path).suffix == DOCUMENT_SUFFIX


def _watched(root: Path, path: str | Path) -> bool:
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return False
    if any(part in IGNORED_DIRS for part in rel.parts[:-1]):
        return False
    return not any(fnmatch.fnmatchcase(rel.name, pattern) for pattern in TEMP_PATTERNS)


@dataclass(frozen=True)
class ReloadResult:
    """One load of the project folder."""

    project: Project  # what was loaded; used only when `ok`
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    changed: tuple[str, ...] = ()  # project-relative paths that triggered the reload
    elapsed_ms: float = 0.0  # load + validate
    finished_at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def what(self) -> str:
        """'data/flows/orders.yml', '2 files' or 'the project'."""
        if len(self.changed) == 1:
            return self.changed[0]
        if self.changed:
            return f"{len(self.changed)} files"
        return "the project"


class ProjectWatcher:
    def __init__(
        self,
        root: str | Path,
        *,
        debounce: int = DEBOUNCE_MS,
        step: int = STEP_MS,
        options: Options | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.options = options or Options()
        self.debounce = debounce
        self.step = step
        self.cache = YamlCache()
        self.validation = ValidationMemo()
        self.last_good: Project | None = None
        self.last: ReloadResult | None = None
        # set while `changes()` is watching: a file saved from then on is reported
        self.ready = asyncio.Event()
        # told of saved documents (absolute paths), e.g. `KnowledgeService.notice_changes`
        self.on_documents: Callable[[list[Path]], None] | None = None

    def load(self, changed: Iterable[str] = ()) -> ReloadResult:
        """Load and validate the folder; a result without errors becomes `last_good`."""
        started = time.perf_counter()
        with collector_paused():
            loaded = load(self.root, self.options, with_tests=False, cache=self.cache)
            checked = validate_project(loaded.project, memo=self.validation)
            issues = [*loaded.issues, *checked]
        result = ReloadResult(
            project=loaded.project,
            errors=tuple(i for i in issues if i.is_error),
            warnings=tuple(i for i in issues if not i.is_error),
            changed=tuple(changed),
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
        if result.ok:
            self.last_good = result.project
        self.last = result
        return result

    def relevant(self, _change: object, path: str) -> bool:
        if self.on_documents is not None and is_document(self.root, path):
            return True
        return is_relevant(self.root, path)

    async def changes(
        self, stop_event: asyncio.Event | None = None
    ) -> AsyncIterator[tuple[str, ...]]:
        """Each batch of relevant changes, as sorted project-relative paths. `ready` is
        set once the folder is watched, and cleared when this ends."""
        from watchfiles import awatch

        self.ready.clear()
        stop = _ReadyOnFirstCheck(stop_event, self.ready, asyncio.get_running_loop())
        try:
            async for batch in awatch(
                self.root,
                watch_filter=self.relevant,
                debounce=self.debounce,
                step=self.step,
                stop_event=stop,
            ):
                paths = {Path(path).relative_to(self.root).as_posix() for _, path in batch}
                yield tuple(sorted(paths))
        finally:
            self.ready.clear()

    async def watch(self, stop_event: asyncio.Event | None = None) -> AsyncIterator[ReloadResult]:
        """Reload after every batch of changes (off the event loop) and yield the result."""
        async for changed in self.changes(stop_event):
            documents = [p for p in changed if p.endswith(DOCUMENT_SUFFIX)]
            if documents and self.on_documents is not None:
                self.on_documents([self.root / p for p in documents])
            rest = tuple(p for p in changed if not p.endswith(DOCUMENT_SUFFIX))
            if rest:
                yield await asyncio.to_thread(self.load, rest)


class _ReadyOnFirstCheck:
    """The stop event handed to `awatch`, which tells when watching has begun: watchfiles
    sets up its OS watches before its loop first asks whether to stop, and offers no
    other sign. That first question (from watchfiles' thread) sets `ready` on the loop."""

    def __init__(
        self,
        stop_event: asyncio.Event | None,
        ready: asyncio.Event,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.stop_event = stop_event
        self.stopped = False  # awatch sets this when it is cancelled
        self.ready = ready
        self.loop = loop
        self.asked = False

    def is_set(self) -> bool:
        if not self.asked:
            self.asked = True
            try:
                self.loop.call_soon_threadsafe(self.ready.set)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting
                pass
        return self.stopped or (self.stop_event is not None and self.stop_event.is_set())

    def set(self) -> None:
        self.stopped = True


def format_issue(issue: Issue) -> str:
    """`data/flows/orders.yml:12: message` (the hint after a dash, when there is one)."""
    text = f"{issue.location}: {issue.message}"
    return f"{text} — {issue.hint}" if issue.hint else text
