"""`calm-tui test -n N` and `--shard K/N`: worker processes give the serial run's report
(statuses, failure texts, sender ids, order), shards partition a suite, a cassette with
per-test-case entries replays in workers, and the progress bar stays off CI logs."""

from __future__ import annotations

import json
import pickle
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from types import MappingProxyType

import pytest

from workbench.cli import run_progress
from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.testing import parallel as parallel_module
from workbench.testing.cassette_order import order_dependence
from workbench.testing.parallel import ParallelRun, chunked
from workbench.testing.parallel_worker import Chunks
from workbench.testing.report import failure_text
from workbench.testing.runner import PASSED, E2ERunner, options_runner, select_cases
from workbench.testing.shards import shard_cases
from workbench.testing.worker_setup import WorkerSetup
from workbench.understanding.cassette import CassetteEntry, CassetteGenerator, save_cassette
from workbench.wiring import Options, make_generator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"

# two ways to fail: a bot text and a slot value the sample does not produce
FAILING = """
test_cases:
  - test_case: wrong_greeting
    steps:
      - user: "/start flow check_order_status"
      - bot: "Hello there, this is not what Penny says"
  - test_case: wrong_slot
    steps:
      - user: "/SetSlots(order_id=A1001)"
      - slot_was_set:
          - order_id: A9999
"""


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of sample_project with a test file that fails on purpose."""
    root = tmp_path / "sample_project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    (root / "e2e_tests" / "zz_failing.yml").write_text(FAILING, encoding="utf-8")
    return root


def junit_cases(path: Path) -> list[tuple[str | None, ...]]:
    """(suite, case, outcome, message, text) per test case, in the file's order."""
    rows = []
    for suite in ET.parse(path).getroot().findall("testsuite"):
        for case in suite.findall("testcase"):
            outcome = next((child for child in case if child.tag in ("failure", "skipped")), None)
            rows.append(
                (
                    suite.get("name"),
                    case.get("name"),
                    outcome.tag if outcome is not None else "passed",
                    outcome.get("message") if outcome is not None else None,
                    outcome.text if outcome is not None else None,
                )
            )
    return rows


@pytest.mark.parametrize("forks", [True, False], ids=["forked", "spawned"])
def test_two_processes_report_what_the_serial_run_reports(
    forks, sample, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(parallel_module, "_forks", lambda: forks)
    serial, parallel = tmp_path / "serial.xml", tmp_path / "parallel.xml"
    assert cmd_test([str(sample), "--offline", "-q", "--junit", str(serial)]) == 1
    assert cmd_test([str(sample), "--offline", "-q", "-n", "2", "--junit", str(parallel)]) == 1
    out = capsys.readouterr().out
    assert "ran the cases one after another" not in out
    expected = junit_cases(serial)
    assert junit_cases(parallel) == expected
    failed = {row[1]: row for row in expected if row[2] == "failure"}
    assert set(failed) == {"wrong_greeting", "wrong_slot"}
    assert "Hello there, this is not what Penny says" in str(failed["wrong_greeting"][4])
    assert "A9999" in str(failed["wrong_slot"][3])
    assert sum(row[2] == "passed" for row in expected) == 29


def test_coverage_of_two_processes_is_the_serial_run_s(sample, tmp_path):
    # coverage reads every case's turn traces: they come back from the workers whole
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    args = [str(sample), "--offline", "-q", "--coverage-json"]
    assert cmd_test([*args, str(serial)]) == 1
    assert cmd_test([*args, str(parallel), "-n", "2"]) == 1
    assert json.loads(parallel.read_text()) == json.loads(serial.read_text())


def test_results_reach_the_parent_as_the_worker_made_them(sample):
    # what a worker's results go through on their way back (records are sent as their
    # fields, read-only mappings as dicts)
    import asyncio

    options = Options(offline=True)
    project = load_project(sample).project
    generator, _label = make_generator(project, options, [])
    runner = options_runner(project, generator, options, seed=0, run_id="sent")
    results = asyncio.run(runner.run(select_cases(project, []))).results
    sent = pickle.loads(ForkingPickler.dumps(results))
    assert sent == results
    assert [r.to_dict() for r in sent] == [r.to_dict() for r in results]
    # an event's `resolved` frames take no part in its equality
    events = [(e, e.resolved) for r in results for t in r.traces for e in t.events]
    sent_events = [(e, e.resolved) for r in sent for t in r.traces for e in t.events]
    assert sent_events == events
    assert any(resolved for _event, resolved in events)
    assert all(isinstance(e.data, MappingProxyType) for e, _resolved in sent_events)


def _sample_runs(root: Path, paths: list[str], options: Options):
    """(serial results, results of this process and one worker) of the same selection.
    The runs have their own run ids, `serial` and `parallel`: in-process actions keep
    state per sender (the sample's orders), which one run must not leave to the other."""
    project = load_project(root).project
    selected = select_cases(project, paths)

    def runner(run_id: str) -> E2ERunner:
        generator, _label = make_generator(project, options, [])
        return options_runner(project, generator, options, seed=0, run_id=run_id)

    import asyncio

    serial = asyncio.run(runner("serial").run(selected)).results
    pool = ParallelRun(WorkerSetup(root.resolve(), options, 0, "parallel"), 2)
    local = Chunks(runner("parallel"))
    try:
        parallel, _notes = pool.run(selected, local)
    finally:
        local.close()
        pool.close()
    return serial, parallel


def test_each_case_has_its_serial_sender_id_whichever_process_runs_it(sample):
    serial, parallel = _sample_runs(sample, [], Options(offline=True))

    def seen(results, run_id):
        return [
            (r.id, r.status, r.sender_id.replace(f"_{run_id}_", "_"), failure_text(r))
            for r in results
        ]

    assert seen(parallel, "parallel") == seen(serial, "serial")
    assert [r.status for r in serial].count("failed") == 2
    assert serial[0].sender_id.endswith("_serial_1")
    assert parallel[-1].sender_id.endswith(f"_parallel_{len(serial)}")


FORKED_RUN = """
import asyncio, os, sys
from pathlib import Path
from workbench.project.loader import load_project
from workbench.testing.parallel import ParallelRun
from workbench.testing.parallel_worker import Chunks
from workbench.testing.runner import options_runner, select_cases
from workbench.testing.worker_setup import WorkerSetup
from workbench.wiring import Options, make_generator

root, paths, worker_root, slow = Path(sys.argv[1]), sys.argv[2:3], sys.argv[3], float(sys.argv[4])
options = Options(offline=True)
project = load_project(root).project
selected = select_cases(project, [path for path in paths if path])
generator, _label = make_generator(project, options, [])
runner = options_runner(project, generator, options, seed=0, run_id="forked")
parent, ran_here = os.getpid(), []
run_case = runner.run_case

async def slowed(test_file, case):
    if os.getpid() == parent:  # the forked worker has a copy of this runner
        ran_here.append(case.name)
        await asyncio.sleep(slow)
    return await run_case(test_file, case)

runner.run_case = slowed
pool = ParallelRun(WorkerSetup(root / worker_root, options, 0, "forked"), 2)
local = Chunks(runner)
try:
    results, _notes = pool.run(selected, local)
finally:
    local.close()
    pool.close()
print(",".join(sorted({r.status for r in results})), len(results), len(ran_here))
"""


def forked_run(root: Path, path: str = "", worker_root: str = ".", slow: float = 0.0):
    """(statuses, cases run, cases this process ran) of a run with one forked worker, in
    a process of its own: this one may have threads running, and then no fork; `slow`
    seconds are added to each case this process runs."""
    done = subprocess.run(
        [sys.executable, "-c", FORKED_RUN, str(root), path, worker_root, str(slow)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    statuses, results, ran_here = done.stdout.split()
    return statuses, int(results), int(ran_here)


def test_forked_workers_run_a_copy_of_the_parent_s_runner(sample):
    # a folder no worker could load the project from: a forked worker loads nothing
    statuses, results, _ran_here = forked_run(sample, "e2e_tests/happy_paths.yml", "gone")
    assert (statuses, results) == ("passed", 6)


def test_with_a_thread_running_the_workers_are_spawned_and_load_the_project(sample, monkeypatch):
    # a fork would copy the thread's locks half-held: the workers start fresh instead
    monkeypatch.setattr(parallel_module.threading, "active_count", lambda: 2)
    serial, parallel = _sample_runs(sample, ["e2e_tests/happy_paths.yml"], Options(offline=True))
    assert [r.status for r in parallel] == [r.status for r in serial] == [PASSED] * 6


def test_a_worker_gets_its_next_chunk_while_this_process_runs_one(sample):
    # this process is slow (0.5 s a case): between two of its cases it sends the forked
    # worker more, so the worker runs nearly the whole suite while this one runs its
    # first chunk (4 cases); a spawned worker would first load the project
    _statuses, results, ran_here = forked_run(sample, slow=0.5)
    assert results == 31
    # fed only between its chunks, the worker would wait for this process at each one
    # and leave it about a third of the suite (12 cases)
    assert ran_here <= 6


def test_the_pipe_from_the_workers_holds_many_chunks_results(sample, monkeypatch):
    # a chunk's results (~70 KB) do not fit the default 64 KB: the worker would wait
    import fcntl

    monkeypatch.setattr(parallel_module, "_forks", lambda: False)  # the pool exists at once
    run = ParallelRun(WorkerSetup(sample.resolve(), Options(offline=True), 0, "pipe"), 2)
    try:
        reader = run.pool._result_queue._reader  # type: ignore[union-attr]
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) >= 1 << 20
    finally:
        run.close()


def test_fail_fast_schedules_nothing_after_the_first_failure(sample, capsys):
    junit = sample / "out.xml"
    # the failing file first: this process runs the first chunk before any worker
    code = cmd_test(
        [
            str(sample),
            "e2e_tests/zz_failing.yml",
            "e2e_tests",
            "--offline",
            "-q",
            "-n",
            "2",
            "--fail-fast",
            "--junit",
            str(junit),
        ]
    )
    assert code == 1
    outcomes = {row[1]: row[2] for row in junit_cases(junit)}
    assert len(outcomes) == 31
    assert outcomes.pop("wrong_greeting") == "failure"
    assert set(outcomes.values()) == {"skipped"}
    out = capsys.readouterr().out
    assert "0 passed, 1 failed, 30 not run" in " ".join(out.split())


# --- cassettes ----------------------------------------------------------------------------------


GREETINGS = """
test_cases:
  - test_case: first
    steps:
      - user: "go"
      - utter: utter_ask_name
  - test_case: second
    steps:
      - user: "go"
      - utter: utter_ask_color
  - test_case: third
    steps:
      - user: "hello"
      - utter: utter_ask_name
"""

DOMAIN = """\
version: "3.1"
slots:
  name:
    type: text
  color:
    type: categorical
    values: [red, blue]
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_ask_color:
    - text: "Which color?"
"""

FLOWS = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
  pick_color:
    description: Pick a color.
    steps:
      - collect: color
"""


@pytest.fixture
def greetings(make_project) -> Path:
    return make_project(
        {"domain.yml": DOMAIN, "data/flows.yml": FLOWS, "e2e_tests/t.yml": GREETINGS}
    )


def test_a_cassette_with_per_test_case_entries_replays_in_workers(greetings, tmp_path, capsys):
    cassette = tmp_path / "keyed.yml"
    save_cassette(
        cassette,
        [
            CassetteEntry("go", "start flow greet", "first"),
            CassetteEntry("go", "start flow pick_color", "second"),
            CassetteEntry("hello", "start flow greet"),  # shared, one case sends it
        ],
    )
    options = Options(cassette=cassette)
    serial, parallel = _sample_runs(greetings, [], options)
    assert [r.status for r in serial] == [PASSED, PASSED, PASSED]
    assert [(r.id, r.status) for r in parallel] == [(r.id, r.status) for r in serial]
    assert cmd_test([str(greetings), "--cassette", str(cassette), "-n", "2", "-q"]) == 0
    assert "one after another" not in capsys.readouterr().out


def test_shared_entries_taken_in_run_order_make_the_run_serial(greetings, tmp_path, capsys):
    cassette = tmp_path / "shared.yml"
    save_cassette(
        cassette,
        [
            CassetteEntry("go", "start flow greet"),
            CassetteEntry("go", "start flow pick_color"),
            CassetteEntry("hello", "start flow greet"),
        ],
    )
    assert cmd_test([str(greetings), "--cassette", str(cassette), "-n", "2", "-q"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "-n 2 ran the cases one after another" in out
    assert "the cassette's entry for 'go' has no `test_case:` and 2 test cases" in out
    assert "3 passed" in out


def test_order_dependence_of_shared_entries(greetings, tmp_path):
    project = load_project(greetings).project
    selected = select_cases(project, [])

    def reason(*entries: CassetteEntry, cases=selected) -> str | None:
        path = tmp_path / "c.yml"
        save_cassette(path, list(entries))
        return order_dependence(CassetteGenerator(path), cases)

    same = CassetteEntry("go", "start flow greet")
    # the same reply, once for each time it is sent: any order replays the same
    assert reason(same, same) is None
    # one entry short: the case that runs later finds none left
    assert reason(same) is not None
    assert reason(same, CassetteEntry("go", "start flow pick_color")) is not None
    # only one selected case sends the message
    assert reason(same, CassetteEntry("go", "x"), cases=selected[:1]) is None
    # a case's own entries answer it before the shared ones
    keyed = CassetteEntry("go", "start flow pick_color", "second")
    assert reason(same, keyed) is None


# --- shards -------------------------------------------------------------------------------------


def test_shards_partition_the_cases_stably():
    project = load_project(SAMPLE).project
    selected = select_cases(project, [])
    ids = [f"{f.path}::{c.name}" for f, c in selected]
    shuffled = list(selected)
    random.Random(7).shuffle(shuffled)
    for count in (1, 2, 3, 5):
        shards = [
            [f"{f.path}::{c.name}" for f, c in shard_cases(selected, k, count)]
            for k in range(1, count + 1)
        ]
        assert sorted(i for shard in shards for i in shard) == sorted(ids)  # every case, each once
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
        for k, shard in enumerate(shards, 1):
            assert shard == [i for i in ids if i in shard]  # in the selection's order
            again = {f"{f.path}::{c.name}" for f, c in shard_cases(shuffled, k, count)}
            assert again == set(shard)  # another order of files: the same split


def test_cli_shards_together_run_the_whole_suite(tmp_path):
    rows = []
    for k in (1, 2):
        junit = tmp_path / f"shard{k}.xml"
        assert (
            cmd_test([str(SAMPLE), "--offline", "-q", "--shard", f"{k}/2", "--junit", str(junit)])
            == 0
        )
        rows.append({(r[0], r[1]) for r in junit_cases(junit)})
    assert not rows[0] & rows[1]
    assert len(rows[0] | rows[1]) == 29


# --- progress and usage -------------------------------------------------------------------------

HIDE_CURSOR = "\x1b[?25l"  # what a live progress display writes first


def test_progress_shows_on_a_terminal_only_and_never_with_quiet(monkeypatch, capsys):
    monkeypatch.setattr(run_progress, "SHOW_AFTER_S", 0.0)
    target = [str(SAMPLE), "e2e_tests/happy_paths.yml", "--offline"]
    assert cmd_test(target) == 0
    assert HIDE_CURSOR not in capsys.readouterr().out  # not a terminal: a CI log
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert cmd_test(target) == 0
    shown = capsys.readouterr().out
    assert HIDE_CURSOR in shown and "6/6" in shown
    assert "ask_for_a_human" in shown  # the table of every case
    assert cmd_test([*target, "--quiet"]) == 0
    quiet = capsys.readouterr().out
    assert HIDE_CURSOR not in quiet and "running 6 test case(s)" not in quiet
    assert "ask_for_a_human" not in quiet  # no table: the failures and the totals
    assert "6 passed" in quiet


def test_a_short_run_shows_no_progress_bar(monkeypatch, capsys):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert cmd_test([str(SAMPLE), "e2e_tests/happy_paths.yml::ask_for_a_human", "--offline"]) == 0
    assert HIDE_CURSOR not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["-n", "0"], "give a number of workers"),
        (["-n", "two"], "give a number of workers"),
        (["--shard", "3/2"], "K must be between 1 and 2"),
        (["--shard", "0/2"], "K must be between 1 and 2"),
        (["--shard", "x"], "write K/N"),
        (["--shard", "1/0"], "write K/N"),
        (["-n", "2", "--record", "out.yml"], "record without -n"),
        (["-n", "2", "--compare", "offline", "offline"], "leave out -n and --shard"),
        (["--shard", "1/2", "--du"], "leave out -n and --shard"),
    ],
)
def test_usage_errors(option, message, capsys):
    with pytest.raises(SystemExit) as exited:
        code = cmd_test([str(SAMPLE), "--offline", *option])
        raise SystemExit(code)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_chunks_cover_every_place_once():
    for count in (1, 7, 29, 500):
        chunks = chunked(count, 2)
        assert [p for chunk in chunks for p in chunk] == list(range(1, count + 1))
        assert max(map(len, chunks)) <= 10


def test_a_spawned_worker_runs_the_project_the_parent_runs(sample):
    """A worker that loads the project itself (no fork) has its test files too: the same
    project, so every turn it runs carries the serial run's project fingerprint."""
    from workbench.testing.parallel_worker import _made
    from workbench.testing.worker_setup import WorkerSetup
    from workbench.wiring import Options

    parent = load_project(sample).project
    chunks = _made(WorkerSetup(sample.resolve(), Options(offline=True), 0, "spawned"))
    try:
        assert chunks.runner.project.fingerprint == parent.fingerprint
        assert len(chunks.runner.project.test_files) == len(parent.test_files)
    finally:
        chunks.close()
