"""Which test cases a `calm-tui test PATHS...` run selects: folders, files (also outside
the project's test folders) and `file.yml::test case name`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workbench.errors import UsageError
from workbench.project.e2e import read_test_file
from workbench.project.issues import IssueList
from workbench.project.model import Project, TestCase, TestFile
from workbench.project.yaml_io import YamlSyntaxError


class SelectionError(UsageError):
    """A path or test case name that selects nothing (a usage error)."""


def select_cases(
    project: Project, paths: Sequence[str], cwd: Path | None = None
) -> list[tuple[TestFile, TestCase]]:
    """The test cases that PATHS select: a folder (every test file under it), a file, or
    `file.yml::test case name`. Paths are relative to the project (or absolute, or
    relative to `cwd` as a fallback). No paths: every test case of the project."""
    if not paths:
        return list(project.test_cases)
    root = project.root.resolve()
    selected: list[tuple[TestFile, TestCase]] = []
    seen: set[tuple[str, str, int]] = set()
    for raw in paths:
        path_text, _, case_name = raw.partition("::")
        path = _resolve(root, path_text, cwd)
        if path is None:
            raise SelectionError(f"'{path_text}': no such file or folder in {root}")
        if path.is_dir():
            if case_name:
                raise SelectionError(f"'{raw}': '::test case' needs a file, not a folder")
            files = [tf for tf in _all_test_files(project, root) if _is_under(root, tf.path, path)]
            files += [
                tf
                for tf in _extra_test_files(project, root, path)
                if tf.path not in {f.path for f in files}
            ]
            if not files:
                raise SelectionError(f"'{path_text}': no e2e test files in this folder")
        else:
            test_file = _test_file_for(project, root, path)
            if test_file is None:
                raise SelectionError(f"'{path_text}' is not an e2e test file (no `test_cases:`)")
            files = [test_file]
        for test_file in files:
            cases = list(test_file.test_cases)
            if case_name:
                cases = [c for c in cases if c.name == case_name]
                if not cases:
                    known = ", ".join(c.name for c in test_file.test_cases) or "none"
                    raise SelectionError(
                        f"'{raw}': no test case '{case_name}' in {test_file.path} "
                        f"(test cases: {known})"
                    )
            for case in cases:
                key = (test_file.path, case.name, case.source.line)
                if key not in seen:
                    seen.add(key)
                    selected.append((test_file, case))
    return selected


def _resolve(root: Path, text: str, cwd: Path | None) -> Path | None:
    candidate = Path(text).expanduser()
    options = [candidate] if candidate.is_absolute() else [root / candidate]
    if not candidate.is_absolute():
        options.append((cwd or Path.cwd()) / candidate)
    for option in options:
        if option.exists():
            return option.resolve()
    return None


def _all_test_files(project: Project, root: Path) -> list[TestFile]:
    return list(project.test_files)


def _is_under(root: Path, rel: str, folder: Path) -> bool:
    path = (root / rel).resolve()
    return path == folder or folder in path.parents


def _test_file_for(project: Project, root: Path, path: Path) -> TestFile | None:
    for test_file in project.test_files:
        if (root / test_file.path).resolve() == path:
            return test_file
    return _read_test_file(project, root, path)


def _extra_test_files(project: Project, root: Path, folder: Path) -> list[TestFile]:
    """Test files under a folder the loader does not read (outside e2e_tests/, tests/)."""
    known = {(root / tf.path).resolve() for tf in project.test_files}
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".yml", ".yaml") or path.resolve() in known:
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        test_file = _read_test_file(project, root, path, quiet=True)
        if test_file is not None:
            found.append(test_file)
    return found


def _read_test_file(
    project: Project, root: Path, path: Path, quiet: bool = False
) -> TestFile | None:
    """Load a test file the project loader did not (it lies outside the test folders),
    by the loader's rules (`project/e2e.py`)."""
    issues = IssueList()
    try:
        test_file = read_test_file(root, path, issues)
    except (OSError, UnicodeDecodeError, YamlSyntaxError) as exc:
        if quiet:
            return None
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = path.as_posix()
        raise SelectionError(f"{rel}: cannot read the test file: {exc}") from exc
    if test_file is not None and issues.errors:
        raise SelectionError("\n".join(str(issue) for issue in issues.errors))
    return test_file
