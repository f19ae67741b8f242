"""`calm-tui test -n N`: the selected test cases run in N processes, this one and N-1
workers.

Where the platform forks (Linux) the workers are forked once this process has loaded
the project and made its runner, before any case runs or any thread starts: they
begin with everything loaded and imported, and a copy of a runner that has run
nothing, so a case runs in them as it would here. Elsewhere, or when a thread is
already running (a fork would copy its locks half-held), the workers are spawned as
soon as the run's options are known and load the project while this process loads it
too (`parallel_worker.py`). The selection is cut into chunks of consecutive cases; each
worker has one running and one waiting, and the parent runs the next chunk itself (the
first one too: the workers are still starting); between two of its cases it takes the
workers' finished chunks and sends them the next.
Results come back in any order and are reported at their place in the selection, so
the report, the JUnit file and the exit code are those of a serial run; each case gets
the sender id the serial run gives it (`E2ERunner.sender_id`).

With `fail_fast`, a chunk stops at a failure and no chunk is started after it; chunks
already running elsewhere finish and are reported, the cases never started as not run.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.testing.worker_setup import WorkerSetup

if TYPE_CHECKING:
    from workbench.project.model import TestCase, TestFile
    from workbench.testing.parallel_worker import Chunk, ChunkResult, Chunks
    from workbench.testing.results import CaseResult
    from workbench.testing.runner import E2ERunner

# cases per chunk at most: small enough for a moving progress bar, large enough that
# sending them costs nothing next to running them
MAX_CHUNK = 10
CHUNKS_PER_WORKER = 4


# The pool is made before the parent imports the runner (~0.4 s it need not wait for):
# these name the worker's functions without importing its module here.


def _start(setup: WorkerSetup) -> None:
    from workbench.testing.parallel_worker import start

    start(setup)


def _ready() -> bool:
    from workbench.testing.parallel_worker import ready

    return ready()


def _adopt() -> None:
    from workbench.testing.parallel_worker import adopt

    adopt()


def _run_chunk(chunk: Chunk, fail_fast: bool) -> ChunkResult:
    from workbench.testing.parallel_worker import run_chunk

    return run_chunk(chunk, fail_fast)


def auto_workers() -> int:
    """`-n auto`: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def chunked(count: int, processes: int) -> list[range]:
    """Places 1..count cut into consecutive chunks that get smaller towards the end, so
    that the processes run out of work at about the same time."""
    chunks = []
    first = 1
    while first <= count:
        left = count - first + 1
        size = max(1, min(MAX_CHUNK, math.ceil(left / (processes * CHUNKS_PER_WORKER))))
        chunks.append(range(first, first + size))
        first += size
    return chunks


# what the pipe from the workers holds: ~15 chunks' results (a chunk of 10 cases is ~70 KB)
RESULT_PIPE_BYTES = 1 << 20


def _roomy_result_pipe(pool: ProcessPoolExecutor) -> None:
    """A chunk's results are more than a pipe holds by default (64 KB on Linux), so a
    worker's write waited for this process's result thread to read the first part, and
    that thread waits for the interpreter lock this process's own cases hold (up to
    5 ms at a time). With room for them the worker writes and runs its next chunk.
    Where pipes cannot grow (not Linux, a lower system limit) they stay as they are."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    if set_size is None or reader is None:
        return
    try:
        fcntl.fcntl(reader.fileno(), set_size, RESULT_PIPE_BYTES)
    except OSError:
        pass


def _forks() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


class ParallelRun:
    """`processes` processes run one run's cases: this one and `processes - 1` workers,
    forked by `start` or spawned at once; `close` ends the workers."""

    def __init__(self, setup: WorkerSetup, processes: int) -> None:
        self.processes = processes
        self.setup = setup
        self.pool: ProcessPoolExecutor | None = None
        if not _forks():
            self._spawn()

    def _spawn(self) -> None:
        self.pool = ProcessPoolExecutor(
            self.processes - 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.setup,),
        )
        _roomy_result_pipe(self.pool)
        # the pool starts a process per task it cannot give to an idle one: start them all
        for _ in range(self.processes - 1):
            self.pool.submit(_ready)

    def start(self, runner: E2ERunner) -> None:
        """Fork the workers from this process, each with a copy of `runner` (which must
        not have run a case yet), unless they were spawned already."""
        from workbench.project.collector import start_up_done

        if self.pool is not None:
            start_up_done()
            return
        runner.prepare_actions()  # loaded once here, not once per worker
        start_up_done()
        if threading.active_count() > 1:
            self._spawn()
            return
        from workbench.testing import parallel_worker

        parallel_worker.inherited = runner
        # a fork copies unwritten output, which the workers would write again at exit
        sys.stdout.flush()
        sys.stderr.flush()
        self.pool = ProcessPoolExecutor(
            self.processes - 1, mp_context=multiprocessing.get_context("fork"), initializer=_adopt
        )
        _roomy_result_pipe(self.pool)
        # with fork the pool starts every worker at its first task, before its threads
        self.pool.submit(_ready)
        parallel_worker.inherited = None

    def run(
        self,
        selected: Sequence[tuple[TestFile, TestCase]],
        local: Chunks,
        *,
        fail_fast: bool = False,
        on_result: Callable[[CaseResult], None] | None = None,
    ) -> tuple[list[CaseResult], list[str]]:
        """Run `selected`, chunks at a time, in the workers and on `local` (this
        process's runner) in turns. Returns (the results in the selection's order, the
        runners' notes in the order of the chunks that first wrote them)."""
        from workbench.testing.results import FAILED
        from workbench.testing.runner import not_run

        self.start(local.runner)

        waiting = deque(
            (index, [(place, *selected[place - 1]) for place in places])
            for index, places in enumerate(chunked(len(selected), self.processes))
        )
        running: dict[Future[ChunkResult], int] = {}
        by_place: dict[int, CaseResult] = {}
        notes_by_chunk: dict[int, list[str]] = {}
        stop = False

        def take(index: int, chunk_result: ChunkResult) -> None:
            nonlocal stop
            notes_by_chunk[index] = chunk_result.notes
            for place, result in chunk_result.results:
                by_place[place] = result
                if on_result is not None:
                    on_result(result)
                stop = stop or (fail_fast and result.status == FAILED)

        def collect(done: Iterable[Future[ChunkResult]]) -> None:
            for future in done:
                index = running.pop(future)
                if not future.cancelled():
                    take(index, future.result())
            if stop:
                for future in running:
                    future.cancel()  # the queued ones; the running ones finish

        def tend() -> None:
            # between two cases of this process: a worker's finished chunk is taken and
            # the next one sent now, not once this process's chunk is done (a worker
            # that ran ahead would wait for it)
            collect([future for future in running if future.done()])
            if not stop:
                self._feed(waiting, running, fail_fast)

        try:
            while (waiting and not stop) or running:
                mine = waiting.popleft() if waiting and not stop else None
                # each worker has one chunk running and one queued, so it never waits;
                # with fail_fast only once this process has run the first chunk, since
                # a chunk a worker has taken cannot be called back
                first_of_fail_fast = fail_fast and mine is not None and mine[0] == 0
                if not first_of_fail_fast:
                    self._feed(waiting, running, fail_fast)
                if mine is not None:
                    between = None if first_of_fail_fast else tend
                    take(mine[0], local.run(mine[1], fail_fast, between))
                    collect([future for future in running if future.done()])
                else:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    collect(done)
        except BrokenProcessPool as exc:
            raise WorkbenchError(
                "a test worker stopped (its error is printed above); run without -n to "
                "see the problem in the report"
            ) from exc
        results = []
        for place, (test_file, case) in enumerate(selected, 1):
            result = by_place.get(place)
            if result is None:
                result = not_run(test_file, case)
                if on_result is not None:
                    on_result(result)
            results.append(result)
        notes: list[str] = []
        for index in sorted(notes_by_chunk):
            notes.extend(note for note in notes_by_chunk[index] if note not in notes)
        return results, notes

    def _feed(
        self,
        waiting: deque[tuple[int, Chunk]],
        running: dict[Future[ChunkResult], int],
        fail_fast: bool,
    ) -> None:
        while waiting and len(running) < 2 * (self.processes - 1):
            index, chunk = waiting.popleft()
            running[self._pool().submit(_run_chunk, chunk, fail_fast)] = index

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            raise RuntimeError("the workers have not started")
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
