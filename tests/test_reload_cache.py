"""Hot reload reuses what did not change (parsed files, built flows and domain parts,
the checks of unchanged flows and responses) and never what did: files are known by
their content, not their size and mtime; a reused check gives what a fresh one gives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workbench.project.validate import validate_project
from workbench.project.yaml_io import YamlCache
from workbench.watch import ProjectWatcher
from workbench.wiring import Options, load

SAMPLE = Path(__file__).parent.parent / "sample_project"


def test_an_edit_with_the_same_size_and_mtime_is_reloaded(make_project):
    root = make_project()
    watcher = ProjectWatcher(root)
    first = watcher.load()
    flows = root / "data" / "flows.yml"
    before = os.stat(flows)
    text = flows.read_text(encoding="utf-8")
    edited = text.replace("utter_greet", "utter_gre3t")
    assert len(edited) == len(text) and edited != text
    flows.write_text(edited, encoding="utf-8")
    os.utime(flows, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(flows).st_mtime_ns == before.st_mtime_ns
    second = watcher.load(["data/flows.yml"])
    assert not second.ok
    assert any("utter_gre3t" in issue.message for issue in second.errors)
    assert second.project.fingerprint != first.project.fingerprint


def test_touching_a_file_without_changing_it_reuses_the_parse(make_project):
    root = make_project()
    cache = YamlCache()
    domain = root / "domain.yml"
    parsed = cache.load(domain, "domain.yml")
    os.utime(domain, ns=(1, 1))
    assert cache.load(domain, "domain.yml") is parsed


def test_unchanged_files_keep_their_built_flows(make_project):
    root = make_project(
        {
            "data/more.yml": """\
                flows:
                  other:
                    description: Another flow.
                    steps:
                      - action: utter_greet
            """
        }
    )
    watcher = ProjectWatcher(root)
    first = watcher.load().project
    (root / "data" / "more.yml").write_text(
        "flows:\n  other:\n    description: Changed.\n    steps:\n      - action: utter_greet\n"
    )
    second = watcher.load(["data/more.yml"]).project
    assert second.flows["greet"] is first.flows["greet"]
    assert second.flows["other"] is not first.flows["other"]
    assert second.flows["other"].description == "Changed."


# (file, old, new): each edit changes what other, unchanged files' checks depend on
EDITS = [
    # a slot disappears: flows and responses elsewhere now refer to an unknown slot
    ("domain/slots.yml", "  order_status:\n", "  order_status_gone:\n"),
    # a response disappears: a flow's collect loses its question
    ("domain/responses/orders.yml", "utter_ask_order_id:", "utter_ask_order_idx:"),
    # a flow id changes: a call from another file now points nowhere
    ("data/flows/account.yml", "  verify_identity:", "  verify_identity_2:"),
    # a categorical value disappears: conditions comparing with it become errors
    ("domain/slots.yml", "      - shipped\n", ""),
    # a called flow gains a link step, so calling it (from another file too) is an error
    (
        "data/flows/account.yml",
        "      - action: action_verify_identity\n",
        "      - link: leave_feedback\n      - action: action_verify_identity\n",
    ),
    # a custom action leaves the domain
    ("domain/actions.yml", "  - action_check_order\n", ""),
]


@pytest.mark.parametrize(("file", "old", "new"), EDITS, ids=[e[0] + ":" + e[1][:12] for e in EDITS])
def test_a_reload_finds_the_issues_a_fresh_validation_finds(tmp_path, file, old, new):
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    watcher = ProjectWatcher(root)
    first = watcher.load()
    assert first.ok
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    reloaded = watcher.load([file])
    fresh = load(root, Options(), with_tests=False)
    expected = [*fresh.issues, *validate_project(fresh.project)]
    assert sorted(map(str, [*reloaded.errors, *reloaded.warnings])) == sorted(map(str, expected))
    assert (reloaded.errors, reloaded.warnings) != (first.errors, first.warnings)
    path.write_text(text, encoding="utf-8")  # and undoing it is seen too
    undone = watcher.load([file])
    assert (undone.errors, undone.warnings) == (first.errors, first.warnings)
