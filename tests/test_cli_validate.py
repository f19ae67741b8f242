"""`calm-tui validate [DIR] [--format json] [--strict]`: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli.main import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main

BROKEN = Path(__file__).parent / "fixtures" / "broken"


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch):
    """Rich output without colours or terminal-width surprises."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "workbench", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


# --- exit codes ----------------------------------------------------------------------------


def test_clean_project_exits_0(make_project, capsys):
    code, out, _ = run(capsys, make_project(name="shop_bot"))
    assert code == EXIT_OK == 0
    assert "shop_bot is valid" in out


def test_errors_exit_1(capsys):
    code, out, _ = run(capsys, BROKEN / "unknown_link")
    assert code == EXIT_PROBLEMS == 1
    assert "1 error(s)" in out


def test_warnings_alone_exit_0_and_1_with_strict(capsys):
    code, out, _ = run(capsys, BROKEN / "unreachable_step")
    assert code == 0
    assert "no errors" in out and "1 warning(s)" in out
    code, _, _ = run(capsys, BROKEN / "unreachable_step", "--strict")
    assert code == 1


def test_nonexistent_dir_exits_2_with_a_message(tmp_path, capsys):
    missing = tmp_path / "nope"
    code, out, err = run(capsys, missing)
    assert code == EXIT_USAGE == 2
    assert str(missing) in err and "not a folder" in err
    assert out == ""
    assert "Traceback" not in err


def test_a_file_instead_of_a_dir_exits_2(make_project, capsys):
    code, _, err = run(capsys, make_project() / "domain.yml")
    assert code == 2
    assert "not a folder" in err


def test_unknown_option_value_is_a_usage_error(make_project, capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", str(make_project()), "--format", "xml"])
    assert info.value.code == 2
    assert "--format" in capsys.readouterr().err


def test_default_project_dir_is_the_current_folder(make_project, capsys, monkeypatch):
    monkeypatch.chdir(BROKEN / "unknown_call")
    code, out, _ = run(capsys)
    assert code == 1
    assert "data/flows.yml:5" in out


# --- text output ---------------------------------------------------------------------------


def test_text_output_is_grouped_by_file_with_file_and_line(make_project, capsys):
    root = make_project(
        {
            "domain.yml": """\
                slots:
                  name: {type: text}
                responses:
                  utter_ask_name:
                    - text: "What is your {nmae}?"
                  utter_greet:
                    - text: "Hello {name}!"
                """,
            "data/flows.yml": """\
                flows:
                  greet:
                    description: Greet the user.
                    steps:
                      - collect: name
                      - action: utter_greet
                      - link: nowhere
                  bye:
                    steps:
                      - action: utter_gone
                """,
        }
    )
    code, out, _ = run(capsys, root)
    assert code == 1
    lines = out.splitlines()
    # one header per file, each followed by that file's issues
    assert lines.count("data/flows.yml") == 1
    assert lines.count("domain.yml") == 1
    flows_at, domain_at = lines.index("data/flows.yml"), lines.index("domain.yml")
    flows_block = lines[flows_at + 1 : domain_at] if flows_at < domain_at else lines[flows_at:]
    domain_block = lines[domain_at + 1 : flows_at] if domain_at < flows_at else lines[domain_at:]
    flows_text, domain_text = "\n".join(flows_block), "\n".join(domain_block)
    assert "data/flows.yml:7" in flows_text and "nowhere" in flows_text
    assert "data/flows.yml:8" in flows_text and "no description" in flows_text
    assert "data/flows.yml:10" in flows_text and "utter_gone" in flows_text
    assert "domain.yml:5" in domain_text and "nmae" in domain_text
    assert "domain.yml:" not in flows_text
    # issues within a file are in line order
    assert flows_text.index("flows.yml:7") < flows_text.index("flows.yml:8")
    assert flows_text.index("flows.yml:8") < flows_text.index("flows.yml:10")
    # the placeholder {nmae} is a warning: Rasa does not check placeholders
    assert "2 error(s), 2 warning(s)" in lines[-1]


def test_text_output_shows_yaml_error_column_and_hint(capsys):
    code, out, _ = run(capsys, BROKEN / "yaml_syntax")
    assert code == 1
    assert "data/flows.yml:5:28" in out
    assert "→" in out  # the hint line


def test_text_output_has_no_markup_leaks(make_project, capsys):
    """Rich markup characters in user content are printed literally."""
    root = make_project(
        {
            "data/flows.yml": """\
                flows:
                  greet:
                    description: Greet.
                    steps:
                      - action: "[bold]utter_x[/bold]"
                """
        }
    )
    code, out, _ = run(capsys, root)
    assert code == 1
    assert "[bold]utter_x[/bold]" in out


# --- JSON output ---------------------------------------------------------------------------


def test_json_output_lists_issues(capsys):
    code, out, _ = run(capsys, BROKEN / "collect_unknown_slot", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["project"] == str((BROKEN / "collect_unknown_slot").resolve())
    assert (report["errors"], report["warnings"]) == (1, 1)
    assert {(i["code"], i["severity"], i["file"], i["line"]) for i in report["issues"]} == {
        ("unknown-slot", "error", "data/flows.yml", 5),
        ("missing-ask-response", "warning", "data/flows.yml", 5),
    }
    for issue in report["issues"]:
        assert set(issue) == {"file", "line", "column", "severity", "code", "message", "hint"}


def test_json_output_for_a_clean_project(make_project, capsys):
    code, out, _ = run(capsys, make_project(), "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "project": json.loads(out)["project"],
        "errors": 0,
        "warnings": 0,
        "issues": [],
    }


def test_json_output_of_yaml_error_has_column(capsys):
    code, out, _ = run(capsys, BROKEN / "yaml_syntax", "--format", "json")
    assert code == 1
    [issue] = json.loads(out)["issues"]
    assert (issue["code"], issue["line"], issue["column"]) == ("yaml-syntax", 5, 28)


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir() if p.is_dir()))
def test_every_broken_fixture_validates_without_a_traceback(case, capsys):
    code, out, err = run(capsys, BROKEN / case, "--format", "json")
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["issues"]
    assert code == (1 if report["errors"] else 0)


# --- the real command ------------------------------------------------------------------------


def test_process_exit_codes(make_project, tmp_path):
    clean = run_process("validate", make_project())
    assert clean.returncode == 0, clean.stderr
    broken = run_process("validate", BROKEN / "unknown_link", "--format", "json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["errors"] == 1
    missing = run_process("validate", tmp_path / "missing")
    assert missing.returncode == 2
    assert "not a folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    usage = run_process("validate", "--format", "yaml")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


def test_process_never_prints_a_traceback_for_a_hostile_project(make_project):
    root = make_project(
        {
            "data/flows.yml": "flows: &f\n  greet: *f\n",
            "domain.yml": "slots:\n  name: {type: text}\n  7: {type: text}\n",
            "actions/broken.py": "def (:\n",
            "endpoints.yml": "- not\n- a mapping\n",
            "config.yml": "\x00",
        }
    )
    result = run_process("validate", root)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
