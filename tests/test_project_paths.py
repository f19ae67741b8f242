"""Config layouts and the Rasa-style file options (--config, --domain, --endpoints, --data)
that every verb takes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from session_helpers import copy_sample

from workbench.cli.main import main as cli_main
from workbench.project.loader import load_project
from workbench.project.paths import ProjectPaths, find_config
from workbench.understanding.choose import choose_generator
from workbench.wiring import Options, UsageError, load, options_from_args


def _move(root: Path, source: str, target: str) -> None:
    (root / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(root / source), str(root / target))


def test_root_config_needs_no_note(tmp_path: Path):
    root = copy_sample(tmp_path)
    path, note = find_config(root)
    assert path == root / "config.yml" and note is None


def test_config_in_a_config_folder_is_found_with_a_note(tmp_path: Path):
    root = copy_sample(tmp_path)
    _move(root, "config.yml", "config/config.yml")
    result = load_project(root)
    assert not result.issues.errors
    assert result.project.config.command_generator is not None
    assert result.project.config.source.file == "config/config.yml"
    assert result.project.notes == ("using config/config.yml (no config.yml at the project root)",)


def test_the_only_config_star_file_is_used(tmp_path: Path):
    root = copy_sample(tmp_path)
    _move(root, "config.yml", "config-openai.yml")
    result = load_project(root)
    assert result.project.config.source.file == "config-openai.yml"
    assert "config-openai.yml" in result.project.notes[0]


def test_several_candidates_are_named_and_none_is_guessed(tmp_path: Path):
    root = copy_sample(tmp_path)
    _move(root, "config.yml", "config-a.yml")
    shutil.copy(root / "config-a.yml", root / "config-b.yml")
    result = load_project(root)
    assert result.project.config.command_generator is None
    assert result.project.notes == (
        "no config.yml at the project root and several candidates "
        "(config-a.yml, config-b.yml): pass --config FILE",
    )
    _, label = choose_generator(result.project)
    assert label == "offline (no command generator: several config files, pass --config FILE)"
    (root / "config-b.yml").unlink()
    (root / "config-a.yml").unlink()
    _, label = choose_generator(load_project(root).project)
    assert label == "offline (no command generator: no config.yml in the project)"


def test_explicit_files_replace_the_default_layout(tmp_path: Path):
    root = copy_sample(tmp_path)
    _move(root, "config.yml", "configs/dev.yml")
    _move(root, "endpoints.yml", "configs/endpoints.dev.yml")
    _move(root, "domain", "assistant/domain")
    _move(root, "data", "assistant/flows")
    paths = ProjectPaths(
        config=Path("configs/dev.yml"),
        endpoints=Path("configs/endpoints.dev.yml"),
        domain=Path("assistant/domain"),
        data=(Path("assistant/flows"),),
    )
    plain = load_project(root)
    assert not plain.project.user_flows
    result = load_project(root, paths=paths.resolved(root, base=tmp_path))
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    reference = load_project(copy_sample(tmp_path, "reference")).project
    assert set(result.project.flows) == set(reference.flows)
    assert set(result.project.domain.slots) == set(reference.domain.slots)
    assert result.project.endpoints.actions_module == reference.endpoints.actions_module
    assert "using configs/dev.yml as the config file" in result.project.notes


def test_a_data_path_may_be_a_single_file(tmp_path: Path):
    root = copy_sample(tmp_path)
    flows_file = next((root / "data" / "flows").glob("*.yml"))
    result = load_project(root, paths=ProjectPaths(data=(flows_file,)))
    reference = load_project(root).project
    own = {f.id for f in result.project.user_flows}
    assert own and own < {f.id for f in reference.user_flows}


def test_a_missing_explicit_file_is_an_error_with_the_option_named(tmp_path: Path):
    root = copy_sample(tmp_path)
    paths = ProjectPaths(config=root / "nope.yml", domain=root / "nodomain", data=(root / "x",))
    result = load_project(root, paths=paths)
    messages = [(i.code, i.hint) for i in result.issues.errors]
    assert ("file-not-found", "check the path given to --config") in messages
    assert ("file-not-found", "check the path given to --domain (a file or a folder)") in messages
    assert ("file-not-found", "check the paths given to --data (files or folders)") in messages


def test_relative_paths_prefer_the_current_folder_then_the_project(tmp_path: Path):
    root = tmp_path / "project"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "c.yml").write_text("pipeline: []\n")
    here = tmp_path / "elsewhere"
    (here / "conf").mkdir(parents=True)
    (here / "conf" / "c.yml").write_text("pipeline: []\n")
    paths = ProjectPaths(config=Path("conf/c.yml"))
    assert paths.resolved(root, base=here).config == here / "conf" / "c.yml"
    assert paths.resolved(root, base=tmp_path).config == root / "conf" / "c.yml"


def test_no_generator_reasons_name_the_real_cause(tmp_path: Path):
    root = copy_sample(tmp_path)
    (root / "config.yml").write_text("pipeline:\n  - name: FlowPolicyLikeThing\n")
    _, label = choose_generator(load_project(root).project)
    assert label == "offline (no command generator in config.yml's pipeline (FlowPolicyLikeThing))"
    (root / "config.yml").write_text("language: en\n")
    _, label = choose_generator(load_project(root).project)
    assert label == "offline (no command generator: config.yml has no pipeline)"


def test_options_from_the_command_line(tmp_path: Path):
    from workbench.cli.shell import parser as _shell_parser

    args = _shell_parser().parse_args(
        [
            str(tmp_path),
            "--config",
            "c.yml",
            "--data",
            "a",
            "b",
            "--data",
            "c",
            "--actions",
            "server",
            "--actions-python",
            "/x/python",
            "--rasa-version",
            "3.14",
        ]
    )
    options = options_from_args(args)
    assert options.paths.config == Path("c.yml")
    assert options.paths.data == (Path("a"), Path("b"), Path("c"))
    assert options.actions == "server" and options.actions_python == Path("/x/python")
    assert options.rasa_version == "3.14"
    args = _shell_parser().parse_args([str(tmp_path), "--cassette", "a", "--record", "b"])
    with pytest.raises(UsageError, match="exclude each other"):
        options_from_args(args)


@pytest.mark.parametrize(
    "verb",
    [
        ["validate"],
        ["shell"],
        ["test"],
        ["sessions", "export", "X"],
        ["sessions", "replay", "X"],
        [],
    ],
)
def test_every_verb_takes_the_shared_options(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main([*verb, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--config", "--domain", "--endpoints", "--data", "--actions"):
        assert option in text, (verb, option)
    assert "--actions-python" in text and "--rasa-version" in text


def test_validate_and_test_verbs_use_a_nested_config(tmp_path: Path, capsys):
    root = copy_sample(tmp_path)
    _move(root, "config.yml", "config/config.yml")
    assert cli_main(["validate", str(root), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["notes"] == ["using config/config.yml (no config.yml at the project root)"]
    assert cli_main(["test", str(root), "e2e_tests/happy_paths.yml", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "using config/config.yml" in out


def test_validate_with_explicit_files(tmp_path: Path, capsys):
    root = copy_sample(tmp_path)
    _move(root, "domain", "other_domain")
    assert cli_main(["validate", str(root)]) == 1  # responses of the flows are unknown now
    capsys.readouterr()
    assert cli_main(["validate", str(root), "--domain", str(root / "other_domain")]) == 0


def test_the_watcher_reloads_with_the_same_options(tmp_path: Path):
    from workbench.watch import ProjectWatcher

    root = copy_sample(tmp_path)
    _move(root, "config.yml", "elsewhere.yml")
    options = Options(paths=ProjectPaths(config=Path("elsewhere.yml")).resolved(root))
    watcher = ProjectWatcher(root, options=options)
    assert watcher.load().project.config.source.file == "elsewhere.yml"
    assert load(root, options).project.config.command_generator is not None
