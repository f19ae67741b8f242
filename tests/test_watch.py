"""The project watcher: what counts as a change, reloads that keep the last good project,
and the watchfiles loop (driven for real, with a bounded wait)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from workbench.watch import ProjectWatcher, format_issue, is_relevant

BROKEN_FLOWS = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
      - action: utter_no_such_response
"""


@pytest.mark.parametrize(
    ("path", "relevant"),
    [
        ("data/flows.yml", True),
        ("domain/responses/orders.yaml", True),
        ("config.yml", True),
        ("actions/actions.py", True),
        ("data/notes.txt", False),
        (".calm/sessions.db", False),
        (".calm/store.yml", False),
        ("actions/__pycache__/actions.cpython-311.pyc", False),
        ("actions/__pycache__/x.py", False),
        ("e2e_tests/happy_paths.yml", False),
        ("data/.flows.yml.swp", False),
        ("data/flows.yml~", False),
        ("data/.#flows.yml", False),
        ("data/#flows.yml#", False),
        ("data/4913", False),
        (".git/config.yml", False),
    ],
)
def test_which_changes_reload(tmp_path: Path, path: str, relevant: bool):
    assert is_relevant(tmp_path, tmp_path / path) is relevant


def test_a_path_outside_the_project_is_ignored(tmp_path: Path):
    assert not is_relevant(tmp_path / "project", tmp_path / "other" / "flows.yml")


def test_load_keeps_the_last_good_project(make_project):
    root = make_project()
    watcher = ProjectWatcher(root)
    first = watcher.load()
    assert first.ok and watcher.last_good is first.project
    assert first.what == "the project"

    (root / "data" / "flows.yml").write_text(BROKEN_FLOWS)
    broken = watcher.load(["data/flows.yml"])
    assert not broken.ok
    assert watcher.last_good is first.project
    assert broken.what == "data/flows.yml"
    lines = [format_issue(issue) for issue in broken.errors]
    assert any(line.startswith("data/flows.yml:6") for line in lines), lines
    assert any("utter_no_such_response" in line for line in lines)

    (root / "data" / "flows.yml").write_text("flows:\n  greet: [unclosed\n")
    syntax = watcher.load(["data/flows.yml"])
    assert [e.code for e in syntax.errors] == ["yaml-syntax"]
    assert syntax.errors[0].location.startswith("data/flows.yml:2")
    assert watcher.last_good is first.project

    (root / "data" / "flows.yml").write_text(
        "flows:\n  greet:\n    description: Say hi.\n    steps:\n      - action: utter_greet\n"
    )
    fixed = watcher.load(["data/flows.yml"])
    assert fixed.ok and watcher.last_good is fixed.project
    assert fixed.project.flow("greet").description == "Say hi."


def test_one_cache_serves_every_reload(make_project):
    root = make_project()
    watcher = ProjectWatcher(root)
    watcher.load()
    domain = root / "domain.yml"
    parsed = watcher.cache.load(domain, "domain.yml")
    watcher.load(["data/flows.yml"])
    assert watcher.cache.load(domain, "domain.yml") is parsed  # not parsed again


def test_e2e_tests_are_not_part_of_the_chat_project(make_project):
    root = make_project({"e2e_tests/broken.yml": "test_cases: [unclosed\n"})
    result = ProjectWatcher(root).load()
    assert result.ok, result.errors


async def test_watch_reloads_after_a_save_and_ignores_noise(make_project):
    root = make_project()
    watcher = ProjectWatcher(root)
    watcher.load()
    stop = asyncio.Event()
    results = watcher.watch(stop)
    first = asyncio.ensure_future(results.__anext__())
    await asyncio.wait_for(watcher.ready.wait(), timeout=10)  # files saved now are seen
    (root / ".calm").mkdir()
    (root / ".calm" / "sessions.db").write_bytes(b"noise")
    (root / "data" / "flows.yml~").write_text("backup")
    (root / "data" / "flows.yml").write_text(
        "flows:\n  greet:\n    description: Changed.\n    steps:\n      - action: utter_greet\n"
    )
    try:
        result = await asyncio.wait_for(first, timeout=10)
    finally:
        stop.set()
    assert result.changed == ("data/flows.yml",)
    assert result.ok
    assert result.project.flow("greet").description == "Changed."
    assert watcher.last_good is result.project
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(results.__anext__(), timeout=10)
    assert not watcher.ready.is_set()


async def test_ready_is_set_only_while_watching(make_project):
    root = make_project()
    watcher = ProjectWatcher(root)
    assert not watcher.ready.is_set()
    stop = asyncio.Event()
    changes = watcher.changes(stop)
    batch = asyncio.ensure_future(changes.__anext__())
    await asyncio.wait_for(watcher.ready.wait(), timeout=10)
    # a save right after `ready` is never missed
    (root / "domain.yml").write_text((root / "domain.yml").read_text() + "\n")
    try:
        assert await asyncio.wait_for(batch, timeout=10) == ("domain.yml",)
    finally:
        stop.set()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(changes.__anext__(), timeout=10)
    assert not watcher.ready.is_set()


async def test_ready_is_cleared_when_the_watch_is_cancelled(make_project):
    watcher = ProjectWatcher(make_project())
    task = asyncio.ensure_future(watcher.watch().__anext__())
    await asyncio.wait_for(watcher.ready.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)
    assert not watcher.ready.is_set()


async def test_a_saved_document_goes_to_the_knowledge_base_without_a_reload(make_project):
    root = make_project({"docs/fees.txt": "Q: Fees?\nA: Low.\n"})
    watcher = ProjectWatcher(root)
    watcher.load()
    told: list[list[Path]] = []
    watcher.on_documents = told.append
    assert watcher.relevant(None, str(root / "docs" / "fees.txt"))
    stop = asyncio.Event()
    results = watcher.watch(stop)
    first = asyncio.ensure_future(results.__anext__())
    await asyncio.wait_for(watcher.ready.wait(), timeout=10)
    (root / "docs" / "fees.txt").write_text("Q: Fees?\nA: None.\n")
    for _ in range(500):  # the document alone reloads nothing: wait for the hook
        if told:
            break
        await asyncio.sleep(0.01)
    (root / "data" / "flows.yml").write_text(
        "flows:\n  greet:\n    description: Changed.\n    steps:\n      - action: utter_greet\n"
    )
    try:
        result = await asyncio.wait_for(first, timeout=10)
    finally:
        stop.set()
    assert told == [[root.resolve() / "docs" / "fees.txt"]]
    assert result.changed == ("data/flows.yml",)


def test_documents_are_watched_only_for_a_knowledge_base(tmp_path: Path):
    watcher = ProjectWatcher(tmp_path)
    assert not watcher.relevant(None, str(tmp_path / "docs" / "a.txt"))
    watcher.on_documents = lambda paths: None
    assert watcher.relevant(None, str(tmp_path / "docs" / "a.txt"))
    assert not watcher.relevant(None, str(tmp_path / ".calm" / "a.txt"))
