"""The worker side of `calm-tui test -n N` (`parallel.py` is the side that schedules).

A worker process loads the project once (without its test files: the parent sends the
cases with each chunk) and makes its generator, custom action runner and cassette
exactly as a serial run makes them (`options_runner`); then it runs the chunks it is
sent, each case at its place in the selection, so its sender id is the one the serial
run gives it. Only this module and what the runner needs are imported here: no Rich,
no command line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing.reduction
import multiprocessing.util
import operator
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from workbench.calm.values import JSONValue
from workbench.errors import WorkbenchError
from workbench.project.model import TestCase, TestFile
from workbench.testing.results import FAILED, CaseResult
from workbench.testing.runner import E2ERunner, options_runner
from workbench.testing.worker_setup import WorkerSetup
from workbench.trace import records
from workbench.wiring import load, make_generator

# the cases of a chunk: (place in the selection, from 1; test file; test case)
Chunk = list[tuple[int, TestFile, TestCase]]


@dataclass
class ChunkResult:
    results: list[tuple[int, CaseResult]]  # (place, result) in the chunk's order
    notes: list[str] = field(default_factory=list)  # the runner's notes new in this chunk


class Chunks:
    """Runs chunks of the selection on one runner, in one event loop for all of them
    (as a serial run has one: an action server's client lives in it). The parent runs
    chunks too, on its own runner, while the workers run theirs. A result comes back
    whole, its turn traces too: the reports, coverage and budgets read them."""

    def __init__(self, runner: E2ERunner):
        self.runner = runner
        self.loop = asyncio.new_event_loop()
        self.notes_sent = 0

    def run(
        self, chunk: Chunk, fail_fast: bool, between: Callable[[], None] | None = None
    ) -> ChunkResult:
        """Run the chunk's cases; `between` is called after each one (the parent looks
        after its workers then)."""
        return self.loop.run_until_complete(self._run(chunk, fail_fast, between))

    async def _run(
        self, chunk: Chunk, fail_fast: bool, between: Callable[[], None] | None
    ) -> ChunkResult:
        results = []
        for place, test_file, case in chunk:
            self.runner.at_place(place)
            result = await self.runner.run_case(test_file, case)
            results.append((place, result))
            if fail_fast and result.status == FAILED:
                break  # the parent reports the rest as not run
            if between is not None:
                between()
        notes = self.runner.notes[self.notes_sent :]
        self.notes_sent = len(self.runner.notes)
        return ChunkResult(results, list(notes))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.runner.aclose())
        finally:
            self.loop.close()


def _made(setup: WorkerSetup) -> Chunks:
    """The runner of a serial run, made in a worker from the same options."""
    loaded = load(setup.root, setup.options)  # with its test files, as the serial run has it
    if not loaded.ok:
        raise WorkbenchError(f"the project {setup.root} does not load")
    project = loaded.project
    generator, _label = make_generator(project, setup.options, [])
    runner = options_runner(
        project,
        generator,
        setup.options,
        seed=setup.seed,
        run_id=setup.run_id,
        try_other_version=setup.try_other_version,
    )
    return Chunks(runner)


_worker: Chunks | None = None
_problem = "it did not start"
# the parent's runner, set while it forks the workers: each gets a copy
inherited: E2ERunner | None = None


def start(setup: WorkerSetup) -> None:
    """The initializer of a spawned pool: once per worker process."""
    global _problem
    _ignore_interrupts()
    try:
        _serve(_made(setup))
    except Exception as exc:  # said by the first chunk: a pool whose start fails is broken
        _problem = str(exc) or repr(exc)


def adopt() -> None:
    """The initializer of a forked pool: the parent's runner, copied, runs the chunks."""
    global _problem
    _ignore_interrupts()
    if inherited is None:
        _problem = "it was forked without the parent's runner"
        return
    _serve(Chunks(inherited))


def _ignore_interrupts() -> None:
    # Ctrl+C reaches the whole process group: the parent stops the run, the workers
    # finish their chunk instead of dying with a traceback each
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serve(chunks: Chunks) -> None:
    global _worker
    _worker = chunks
    # a pool's worker leaves through os._exit, past atexit: stop a started action server
    multiprocessing.util.Finalize(chunks, chunks.close, exitpriority=10)


def ready() -> bool:
    """Submitted once per worker as soon as the pool exists, so the workers start (and
    load the project) while the parent is still loading it."""
    return _worker is not None


def run_chunk(chunk: Chunk, fail_fast: bool) -> ChunkResult:
    if _worker is None:
        raise WorkbenchError(f"a test worker cannot run the cases: {_problem}")
    return _worker.run(chunk, fail_fast)


def _frozen_mapping(data: dict[str, JSONValue]) -> MappingProxyType[str, JSONValue]:
    return MappingProxyType(data)


def _reduce_mapping(
    mapping: MappingProxyType[str, JSONValue],
) -> tuple[Callable[..., object], tuple[dict[str, JSONValue]]]:
    return _frozen_mapping, (dict(mapping),)


def _record_reducer(cls: type) -> Callable[[object], tuple[type, tuple[object, ...]]]:
    names = [f.name for f in dataclasses.fields(cls)]
    values = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda record: (cls, (values(record),))
    return lambda record: (cls, values(record))


def _register_reducers() -> None:
    pickler = multiprocessing.reduction.ForkingPickler
    # the trace records keep their fields in read-only mappings, which pickle cannot send
    pickler.register(MappingProxyType, _reduce_mapping)
    # A chunk's results hold thousands of frozen records (events, stack frames, ...).
    # The state functions dataclasses give them look up the fields and set each one in
    # Python, record by record: half of what sending results cost. A record is sent as
    # its class and its field values, taken in one call, and made again by its class.
    for cls in vars(records).values():
        if (
            isinstance(cls, type)
            and dataclasses.is_dataclass(cls)
            and "__slots__" in vars(cls)
            and all(f.init for f in dataclasses.fields(cls))
        ):
            pickler.register(cls, _record_reducer(cls))


_register_reducers()
