"""House rules that a reading of the source checks (the import rules are import-linter
contracts in pyproject.toml, the types are mypy's: both run in .ci/run)."""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workbench"

# `Any` switches the type checker off for a value: the one left defines the unchecked
# alias below. The ceiling never goes up.
ANY_CEILING = 1

# The aliases of `Any` in workbench/calm/values.py (data read by key without being
# narrowed first) switch it off as well; they are counted the same way, apart.
UNCHECKED_NAMES = ("UncheckedJSON", "UncheckedObject")
UNCHECKED_CEILING = 5


def any_uses(source: str, names: tuple[str, ...] = ("Any",)) -> int:
    """`Any` as a name in code: comments, strings and `import` lines do not count."""
    count = 0
    importing = False
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string in ("import", "from") and not importing:
            importing = token.line.lstrip().startswith(("import ", "from "))
        elif token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            importing = False
        elif token.type == tokenize.NAME and token.string in names and not importing:
            count += 1
    return count


def any_by_file(names: tuple[str, ...] = ("Any",)) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in sorted(PACKAGE.rglob("*.py")):
        found = any_uses(path.read_text(encoding="utf-8"), names)
        if found:
            counts[str(path.relative_to(ROOT))] = found
    return counts


def test_any_is_counted_in_code_only():
    source = (
        "from typing import Any\n"
        "from typing import (\n    Any,\n    cast,\n)\n"
        '"""Any docstring."""\n'
        "x: Any = 1  # Any comment\n"
        "def f(a: dict[str, Any]) -> Any: ...\n"
    )
    assert any_uses(source) == 3


def test_the_package_holds_few_any():
    counts = any_by_file()
    total = sum(counts.values())
    worst = ", ".join(f"{file} {n}" for file, n in counts.most_common(5))
    assert total <= ANY_CEILING, f"{total} uses of Any (most: {worst}); at most {ANY_CEILING}"


def test_the_package_holds_few_unchecked_values():
    counts = any_by_file(UNCHECKED_NAMES)
    total = sum(counts.values())
    worst = ", ".join(f"{file} {n}" for file, n in counts.most_common(5))
    assert total <= UNCHECKED_CEILING, (
        f"{total} uses of the unchecked aliases (most: {worst}); at most {UNCHECKED_CEILING}"
    )


def test_no_test_skips_when_the_workbench_itself_does_not_import():
    """A missing workbench module is a failure, not a skip."""
    pattern = re.compile(r"importorskip\(\s*['\"]workbench")
    offenders = [
        path.name
        for path in sorted((ROOT / "tests").glob("*.py"))
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
