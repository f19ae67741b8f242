"""Supervisor of a workbench-started action server; run as a script, never imported.

It runs on the *actions* Python, which may not have the workbench installed, so it
uses the standard library only.

Usage: ``python -I bootstrap.py WORKBENCH_PID -- python -m rasa_sdk --actions ... -p N``

Why a supervisor instead of exec'ing rasa_sdk directly: rasa_sdk serves with Sanic,
whose worker processes (spawned through multiprocessing) keep running when the Sanic
main process is killed. This process leads its own process group (the workbench
starts it with a new session); when the workbench goes away it kills the whole group,
workers included. It notices the workbench's death twice over:

- Linux ``PR_SET_PDEATHSIG``: the kernel sends SIGTERM when the workbench thread that
  started us ends (the workbench forks from a thread that lives as long as it does);
- end of file on stdin: the workbench holds the only write end of that pipe, and the
  kernel closes it however the workbench ends (kill -9 included, on any platform).
"""

import os
import signal
import subprocess
import sys
import threading
from typing import NoReturn

PR_SET_PDEATHSIG = 1


def _end_group(*_args: object) -> NoReturn:
    # we lead the group: 0 means our own group, the server and its workers
    try:
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(1)


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except Exception:  # no prctl here: the stdin watch still covers it
        pass


def _watch_stdin() -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    _end_group()


def main(argv: list[str]) -> NoReturn:
    workbench_pid = int(argv[0])
    command = argv[argv.index("--") + 1 :]
    signal.signal(signal.SIGTERM, _end_group)
    signal.signal(signal.SIGHUP, _end_group)
    _set_parent_death_signal()
    if os.getppid() != workbench_pid:  # it died before the death signal was armed
        _end_group()
    threading.Thread(target=_watch_stdin, daemon=True).start()
    try:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except OSError as exc:
        print(f"cannot start the action server: {exc}", file=sys.stderr, flush=True)
        sys.exit(127)
    code = server.wait()
    # the server ended by itself (e.g. its actions do not import): report how
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main(sys.argv[1:])
