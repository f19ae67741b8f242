"""`calm-tui shell` refuses a project that `calm-tui validate` rejects: exit code 1 and
the errors as file:line, as for a project that does not load; the TUI shows the same
errors (file:line) in its banner."""

from __future__ import annotations

from pathlib import Path

from workbench.cli import main
from workbench.cli.exits import EXIT_PROBLEMS

BROKEN = Path(__file__).parent / "fixtures" / "broken"


def test_the_shell_refuses_a_project_validate_rejects(capsys, monkeypatch):
    import workbench.shell as shell

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the shell started on a project validate rejects")

    monkeypatch.setattr(shell, "run_shell", must_not_run)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    root = BROKEN / "unknown_link"
    assert main(["validate", str(root)]) == EXIT_PROBLEMS
    validate_out = capsys.readouterr().out
    assert main(["shell", str(root), "--offline", "--no-store"]) == EXIT_PROBLEMS
    err = capsys.readouterr().err
    [location] = [
        line.split(": error:")[0].strip()
        for line in validate_out.splitlines()
        if ": error:" in line
    ]
    assert f"{location}: error: " in err
    assert "calm-tui shell: error: the project does not validate; fix the errors above" in err
    assert "Traceback" not in err


def test_warnings_alone_do_not_stop_the_shell(monkeypatch, capsys):
    import workbench.shell as shell

    started = []
    monkeypatch.setattr(shell, "run_shell", lambda *a, **k: started.append(a) or 0)
    root = BROKEN / "unreachable_step"
    assert main(["shell", str(root), "--offline", "--no-store", "--no-greet"]) == 0
    assert started
