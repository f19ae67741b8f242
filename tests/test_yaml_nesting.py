"""Deeply nested YAML is refused before libyaml's composer recurses into it: tens of
thousands of levels used to overflow the C stack and kill the process (`calm-tui
validate`, and the TUI's reload thread, at far fewer levels on a small thread stack).

The crashing depths run in a subprocess, so a segfault fails the test instead of ending
the test run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench.project.loader import load_project
from workbench.project.yaml_depth import MAX_NESTING, too_deep
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml

CRASH_DEPTH = 30_000  # beyond the ~26,000 levels that overflow an 8 MB stack
MESSAGE = f"nesting deeper than {MAX_NESTING} levels"


def flow_sequences(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def flow_mappings(depth: int) -> str:
    return "a: " + "{a: " * depth + "1" + "}" * depth + "\n"


def block_mappings(depth: int) -> str:
    """`a:` keys, each one column further in: `depth` nested mappings."""
    return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "b\n"


def block_sequences(depth: int) -> str:
    """`- - - x`: compact nested sequences on one line."""
    return "- " * depth + "x\n"


def block_map_and_sequence(depth: int) -> str:
    """A sequence at its key's indentation: two levels for each column step."""
    lines = ["k:\n"]
    for i in range(depth // 2):
        lines.append(" " * i + "-\n")
        lines.append(" " * (i + 1) + "k:\n")
    lines.append(" " * (depth // 2 + 1) + "x\n")
    return "".join(lines)


SHAPES = {
    "flow-sequences": flow_sequences,
    "flow-mappings": flow_mappings,
    "block-mappings": block_mappings,
    "block-sequences": block_sequences,
}


def run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


# --- the crashing depths, in a subprocess ------------------------------------------------


@pytest.mark.parametrize("shape", ["flow-sequences", "flow-mappings", "block-sequences"])
def test_validate_refuses_a_crashing_depth_with_file_and_line(make_project, shape):
    root = make_project()
    (root / "domain.yml").write_text(SHAPES[shape](CRASH_DEPTH), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "validate", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stderr[-2000:]  # a segfault is -11
    line = 1
    assert f"domain.yml:{line}: error: {MESSAGE}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_small_thread_stack_survives_the_reload_path(shape, tmp_path):
    """The TUI reloads in a worker thread; with 256 KB of stack libyaml's composer died
    at ~780 levels. Here 1,000 levels go through the watcher's load in such a thread."""
    text = SHAPES[shape](1000)
    (tmp_path / "domain.yml").write_text(text, encoding="utf-8")
    done = run_isolated(
        f"""
        import threading
        from workbench.watch import ProjectWatcher
        results = []
        threading.stack_size(256 * 1024)
        worker = threading.Thread(
            target=lambda: results.append(ProjectWatcher({str(tmp_path)!r}).load())
        )
        worker.start()
        worker.join()
        for issue in results[0].errors:
            print(issue.location, issue.message)
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert MESSAGE in done.stdout


# --- the limit, in process (these depths are safe to try) --------------------------------


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_limit_is_accepted_and_one_more_level_refused(shape):
    build = SHAPES[shape]
    # the flow shapes sit under a mapping (`a:`), which is one level more
    at_limit = MAX_NESTING - 1 if shape.startswith("flow") else MAX_NESTING
    assert parse_yaml(build(at_limit), "f.yml") is not None
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(build(at_limit + 1), "f.yml")
    assert caught.value.message == MESSAGE
    assert str(caught.value).startswith("f.yml:")


def test_a_sequence_at_its_keys_indentation_counts_as_a_level():
    with pytest.raises(YamlSyntaxError, match=MESSAGE):
        parse_yaml(block_map_and_sequence(MAX_NESTING + 10), "f.yml")
    assert parse_yaml(block_map_and_sequence(MAX_NESTING - 10), "f.yml") is not None


def test_block_style_reports_the_line_where_the_limit_is_crossed():
    text = "ok: 1\n" + block_mappings(MAX_NESTING + 50)
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text, "deep.yml")
    assert caught.value.line == MAX_NESTING + 2
    assert str(caught.value) == f"deep.yml:{MAX_NESTING + 2}: {MESSAGE}"


def test_brackets_in_quoted_scalars_block_scalars_and_comments_do_not_count():
    many = 5 * MAX_NESTING
    text = (
        f"single: '{'[' * many}'\n"
        f'double: "{"{" * many}"\n'
        f"plain: text with {'[' * 3} inside\n"
        f"# a comment {'[' * many}\n"
        "block: |\n"
        + "".join(f"  {'[{' * 3}\n" for _ in range(many))
        + "folded: >\n"
        # deeper and deeper indentation inside a block scalar is text, not nesting
        + "".join(" " * (2 + i) + "line\n" for i in range(many))
    )
    data = parse_yaml(text, "f.yml")
    assert data["single"] == "[" * many
    assert data["double"] == "{" * many
    assert too_deep(text) is None


def test_aliases_cannot_nest_deeper_than_the_text():
    """Each line nests 150 levels and names the previous anchor inside: a value 600
    levels deep from a text no deeper than 151."""
    lines = []
    for i in range(4):
        inner = f"*a{i - 1}" if i else "1"
        lines.append(f"k{i}: &a{i} " + "[" * 150 + inner + "]" * 150)
    with pytest.raises(YamlSyntaxError, match=MESSAGE):
        parse_yaml("\n".join(lines) + "\n", "f.yml")


def test_the_loader_reports_nesting_as_a_file_line_issue(make_project):
    root = make_project()
    (root / "domain.yml").write_text(flow_sequences(5000), encoding="utf-8")
    result = load_project(root)
    [issue] = [i for i in result.issues.errors if i.file == "domain.yml"]
    assert (issue.line, issue.column, issue.message) == (1, 0, MESSAGE)
    assert issue.location == "domain.yml:1"


def test_the_prescan_of_5_mb_is_fast():
    """≤ 50 ms on a quiet machine (benchmarks/run.py yaml_prescan); generous here, to
    catch a scan that went quadratic rather than to time it."""
    flows = "".join(
        f"  flow_{i}:\n    description: x [{i}] {{y}}\n    steps:\n"
        f"      - action: utter_{i}\n        next:\n          - if: slots.a = [1, 2]\n"
        f"            then: END\n"
        for i in range(40_000)
    )
    text = "flows:\n" + flows
    assert len(text) > 5_000_000
    started = time.perf_counter()
    assert too_deep(text) is None
    assert time.perf_counter() - started < 0.5
    hostile = "a: " + "[" * 5_000_000
    started = time.perf_counter()
    assert too_deep(hostile) == 1
    assert time.perf_counter() - started < 0.5


def test_the_sample_project_is_far_from_the_limit():
    sample = Path(__file__).parent.parent / "sample_project"
    for path in sample.rglob("*.yml"):
        assert too_deep(path.read_text(encoding="utf-8"), limit=40) is None, path


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\x85"])
def test_every_line_break_libyaml_knows_is_a_line_break_here(newline):
    text = newline.join(" " * i + "a:" for i in range(MAX_NESTING + 5)) + newline
    assert too_deep(text) == MAX_NESTING + 1
