"""Getting a model ready in the background, while the user reads the first screen.

Importing litellm costs seconds and its first calls pay more (the tokenizer, the flow
vectors of local embeddings); done on the first message, that is a first turn of several
seconds. A front end calls `start` once its first frame is drawn (the shell once it has
started), and the first turn finds everything loaded.

An import holds the GIL for most of its time, so the thread that imports competes with
the event loop that echoes keystrokes. While it runs, the interpreter switches threads
every `FAST_SWITCH_S` instead of every 5 ms (the loop gets the GIL back sooner when a key
arrives), and the garbage collector is paused: an import allocates hundreds of thousands
of objects, and each full collection over them would freeze the screen for tens of
milliseconds. Afterwards the objects the import made are moved out of the collector's
view (`gc.freeze`), so later collections, the first turn's among them, never scan them.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FAST_SWITCH_S = 0.0005
# how long the preparation stands aside after a key: the screen's echo of it needs ~10-20 ms
# of the interpreter, which it then has to itself
KEY_HOLD_S = 0.04
HOLD_NAP_S = 0.004


@dataclass
class WarmUp:
    """One background preparation: `done` is set when it has finished (or failed)."""

    done: threading.Event = field(default_factory=threading.Event)
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str | None = None  # the first turn reports the real failure, if it recurs

    @property
    def seconds(self) -> float:
        return self.finished_at - self.started_at if self.done.is_set() else 0.0

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


_lock = threading.Lock()
_running = 0  # preparations under way; the interpreter settings are restored by the last
_idle = threading.Condition(_lock)  # notified when the last preparation ends


def start(prepare: Callable[[], object], name: str = "model warm-up") -> WarmUp:
    """Run `prepare` in a daemon thread, with fast thread switches and the collector
    paused while it runs. Never raises: a failure is kept in `WarmUp.error`."""
    state = WarmUp(started_at=time.perf_counter())
    thread = threading.Thread(target=_run, args=(prepare, state), name=name, daemon=True)
    thread.start()
    return state


def _run(prepare: Callable[[], object], state: WarmUp) -> None:
    global _running
    with _lock:
        _running += 1
        if _running == 1:
            _quiet_interpreter()
        _stand_aside.threads.add(threading.get_ident())
    try:
        prepare()
    except Exception as error:  # reported again, in context, by the turn that needs it
        state.error = f"{type(error).__name__}: {error}"
    finally:
        with _lock:
            _stand_aside.threads.discard(threading.get_ident())
            _running -= 1
            if _running == 0:
                _restore_interpreter()
                _idle.notify_all()
        state.finished_at = time.perf_counter()
        state.done.set()


def wait_idle(timeout: float) -> bool:
    """Wait until no preparation runs (False: one still ran after `timeout` s). Work
    that can come later waits here rather than compete with the model's preparation for
    the interpreter."""
    with _idle:
        return _idle.wait_for(lambda: _running == 0, timeout)


_saved: dict[str, float | bool] = {}
_frozen = False


def hold(seconds: float = KEY_HOLD_S) -> None:
    """The user is typing: a running preparation pauses at its next module import for
    up to `seconds`, or until `release`, so the event loop echoes the key without sharing
    the interpreter."""
    global _hold_until
    _hold_until = max(_hold_until, time.perf_counter() + seconds)


def release() -> None:
    """The key's echo is on the screen: the preparation goes on at once instead of
    sitting out the rest of its hold (the echo takes ~10 ms of the 40 held for it)."""
    global _hold_until
    _hold_until = 0.0


_hold_until = 0.0


class _StandAside:
    """Sits first in `sys.meta_path` while a preparation runs: asked for every module the
    preparation's thread imports (an import takes thousands), it sleeps, releasing the
    GIL, while `hold` asks it to (in short naps, so that `release` ends it soon), then
    lets the real finders find the module."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() in self.threads:
            started = time.perf_counter()
            while True:
                now = time.perf_counter()
                wait = min(_hold_until - now, started + KEY_HOLD_S - now)
                if wait <= 0:
                    break
                time.sleep(min(wait, HOLD_NAP_S))


_stand_aside = _StandAside()


def _quiet_interpreter() -> None:
    _saved["switch"] = sys.getswitchinterval()
    _saved["gc"] = gc.isenabled()
    sys.setswitchinterval(FAST_SWITCH_S)
    gc.disable()
    sys.meta_path.insert(0, _stand_aside)


def _restore_interpreter() -> None:
    global _frozen
    if _stand_aside in sys.meta_path:
        sys.meta_path.remove(_stand_aside)
    sys.setswitchinterval(float(_saved.get("switch", 0.005)))
    if not _frozen:
        # what the first import made lives as long as the process: keep collections off
        # it (once: a later freeze would also keep the garbage made since from the
        # collector)
        gc.freeze()
        _frozen = True
    if _saved.get("gc", True):
        gc.enable()


def start_for(generator: object) -> WarmUp | None:
    """Start the preparation of a generator that calls a model (one wrapped to record
    included); None for the others, which have nothing to prepare."""
    seen = 0
    while generator is not None and seen < 4:
        start_warm_up = getattr(generator, "start_warm_up", None)
        if callable(start_warm_up):
            state = start_warm_up()
            return state if isinstance(state, WarmUp) else None
        generator = getattr(generator, "inner", None)
        seen += 1
    return None
