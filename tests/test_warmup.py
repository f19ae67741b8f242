"""The model is prepared in the background: the TUI starts it after its first frame, the
shell right after start-up; neither waits for it, and the first turn uses what it loaded."""

from __future__ import annotations

import asyncio
import gc
import importlib
import io
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from tui_helpers import wait_until

from workbench.cli import main
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.tui.app import make_app
from workbench.understanding import llm, warmup
from workbench.understanding.llm_generator import LLMCommandGenerator
from workbench.understanding.models import ModelSpec

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
REPLY = "start flow check_order_status"
ASKED = "order number"


@pytest.fixture
def server():
    with FakeLLM() as fake:
        fake.default.text = REPLY
        yield fake


def model_project(tmp_path: Path, url: str) -> Path:
    """sample_project with its command generator's model served by the fake server."""
    root = tmp_path / "sample_project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    endpoints = root / "endpoints.yml"
    text = endpoints.read_text(encoding="utf-8")
    old = "        model: gpt-4o-2024-11-20\n"
    assert old in text
    endpoints.write_text(
        text.replace(old, f"        model: fake\n        api_base: {url}\n", 1), encoding="utf-8"
    )
    return root


class HeldPreparation:
    """Replaces `llm.prepare`: it blocks until `release()`, so a test can act while the
    model is still being prepared."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.started = threading.Event()
        self.models: list[ModelSpec] = []
        self.threads: list[str] = []

    def __call__(self, model: ModelSpec) -> None:
        self.models.append(model)
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.released.wait(10)

    def release(self) -> None:
        self.released.set()


def test_the_preparation_runs_in_a_thread_with_quick_switches_and_no_collections():
    seen: dict[str, object] = {}
    before = sys.getswitchinterval()

    def prepare() -> None:
        seen["thread"] = threading.current_thread()
        seen["switch"] = sys.getswitchinterval()
        seen["gc"] = gc.isenabled()

    state = warmup.start(prepare)
    assert state.wait(10)
    assert seen["thread"] is not threading.main_thread()
    assert seen["switch"] == warmup.FAST_SWITCH_S
    assert seen["gc"] is False
    assert state.error is None and state.seconds >= 0
    # restored once it is done
    assert sys.getswitchinterval() == before
    assert gc.isenabled()


def test_a_failed_preparation_is_kept_for_later_not_raised():
    def prepare() -> None:
        raise OSError("disk gone")

    state = warmup.start(prepare)
    assert state.wait(10)
    assert state.error == "OSError: disk gone"
    assert gc.isenabled()


def test_only_generators_that_call_a_model_are_prepared(server):
    class Offline:
        name = "offline"

    class Recording:  # wraps a generator, as --record does
        def __init__(self, inner: object) -> None:
            self.inner = inner

    project = load_project(SAMPLE).project
    generator = LLMCommandGenerator(project, ModelSpec("openai/fake", api_base=server.url))
    assert warmup.start_for(Offline()) is None
    state = warmup.start_for(Recording(generator))
    assert state is not None and state is generator.start_warm_up()  # started once
    assert state.wait(60)


async def test_the_first_turn_uses_the_prepared_model(tmp_path, server):
    project = load_project(model_project(tmp_path, server.url)).project
    generator = LLMCommandGenerator(project, ModelSpec("openai/fake", api_base=server.url))
    state = generator.start_warm_up()
    assert await asyncio.to_thread(state.wait, 60)
    assert state.error is None and llm.is_loaded()
    assert server.chat_requests() == []  # the rehearsal never reached a real server

    loaded = set(sys.modules)
    trace = await Session(project, generator).handle("where is my order")
    assert trace.raw_output == REPLY
    assert ASKED in " ".join(m.text or "" for m in trace.bot_messages)
    # the import, the tokenizer and the client's first-call modules were all ready
    assert trace.prompt_tokens and trace.prompt_tokens > 100
    new = sorted(m for m in set(sys.modules) - loaded if m.split(".")[0] in ("litellm", "openai"))
    assert new == []
    assert len(server.chat_requests()) == 1


async def test_a_message_sent_during_the_preparation_waits_for_it(tmp_path, server, monkeypatch):
    held = HeldPreparation()
    monkeypatch.setattr(llm, "prepare", held)
    project = load_project(model_project(tmp_path, server.url)).project
    generator = LLMCommandGenerator(project, ModelSpec("openai/fake", api_base=server.url))
    state = generator.start_warm_up()
    assert await asyncio.to_thread(held.started.wait, 10)

    turn = asyncio.ensure_future(Session(project, generator).handle("where is my order"))
    await asyncio.sleep(0.2)
    assert not turn.done() and server.chat_requests() == []
    held.release()
    trace = await asyncio.wait_for(turn, 60)
    assert state.done.is_set()
    assert trace.raw_output == REPLY


async def test_the_tui_prepares_the_model_after_its_first_frame_and_stays_responsive(
    tmp_path, server, monkeypatch
):
    held = HeldPreparation()
    monkeypatch.setattr(llm, "prepare", held)
    holds: list[float] = []
    monkeypatch.setattr(warmup, "hold", lambda: holds.append(time.perf_counter()))
    app = make_app(model_project(tmp_path, server.url), watch=False, store=False)
    generator = app.conversation.generator
    assert isinstance(generator, LLMCommandGenerator)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await asyncio.to_thread(held.started.wait, 10)
        assert held.models[0].model == "openai/fake"
        assert held.threads[0] == "model warm-up"
        # typing works while the model is being prepared
        await pilot.press("o", "k")
        chat_input = app.main.chat.input
        assert chat_input.value == "ok"
        assert len(holds) == 2  # each key asked the preparation to stand aside
        await app.wait_for_turns(60)  # the greeting needs no model
        held.release()
        chat_input.value = "where is my order"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(server.chat_requests()) == 1, timeout=60)
        await app.wait_for_turns(60)
        await pilot.pause()
    assert generator._warm_up is not None and generator._warm_up.done.is_set()


def test_the_shell_starts_the_preparation_and_does_not_wait_for_it(
    tmp_path, server, monkeypatch, capsys
):
    held = HeldPreparation()
    monkeypatch.setattr(llm, "prepare", held)
    root = model_project(tmp_path, server.url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("/help\n/exit\n"))
    # the greeting and a command are answered while the model is still being prepared
    assert main(["shell", str(root), "--no-store"]) == 0
    assert held.started.wait(10)
    assert not held.released.is_set()
    out = capsys.readouterr().out
    assert "generator: openai/fake" in out and "Hello and welcome" in out
    held.release()


def test_a_key_makes_the_preparation_stand_aside_at_its_next_import(tmp_path, monkeypatch):
    for name in ("prepared_module", "typed_module"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real_sleep = time.sleep
    slept: list[tuple[int, float]] = []

    def sleep(seconds: float) -> None:
        slept.append((threading.get_ident(), seconds))
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    holding = threading.Event()
    preparing: list[int] = []

    def prepare() -> None:
        preparing.append(threading.get_ident())
        holding.wait(10)
        importlib.import_module("prepared_module")

    state = warmup.start(prepare)
    warmup.hold(0.2)  # a key arrived
    holding.set()
    importlib.import_module("typed_module")  # the event loop's own imports never wait
    assert state.wait(10)
    # the preparation slept at its import, at most KEY_HOLD_S at a time; nobody else did
    assert slept and {ident for ident, _ in slept} == set(preparing)
    assert all(0 < seconds <= warmup.KEY_HOLD_S for _, seconds in slept)
    assert not any(isinstance(f, warmup._StandAside) for f in sys.meta_path)  # removed after


def test_a_release_lets_a_held_preparation_go_on_before_its_hold_ends(tmp_path, monkeypatch):
    names = [f"released_module_{n}" for n in range(50)]
    for name in names:
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def prepare() -> None:
        for name in names:
            importlib.import_module(name)

    warmup.hold(30.0)  # the main screen is being built
    state = warmup.start(prepare)
    time.sleep(0.2)
    # standing aside: up to KEY_HOLD_S at each import, while the hold lasts
    assert not state.done.is_set()
    released = time.perf_counter()
    warmup.release()  # the screen is drawn
    assert state.wait(5)
    assert time.perf_counter() - released < 0.5  # 50 imports held would take 2 s
