"""Action servers the workbench starts itself: real `python -m rasa_sdk` processes.

Started when nobody answers at the project's URL, restarted on a save, stopped on
close and when the workbench dies (kill -9 included); an answering server is used as
is; another Python (a project .venv, --actions-python) runs the actions on a server;
every bad input is one clear message and the conversation goes on."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from engine_helpers import events
from rich.console import Console

from workbench.actions.managed import ManagedServerActions
from workbench.actions.process import ActionServerProcess, free_port
from workbench.actions.python import PythonActions
from workbench.actions.runner import NoActions, make_action_runner
from workbench.actions.server import ActionServerClient
from workbench.actions.server_log import ServerLog
from workbench.cli.main import main
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.shell import print_trace
from workbench.understanding.base import ScriptedGenerator

pytest.importorskip("rasa_sdk", reason="rasa_sdk is not installed (pip install rasa-sdk)")

FIXTURES = Path(__file__).parent / "fixtures" / "actions"
HELLO = "actions/hello.py"
RASA_HINT = (
    "install rasa-pro in this environment, or pass --actions-python with a Python that has it"
)


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """A copy of the fixture whose endpoints.yml names a URL nobody listens on."""
    root = tmp_path / "served"
    shutil.copytree(FIXTURES / "served", root)
    endpoints = root / "endpoints.yml"
    endpoints.write_text(endpoints.read_text().replace(":5055/", f":{free_port()}/"))
    return root


def load(root: Path) -> Project:
    return load_project(root).project


async def greet(session: Session):
    trace = await session.handle("/start flow greet")
    (run,) = [a for a in trace.actions if a.name == "action_hello"]
    return trace, run


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def make_venv(where: Path, *paths: Path) -> Path:
    """A virtualenv in seconds (no pip); `paths` go on its sys.path through a .pth."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if paths:
        Path(site, "calm_test_paths.pth").write_text("".join(f"{p}\n" for p in paths))
    return python


def our_site_packages() -> Path:
    """Where rasa_sdk is installed for the tests' Python."""
    import rasa_sdk

    return Path(rasa_sdk.__file__).resolve().parent.parent


# --- the started server ----------------------------------------------------------------------


async def test_started_server_runs_restarts_on_save_and_stops(served):
    project = load(served)
    runner = make_action_runner(project)
    try:
        assert isinstance(runner, ManagedServerActions)
        port = runner.process.port
        assert runner.label == f"actions on server :{port} (started, python {sys.executable})"
        session = Session(project, ScriptedGenerator([]), actions=runner, sender_id="ada")
        trace, run = await greet(session)
        assert run.kind == "server" and run.error is None, run.error
        assert trace.bot_texts[0] == "hello from the action server"
        assert session.tracker.get_slot("greeted") is True
        # the server's output during the call is on the call's trace
        assert "action_hello runs for ada" in run.log_lines
        assert any("greeting with 'hello from the action server'" in x for x in run.log_lines)
        console = Console(file=io.StringIO(), width=200)
        print_trace(trace, console)  # `calm-tui shell --debug`
        assert "log action_hello  action_hello runs for ada" in console.file.getvalue()
        first = runner.process.pid
        assert servers_for(served)  # what the e2e test below relies on

        hello = served / HELLO
        hello.write_text(hello.read_text().replace("from the action server", "again, edited"))
        # the watcher restarts it on the save, before any call asks
        assert wait_until(lambda: runner.restarts == 1, 5.0)
        trace, run = await greet(session)
        assert trace.bot_texts[0] == "hello again, edited", run.error
        assert runner.restarts == 1 and runner.process.pid != first
        assert "[workbench] the actions changed: restarted the action server" in run.log_lines
        assert not group_alive(first)  # the old server and its workers are gone
        second = runner.process.pid
    finally:
        await runner.aclose()
    assert wait_until(lambda: not group_alive(second))


def test_kill_9_of_the_workbench_ends_its_server(served, tmp_path):
    script = tmp_path / "workbench_child.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, sys, time
            from pathlib import Path
            from workbench.actions.runner import make_action_runner
            from workbench.engine.tracker import Tracker
            from workbench.project.loader import load_project

            project = load_project(Path({str(served)!r})).project

            async def go():
                runner = make_action_runner(project)
                result = await runner.run("action_hello", Tracker(project), project)
                print(runner.process.pid, result.error, flush=True)
                time.sleep(60)

            asyncio.run(go())
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pid, error = child.stdout.readline().split(" ", 1)
        assert error.strip() == "None"
        server = int(pid)
        assert group_alive(server)
        child.kill()  # SIGKILL: nothing of the workbench runs after this
        child.wait(5)
        assert wait_until(lambda: not group_alive(server), 5.0)
    finally:
        child.kill()
        child.stdout.close()


async def test_a_server_already_answering_is_used_as_is(served, tmp_path):
    owner = make_action_runner(load(served))
    try:
        result = await owner.run("action_hello", _tracker(served), load(served))
        assert result.error is None
        # a second project whose endpoints name the running server
        other = tmp_path / "other"
        shutil.copytree(served, other)
        (other / "endpoints.yml").write_text(f'action_endpoint:\n  url: "{owner.url}"\n')
        reused = make_action_runner(load(other))
        assert isinstance(reused, ActionServerClient)
        assert reused.label == f"actions on server {owner.url} (already running)"
        again = await reused.run("action_hello", _tracker(other), load(other))
        assert again.error is None and again.messages[0]["text"].startswith("hello")
        await reused.aclose()
        assert owner.restarts == 0
    finally:
        await owner.aclose()


def _tracker(root: Path):
    from workbench.engine.tracker import Tracker

    return Tracker(load(root), sender_id="t")


# --- choosing: --actions, --actions-python, the project's .venv -------------------------------


async def test_actions_modes(served, make_project):
    project = load(served)
    off = make_action_runner(project, mode="off")
    assert isinstance(off, NoActions) and off.label == "actions off"
    session = Session(project, ScriptedGenerator([]), actions=off)
    trace, run = await greet(session)  # a clear error, and the conversation goes on
    assert run.error == (
        "custom action 'action_hello' did not run: custom actions are off (--actions off)"
    )
    assert any(e.get("flow_id") == "pattern_internal_error" for e in events(trace))
    assert (await session.handle("/start flow greet")).index == 1

    inprocess = make_action_runner(project, mode="inprocess")  # despite the URL
    assert isinstance(inprocess, PythonActions) and inprocess.label == "actions in-process"
    session = Session(project, ScriptedGenerator([]), actions=inprocess)
    trace, run = await greet(session)
    assert run.kind == "python" and trace.bot_texts[0] == "hello from the action server"

    module = load(make_project({"actions/__init__.py": "", "endpoints.yml": _MODULE}))
    assert isinstance(make_action_runner(module), PythonActions)
    forced = make_action_runner(module, mode="server", watch=False)
    try:
        assert isinstance(forced, ManagedServerActions)
        assert forced.label.startswith("actions on server :")
    finally:
        forced.close()
    with pytest.raises(ValueError, match="not one of auto, inprocess, server, off"):
        make_action_runner(module, mode="remote")


_MODULE = "action_endpoint:\n  actions_module: actions\n"


async def test_a_project_venv_runs_actions_the_workbench_python_cannot(tmp_path):
    root = tmp_path / "needs_venv"
    shutil.copytree(FIXTURES / "needs_venv", root)
    project = load(root)
    # without the venv: the module is missing, and validate and the header say so
    runner = make_action_runner(project)
    assert isinstance(runner, PythonActions)
    (problem,) = runner.problems
    assert problem.startswith("actions/extra.py:3: the actions import 'calm_venv_only_helper'")
    assert "or pass --actions-python with a Python that has it" in problem

    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "calm_venv_only_helper.py").write_text('ANSWER = "found in the venv"\n')
    python = make_venv(root / ".venv", our_site_packages(), helpers)
    runner = make_action_runner(project, watch=False)
    try:
        assert isinstance(runner, ManagedServerActions), runner.label
        assert runner.python.origin == ".venv" and runner.problems == []
        assert runner.label.endswith(f"(started, python {python})")
        session = Session(project, ScriptedGenerator([]), actions=runner)
        trace = await session.handle("/start flow extra")
        assert trace.errors == []
        assert session.tracker.get_slot("extra") == "found in the venv"
    finally:
        await runner.aclose()
    # in-process cannot use another interpreter: said in the header
    inprocess = make_action_runner(project, mode="inprocess")
    assert inprocess.problems[0].startswith("--actions inprocess runs the actions on the")
    assert inprocess.problems[0].endswith(f"not on {python} (the project's .venv)")


def test_bad_actions_python(served, tmp_path):
    project = load(served)
    missing = make_action_runner(project, python=tmp_path / "nope" / "python")
    assert missing.label == "actions not running (bad --actions-python)"
    assert missing.problems == [
        f"--actions-python {tmp_path / 'nope' / 'python'}: no such file; pass a Python "
        "interpreter, e.g. /path/to/venv/bin/python"
    ]
    text = tmp_path / "python"
    text.write_text("#!/bin/sh\necho not python\n")
    text.chmod(0o755)
    (problem,) = make_action_runner(project, python=text).problems
    assert problem.startswith(f"--actions-python {text} is not a Python interpreter")
    bare = make_venv(tmp_path / "bare")
    (problem,) = make_action_runner(project, python=bare).problems
    assert problem.endswith(
        f"has no rasa_sdk, which runs the action server: install it with "
        f"`{bare} -m pip install rasa-sdk`"
    )
    # a virtualenv folder stands for its interpreter
    runner = make_action_runner(project, python=tmp_path / "bare", mode="server")
    assert "has no rasa_sdk" in runner.problems[0]


# --- start-up problems ------------------------------------------------------------------------


async def test_actions_that_do_not_import_show_the_servers_last_lines(served):
    hello = served / HELLO
    good = hello.read_text()
    hello.write_text(good + "\nraise RuntimeError('the orders database is down')\n")
    project = load(served)
    runner = make_action_runner(project, watch=False)
    try:
        session = Session(project, ScriptedGenerator([]), actions=runner)
        trace, run = await greet(session)
        assert re.match(
            r"'action_hello' did not run: the action server exited while starting \(exit code "
            r"1\): actions/hello\.py:\d+: RuntimeError: the orders database is down \(fix the "
            r"actions code; saving it starts the server again\); its last lines:\n",
            run.error,
        ), run.error
        assert "  RuntimeError: the orders database is down" in run.error.splitlines()
        assert any(e.get("flow_id") == "pattern_internal_error" for e in events(trace))
        hello.write_text(good)  # fixed: the next call starts it again
        trace, run = await greet(session)
        assert run.error is None and trace.bot_texts[0] == "hello from the action server"
    finally:
        await runner.aclose()


async def test_a_server_that_never_answers_is_stopped_with_a_message(served):
    hello = served / HELLO
    hello.write_text("import time\ntime.sleep(60)\n" + hello.read_text())
    project = load(served)
    runner = make_action_runner(project, start_timeout=1.0, watch=False)
    try:
        pid = runner.process.pid
        result = await runner.run("action_hello", _tracker(served), project)
        assert result.error.startswith(
            f"'action_hello' did not run: the action server did not answer "
            f"http://127.0.0.1:{runner.process.port}/health within 1 s, so it was stopped; "
            f"start it by hand (`cd {served} && {sys.executable} -m rasa_sdk --actions actions`)"
        )
        assert wait_until(lambda: not group_alive(pid))
    finally:
        await runner.aclose()


async def test_a_taken_port_is_retried_on_another(served):
    import socket

    import httpx

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ActionServerProcess(served, "actions", sys.executable, ServerLog())
        server.start(port)
        try:
            async with httpx.AsyncClient(trust_env=False) as client:
                await server.ready(client)
            assert server.port != port
            assert server.running()
        finally:
            server.stop()


# --- modules the actions Python lacks ----------------------------------------------------------


def test_validate_names_a_missing_module_and_both_fixes(make_project, capsys):
    root = make_project(
        {
            "actions/__init__.py": "",
            "actions/db.py": "import os\n\nfrom rasa.shared.utils.io import read_json_file\n",
            "actions/other.py": "try:\n    import rasa\nexcept ImportError:\n    rasa = None\n",
        }
    )
    if _has_rasa():
        pytest.skip("Rasa Pro is installed here")
    assert main(["validate", str(root)]) == 0  # a warning: the files are fine
    assert main(["validate", str(root), "--strict"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "actions/db.py:3: warning: the actions import 'rasa'" in out
    assert "the actions import 'rasa', which the actions Python," in out
    assert RASA_HINT in out
    runner = make_action_runner(load(root))
    assert runner.problems == [
        f"actions/db.py:3: the actions import 'rasa', which the actions Python, "
        f"{sys.executable} (the workbench's own), cannot import ({RASA_HINT})"
    ]


def _has_rasa() -> bool:
    import importlib.util

    return importlib.util.find_spec("rasa") is not None


def test_group_alive_reads_proc():
    # the checks above would pass vacuously if /proc could not be read
    assert group_alive(os.getpgid(0))


# --- the TUI ------------------------------------------------------------------------------------


async def test_the_tui_stops_its_server_on_exit(served):
    from tui_helpers import send, start

    from workbench.tui.app import make_app

    app = make_app(served, offline=True, store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "/start flow greet")
        (run,) = [a for a in app.conversation.traces[-1].actions if a.name == "action_hello"]
        assert run.kind == "server" and "action_hello runs for" in run.log_lines[0], run.error
        server = app.conversation.actions.runner.process.pid
        assert group_alive(server)
    assert wait_until(lambda: not group_alive(server))


def test_calm_tui_test_stops_the_server_it_started(served, capsys):
    (served / "e2e_tests").mkdir()
    (served / "e2e_tests" / "greet.yml").write_text(
        textwrap.dedent(
            """
            test_cases:
              - test_case: greeted_by_the_action_server
                steps:
                  - user: "/start flow greet"
                  - bot: "hello from the action server"
            """
        )
    )
    assert main(["test", str(served), "--offline"]) == 0, capsys.readouterr().out
    assert wait_until(lambda: not servers_for(served))


def servers_for(root: Path) -> list[int]:
    """Running rasa_sdk processes started from `root`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if "rasa_sdk" in (proc / "cmdline").read_text() and (
                Path(os.readlink(proc / "cwd")) == root
            ):
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_project_venv_without_rasa_sdk_falls_back_to_the_workbench_python(tmp_path):
    root = tmp_path / "needs_venv"
    shutil.copytree(FIXTURES / "needs_venv", root)
    venv_python = make_venv(root / ".venv")
    runner = make_action_runner(load(root))
    assert isinstance(runner, PythonActions)
    assert runner.problems[0] == (
        f"{venv_python} (the project's .venv) has no rasa_sdk, so the actions run on the "
        f"workbench's Python; install it there (`{venv_python} -m pip install rasa-sdk`) to "
        "use it"
    )
