"""How `calm-tui` ends, through its real entry point: 0 ok, 1 problems found (validation
errors, failing tests, a workbench error the user can fix), 2 only for usage errors, 70
for an internal error (one line on stderr, the traceback in a file)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.cli.exits import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from workbench.errors import UsageError, WorkbenchError

BROKEN = Path(__file__).parent / "fixtures" / "broken"
FAILING_TEST = """\
test_cases:
  - test_case: says goodbye
    steps:
      - user: "/start flow greet"
      - bot: "Goodbye"
"""


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


def calm_tui(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """`python -m workbench ARGS` (or, to break something first, `python -c CODE ARGS`)."""
    command = ["-m", "workbench"] if code is None else ["-c", code]
    return subprocess.run(
        [sys.executable, *command, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        timeout=120,
    )


def crash_files(root: Path) -> list[Path]:
    return sorted((root / ".calm" / "logs").glob("crash-*.txt"))


def test_the_codes():
    assert (EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL) == (0, 1, 2, 70)
    assert issubclass(UsageError, WorkbenchError)
    assert WorkbenchError("x").exit_code == 1 and UsageError("x").exit_code == 2


# --- 0 -------------------------------------------------------------------------------------


def test_ok_exits_0(make_project):
    result = calm_tui("validate", make_project())
    assert result.returncode == 0, result.stderr


# --- 1 -------------------------------------------------------------------------------------


def test_validation_errors_exit_1():
    result = calm_tui("validate", BROKEN / "unknown_link")
    assert result.returncode == 1
    assert "1 error(s)" in result.stdout


def test_failing_tests_exit_1(make_project):
    root = make_project({"e2e_tests/t.yml": FAILING_TEST})
    result = calm_tui("test", root, "--offline")
    assert result.returncode == 1
    assert "1 failed" in result.stdout


def test_a_project_that_does_not_load_exits_1_in_every_verb(make_project, capsys):
    root = make_project({"data/flows.yml": "flows:\n  greet: [\n"})
    for verb in (["shell", "--no-store"], ["test", "--offline"]):
        assert main([verb[0], str(root), *verb[1:]]) == EXIT_PROBLEMS, verb
        err = capsys.readouterr().err
        assert "data/flows.yml" in err
        assert f"calm-tui {verb[0]}: error: the project does not load" in err


def test_a_cassette_that_cannot_be_read_exits_1(make_project, tmp_path, capsys):
    cassette = tmp_path / "bad.yml"
    cassette.write_text("entries: {a: 1}\n", encoding="utf-8")
    root = make_project({"e2e_tests/t.yml": FAILING_TEST})
    assert main(["test", str(root), "--cassette", str(cassette)]) == EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert "calm-tui test: error:" in err and "`entries` must be a list" in err
    assert "Traceback" not in err


def test_a_session_that_is_not_there_exits_1(make_project, capsys):
    assert main(["sessions", "show", "nope", str(make_project())]) == EXIT_PROBLEMS
    assert "calm-tui sessions: error: no session 'nope'" in capsys.readouterr().err


# --- 2 -------------------------------------------------------------------------------------


def test_argument_errors_exit_2(make_project):
    result = calm_tui("validate", make_project(), "--format", "xml")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_contradicting_options_exit_2(make_project):
    result = calm_tui("shell", make_project(), "--cassette", "a.yml", "--record", "b.yml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "calm-tui shell: error: --cassette and --record exclude each other"
    )


@pytest.mark.parametrize("verb", [[], ["validate"], ["shell"], ["test"], ["sessions", "list"]])
def test_a_project_folder_that_is_not_there_exits_2(tmp_path, capsys, verb):
    assert main([*verb, str(tmp_path / "nowhere")]) == EXIT_USAGE
    assert "is not a folder" in capsys.readouterr().err


def test_a_missing_cassette_exits_2(make_project, capsys):
    root = make_project()
    assert main(["shell", str(root), "--cassette", "nope.yml"]) == EXIT_USAGE
    assert "--cassette nope.yml: the file does not exist" in capsys.readouterr().err


# --- 70: internal errors ----------------------------------------------------------------------


BREAK_VALIDATION = textwrap.dedent(
    """\
    import sys
    import workbench.project.validate as validate

    def broken(*args, **kwargs):
        raise RuntimeError("boom\\nsecond line")

    validate.validate_loaded = broken
    from workbench.cli import main
    sys.exit(main())
    """
)


def test_an_internal_error_prints_one_line_and_writes_the_traceback(make_project):
    root = make_project()
    result = calm_tui("validate", root, code=BREAK_VALIDATION)
    assert result.returncode == EXIT_INTERNAL == 70
    (line,) = result.stderr.splitlines()
    (crash,) = crash_files(root)
    assert line == (
        f"calm-tui: internal error: RuntimeError: boom second line "
        f"(traceback written to {crash.resolve()})"
    )
    report = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in report
    assert "RuntimeError: boom" in report and "in broken" in report
    assert result.stdout == ""


def test_without_a_writable_project_the_traceback_goes_to_the_temp_folder(
    make_project, tmp_path, monkeypatch, capsys
):
    import tempfile

    import workbench.project.validate as validate

    root = make_project()
    (root / ".calm").write_text("a file where the folder would be")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()

    def broken(*args, **kwargs):
        raise KeyError("slot")

    monkeypatch.setattr(validate, "validate_loaded", broken)
    assert main(["validate", str(root)]) == EXIT_INTERNAL
    (crash,) = (tmp_path / "temp").glob("calm-tui-crash-*.txt")
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"calm-tui: internal error: KeyError: 'slot' (traceback written to {crash.resolve()})"
    )
    assert "KeyError: 'slot'" in crash.read_text(encoding="utf-8")


@pytest.fixture
def headless_tui(monkeypatch):
    """`calm-tui` runs its app without a terminal (the project loads behind it, and a
    load that fails ends it)."""
    from workbench.tui.app import WorkbenchApp

    run = WorkbenchApp.run
    monkeypatch.setattr(WorkbenchApp, "run", lambda app, **options: run(app, headless=True))


def test_a_failing_tui_start_is_an_internal_error_not_a_usage_error(
    make_project, monkeypatch, capsys, headless_tui
):
    import workbench.tui.app as app

    def broken(*args, **kwargs):
        raise AttributeError("no such thing")

    monkeypatch.setattr(app, "load_workbench", broken)
    root = make_project()
    assert main([str(root), "--offline"]) == EXIT_INTERNAL
    assert "internal error: AttributeError: no such thing" in capsys.readouterr().err
    assert len(crash_files(root)) == 1


def test_a_workbench_error_from_the_tui_start_is_not_a_crash(
    make_project, tmp_path, capsys, headless_tui
):
    cassette = tmp_path / "bad.yml"
    cassette.write_text("- a\n", encoding="utf-8")
    root = make_project()
    assert main([str(root), "--cassette", str(cassette)]) == EXIT_PROBLEMS
    assert "calm-tui: error:" in capsys.readouterr().err
    assert crash_files(root) == []


def test_ctrl_c_exits_130(make_project, monkeypatch):
    import workbench.shell as shell

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shell, "run_shell", interrupted)
    assert main(["shell", str(make_project()), "--offline", "--no-store"]) == 130
