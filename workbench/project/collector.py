"""Loading and validating a project allocate hundreds of thousands of objects; the
cyclic garbage collector then ran pass after pass during them, each walking every
object alive (the cached YAML of the whole project), which was half of a large
project's load. It is paused for their duration: what they leave behind is collected
by the next pass after."""

from __future__ import annotations

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
