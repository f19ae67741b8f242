"""`calm-tui test --compare A B`: one selection under two configurations, compared case by
case: each side's outcome, the turns whose commands differ, model use per side."""

from __future__ import annotations

import subprocess

from tui_helpers import copy_sample

from workbench.cli.main import main as cli_main

CASE = "e2e_tests/happy_paths.yml::check_status_of_a_shipped_order"
# a model that takes the status question for a cancellation
WRONG = """\
version: 1
entries:
  - user: where is my order A1001
    completion: |-
      start flow cancel_order
      set slot order_id A1001
"""


def out_of(capsys) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_two_generators_are_compared_turn_by_turn(tmp_path, capsys):
    root = copy_sample(tmp_path)
    (root / "wrong.cassette.yml").write_text(WRONG, encoding="utf-8")
    code = cli_main(
        ["test", str(root), CASE, "--compare", "offline", "cassette=wrong.cassette.yml"]
    )
    out = out_of(capsys)
    assert code == 1  # one side failed
    assert "A/B comparison" in out
    assert f"{CASE}: offline passed, cassette=wrong.cassette.yml failed" in out, out[-1500:]
    assert "turn 1 ('where is my order A1001'):" in out
    assert "offline: start flow check_order_status; set slot order_id A1001" in out
    assert "cassette=wrong.cassette.yml: start flow cancel_order; set slot order_id A1001" in out
    assert "offline: 1/1 passed" in out and "cassette=wrong.cassette.yml: 0/1 passed" in out


def test_the_same_configuration_twice_behaves_the_same(tmp_path, capsys):
    root = copy_sample(tmp_path)
    assert cli_main(["test", str(root), CASE, "--compare", "offline", "offline"]) == 0
    assert "1 of 1 case(s) behave the same under both" in out_of(capsys)


def test_a_change_is_compared_with_a_git_revision(tmp_path, capsys, monkeypatch):
    root = copy_sample(tmp_path)
    monkeypatch.chdir(root)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    flows = root / "data" / "flows" / "orders.yml"
    # today's project sends everyone to a human when they ask about an order
    step = "      - action: action_check_order\n"
    text = flows.read_text(encoding="utf-8").replace(
        step, "      - link: talk_to_human\n" + step, 1
    )
    flows.write_text(text, encoding="utf-8")
    code = cli_main(["test", str(root), CASE, "--offline", "--compare", "git=HEAD", "project=."])
    out = out_of(capsys)
    assert code == 1
    assert f"{CASE}: git=HEAD passed, project=. failed" in out
    assert "git=HEAD: 1/1 passed" in out


def test_a_bad_configuration_is_a_usage_error(tmp_path, capsys):
    root = copy_sample(tmp_path)
    assert cli_main(["test", str(root), CASE, "--compare", "offline", "temperature=0"]) == 2
    assert "unknown setting 'temperature'" in capsys.readouterr().err


def test_compare_with_repeat_is_a_usage_error(tmp_path, capsys):
    root = copy_sample(tmp_path)
    args = ["test", str(root), CASE, "--compare", "offline", "offline", "--repeat", "2"]
    assert cli_main(args) == 2
    assert "leave out --repeat" in capsys.readouterr().err
