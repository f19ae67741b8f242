"""Corrupt the sample project's files and load, validate and reload each corruption.

Run by tests/test_fuzz_project.py in a subprocess, so that a crash of the interpreter
(a segfault in a C extension, a stack overflow) is seen as a failure rather than ending
the test run. Prints one JSON line: the counts per kind of corruption and every failure
(an exception that escaped, or an issue without file and message). Before each case its
name is written to the file given by --progress, so a crash can be traced to its case.

    python tests/fuzz_project.py --seed 13 --cases 300
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ruamel.yaml import YAML  # noqa: E402

from workbench.project.issues import Issue  # noqa: E402
from workbench.project.loader import load_project  # noqa: E402
from workbench.project.validate import validate_project  # noqa: E402
from workbench.project.yaml_io import YamlCache, parse_yaml  # noqa: E402
from workbench.watch import ProjectWatcher  # noqa: E402

SAMPLE = ROOT / "sample_project"
Mutation = Callable[[random.Random, bytes], bytes]


# -- corruptions ------------------------------------------------------------------------


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    at = rng.randrange(len(out) + 1)
    out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    return bytes(out)


def _insert_at_line(rng: random.Random, data: bytes, text: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(len(lines) + 1)
    return b"\n".join([*lines[:at], text, *lines[at:]])


def deep_flow(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([50, 199, 200, 201, 1000, 5000, 30000])
    opener, closer = rng.choice([(b"[", b"]"), (b"{a: ", b"}")])
    inner = opener * depth + b"1" + closer * depth * rng.choice([0, 1])
    if rng.random() < 0.5:  # as the value of a new key at a random line
        return _insert_at_line(rng, data, b"deep_key: " + inner)
    at = rng.randrange(len(data) + 1)  # anywhere, inside scalars and comments too
    return data[:at] + inner + data[at:]


def deep_block(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([50, 150, 199, 201, 1000, 3000])
    if rng.random() < 0.5:
        nest = b"".join(b" " * i + b"k:\n" for i in range(depth)) + b" " * depth + b"v\n"
    else:
        nest = b"- " * depth + b"x\n"
    return data + b"\n" + nest if rng.random() < 0.5 else nest + data


def huge_scalar(rng: random.Random, data: bytes) -> bytes:
    size = rng.choice([10_000, 200_000, 2_000_000])
    value = bytes(rng.choice(b"abc {}[]#:'\"") for _ in range(64)) * (size // 64)
    quoted = b'"' + value.replace(b"\\", b"").replace(b'"', b"'") + b'"'
    return _insert_at_line(rng, data, b"huge: " + rng.choice([quoted, b"|\n  " + value]))


def bad_utf8(rng: random.Random, data: bytes) -> bytes:
    junk = rng.choice([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80\x80", b"\xf8"])
    at = rng.randrange(len(data) + 1)
    return data[:at] + junk + data[at:]


def tabs(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 5)):
        index = rng.randrange(len(lines))
        line = lines[index]
        stripped = line.lstrip(b" ")
        indent = len(line) - len(stripped)
        lines[index] = b"\t" * max(1, indent // 2) + stripped
    return b"\n".join(lines)


def duplicate_lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
    return b"\n".join(lines)


def delete_lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 4)):
        if len(lines) > 1:
            del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def alias_bomb(rng: random.Random, data: bytes) -> bytes:
    width, levels = rng.choice([(10, 9), (2, 40), (100, 4)])
    lines = [b"a0: &a0 [lol]"]
    for level in range(1, levels):
        refs = b", ".join([b"*a%d" % (level - 1)] * width)
        lines.append(b"a%d: &a%d [%s]" % (level, level, refs))
    bomb = b"\n".join(lines) + b"\n"
    return bomb + data if rng.random() < 0.5 else bomb


def odd_text(rng: random.Random, data: bytes) -> bytes:
    pieces = [
        b"\x00",
        b"\xef\xbb\xbf",
        b"\r",
        b"\r\n",
        b"\x1b[2J",
        b"\xe2\x80\xa8",
        b"\xc2\x85",
        b"&",
        b"*",
        b"!!python/object:os.system",
        b"!!binary",
        b"? ",
        b"<<: ",
        b"%YAML 1.1\n---\n",
        b"\n---\n",
        b"\n...\n",
        b"'",
        b'"',
        b"{{",
        b"|",
    ]
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(pieces) + data[at:]


def empty(rng: random.Random, data: bytes) -> bytes:
    return rng.choice([b"", b"\n", b"~\n", b"[]\n", b"42\n", b"- a\n- b\n", b"flows:\n"])


WRONG_VALUES: list[object] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "text",
    "END",
    [],
    {},
    [None],
    {"x": None},
    [[[]]],
    {"steps": "no"},
    "slots.x = ",
    "a" * 5000,
    "(" * 300,
]


def wrong_type(rng: random.Random, data: bytes) -> bytes:
    """Replace one value, at a random depth of the parsed file, by one of another type."""
    try:
        document = parse_yaml(data.decode("utf-8"), "f.yml")
    except Exception:
        return truncate(rng, data)
    containers: list[tuple[dict | list, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                containers.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                containers.append((node, index))
                walk(value)

    walk(document)
    if not containers:
        return data
    container, key = rng.choice(containers)
    container[key] = rng.choice(WRONG_VALUES)  # type: ignore[index]
    return _dump(document)


def wrong_key(rng: random.Random, data: bytes) -> bytes:
    """Rename one key, at a random depth, to a key YAML reads as another type."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    if not keyed:
        return data
    index = rng.choice(keyed)
    line = lines[index]
    indent = line[: len(line) - len(line.lstrip(" -"))]
    new_key = rng.choice(["~", "true", "1", "END", '""', "null", "[a]", "{a: 1}", "? x"])
    lines[index] = indent + new_key + ":" + line.split(":", 1)[1]
    return "\n".join(lines).encode("utf-8")


def _dump(document: object) -> bytes:
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(_plain(document), stream)
    return stream.getvalue().encode("utf-8")


def _plain(node: object) -> object:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


MUTATIONS: dict[str, Mutation] = {
    "truncate": truncate,
    "flip_bytes": flip_bytes,
    "random_bytes": random_bytes,
    "deep_flow": deep_flow,
    "deep_block": deep_block,
    "huge_scalar": huge_scalar,
    "bad_utf8": bad_utf8,
    "tabs": tabs,
    "duplicate_lines": duplicate_lines,
    "delete_lines": delete_lines,
    "alias_bomb": alias_bomb,
    "odd_text": odd_text,
    "empty": empty,
    "wrong_type": wrong_type,
    "wrong_key": wrong_key,
}
# wrong types go through more places than bytes do: give them more cases
WEIGHTS = {name: 3 if name in ("wrong_type", "wrong_key") else 1 for name in MUTATIONS}


# -- checks ---------------------------------------------------------------------------------


def issue_problems(issues: list[Issue]) -> list[str]:
    bad = []
    for issue in issues:
        if not isinstance(issue, Issue):
            bad.append(f"not an Issue: {issue!r}")
        elif not issue.file or not issue.message or not isinstance(issue.line, int):
            bad.append(f"an issue without file, line or message: {issue!r}")
        elif not str(issue).startswith(issue.file):
            bad.append(f"an issue that does not start with its file: {issue}")
        elif issue.line < 1 and issue.file != ".":  # "." is the project as a whole
            bad.append(f"an issue without a line: {issue}")
    return bad


def reload_in_thread(watcher: ProjectWatcher, changed: str) -> object:
    """What the TUI does: `ProjectWatcher.load` in a worker thread."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(watcher.load([changed]))
        except BaseException:
            box.append(traceback.format_exc())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return box[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--reload-every", type=int, default=4)
    parser.add_argument("--progress", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="calm-fuzz-"))
    root = folder / "sample_project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yml"))
    originals = {rel: (root / rel).read_bytes() for rel in files}
    cache = YamlCache()
    watcher = ProjectWatcher(root)
    if not watcher.load().ok:
        raise SystemExit("the sample project does not load cleanly")
    counts: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    names = list(MUTATIONS)
    weights = [WEIGHTS[n] for n in names]
    started = time.perf_counter()
    slowest = (0.0, "")
    try:
        for index in range(args.cases):
            kind = rng.choices(names, weights)[0]
            rel = rng.choice(files)
            case = f"case {index}: {kind} of {rel} (seed {args.seed})"
            if args.progress:
                args.progress.write_text(case, encoding="utf-8")
            corrupted = MUTATIONS[kind](rng, originals[rel])
            (root / rel).write_bytes(corrupted)
            counts[kind] += 1
            case_started = time.perf_counter()
            try:
                loaded = load_project(root, cache=cache)
                issues = [*loaded.issues, *validate_project(loaded.project)]
                for problem in issue_problems(issues):
                    failures.append({"case": case, "problem": problem})
            except BaseException:
                failures.append({"case": case, "problem": traceback.format_exc()})
            if index % args.reload_every == 0:
                result = reload_in_thread(watcher, rel)
                if isinstance(result, str):
                    failures.append({"case": case + " (reload)", "problem": result})
                elif watcher.last_good is None:
                    failures.append({"case": case + " (reload)", "problem": "lost last_good"})
            elapsed = time.perf_counter() - case_started
            slowest = max(slowest, (elapsed, case))
            (root / rel).write_bytes(originals[rel])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        json.dumps(
            {
                "cases": sum(counts.values()),
                "kinds": dict(sorted(counts.items())),
                "failures": failures,
                "seconds": round(time.perf_counter() - started, 1),
                "slowest": [round(slowest[0], 2), slowest[1]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
