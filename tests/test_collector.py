"""The garbage collector during a batch command (`calm-tui test`): paused while the
command starts, the start-up's objects out of its view once the batch begins, nothing
collected at exit, and in a process that goes on, as it was before."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from session_helpers import copy_sample
from test_du_tests import DU_TESTS

from workbench.cli.main import main
from workbench.project.collector import batch_command, start_up_done


def test_the_collector_is_paused_until_the_batch_begins():
    assert gc.isenabled()
    with batch_command():
        assert not gc.isenabled()
        start_up_done()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        start_up_done()  # --compare runs a second batch: nothing changes
        assert gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_command_that_fails_while_starting_leaves_the_collector_running():
    with pytest.raises(RuntimeError), batch_command():
        raise RuntimeError("the project does not load")
    assert gc.isenabled()
    start_up_done()  # what a later batch outside a command calls: nothing to resume
    assert gc.get_freeze_count() == 0


def test_a_paused_collector_stays_paused():
    gc.disable()
    try:
        with batch_command():
            start_up_done()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


EXIT = """
import atexit, gc
# registered first, so it runs last: after the command's own exit hook
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
from workbench.project.collector import batch_command
with batch_command():
    pass
print("frozen after the command:", gc.get_freeze_count() > 0)
"""


def test_the_process_of_a_batch_command_exits_without_collecting():
    done = subprocess.run([sys.executable, "-c", EXIT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "frozen after the command: False",
        "frozen at exit: True",
    ]


@pytest.mark.parametrize("kind", ["e2e", "du", "e2e with -n 2"])
def test_the_collector_runs_while_the_test_command_runs_its_cases(kind, tmp_path):
    sample_copy = copy_sample(tmp_path)
    (sample_copy / "dialogue_understanding_tests").mkdir()
    # the sample has no `greet` flow: the cases fail, which is no matter here
    (sample_copy / "dialogue_understanding_tests" / "greet.yml").write_text(DU_TESTS)
    argv = {
        "e2e": ["e2e_tests/happy_paths.yml"],
        "du": ["--du"],
        "e2e with -n 2": ["e2e_tests/happy_paths.yml", "-n", "2"],
    }[kind]
    passes: list[int] = []

    def counted(phase: str, info: dict[str, int]) -> None:
        # the batch's passes: what the start-up made is frozen until the command ends
        if phase == "stop" and gc.get_freeze_count() > 0:
            passes.append(info["generation"])

    gc.callbacks.append(counted)
    try:
        main(["test", str(sample_copy), *argv, "--offline", "-q"])
    finally:
        gc.callbacks.remove(counted)
    assert passes  # paused for the start-up, not for the cases
    assert gc.isenabled() and gc.get_freeze_count() == 0
