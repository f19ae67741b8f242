"""Loading and validating a project allocate hundreds of thousands of objects; the
cyclic garbage collector then ran pass after pass during them, each walking every
object alive (the cached YAML of the whole project), which was half of a large
project's load. It is paused for their duration: what they leave behind is collected
by the next pass after."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()  # nested pauses leave it to the outermost
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# a batch command's start-up pause: whether the collector ran before it, while it lasts
_start_up: list[bool] = []


@contextmanager
def batch_command() -> Iterator[None]:
    """The life of a command that starts, runs a batch and ends (`calm-tui test`).

    Its start-up (imports, the project, the runner; ~0.4 s) makes objects that live as
    long as the process, and the collector's passes over them found nothing: it is
    paused until `start_up_done`. At the end nothing is collected either: the process
    frees its memory as it exits, and a last pass over every result cost ~0.08 s
    (`atexit`, which runs before the interpreter's final pass). Called in a process
    that goes on (a test), the collector is as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    _start_up.append(was_enabled)
    _freeze_at_exit()
    try:
        yield
    finally:
        if _start_up:  # the start-up never finished (the command failed first)
            _start_up.pop()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def start_up_done() -> None:
    """The batch begins: what the start-up made is moved out of the collector's view
    (`gc.freeze`), so the batch's passes never walk it and processes forked from here
    keep sharing its memory pages; then collection resumes. Outside `batch_command`,
    and after the first call, it does nothing."""
    if not _start_up:
        return
    was_enabled = _start_up.pop()
    gc.freeze()
    if was_enabled:
        gc.enable()


_exit_hook: list[bool] = []


def _freeze_at_exit() -> None:
    if not _exit_hook:
        _exit_hook.append(True)
        atexit.register(gc.freeze)
