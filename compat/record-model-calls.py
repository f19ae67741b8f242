"""Record the model calls besides command generation (knowledge answers, rephrasings, the
judge and every embedding) for a Rasa template's e2e tests into its cassette's `calls:`.

    python compat/record-model-calls.py TEMPLATE_DIR CASSETTE [--python PY] [--port N]
    python compat/record-model-calls.py --serve TEMPLATE_DIR CASSETTE [--port N]

TEMPLATE_DIR is an extracted template (e.g. the `finance` folder of the rasa-pro wheel's
`rasa/cli/project_templates`), CASSETTE its `compat/rasa-templates/<name>.cassette.yml`.

The script serves an OpenAI-compatible fake on 127.0.0.1 that answers as an ideal model
would, deterministically and from what each request holds:

- command generation: the cassette's own entry for the next user message of the test
  case being recorded (the test cases run one at a time, so each knows its entries);
- knowledge answers: the sentences of the documents in the prompt that answer the
  user's last message (a Q:/A: document's best answer), or `[NO_RAG_ANSWER]` when no
  document shares enough words with the question (the relevancy check);
- rephrasings (a prompt that matches the project's `nlg` `prompt_template`): the
  suggested response with its contractions written out, so a rephrased message is
  visible and means the same;
- the judge, in the JSON `workbench/testing/judge.py` parses: statements (the answer's
  sentences) scored 1 when most of their words are in the reference; question
  variations built from the answer's words;
- embeddings: hashed bag-of-words vectors (stemmed content words, 256 dimensions,
  weighted by how rare each word is in the project's docs/), with the leading sentence
  counted twice, so cosine similarity measures shared vocabulary, topic first.

It then runs `python -m workbench test TEMPLATE_DIR FILE::CASE --record ...` for every
test case with OPENAI_API_BASE pointing at the fake (and a placeholder key), and writes
the union of the recorded `calls:` into CASSETTE, replacing a previous `calls:` section
and leaving the entries and their comments as they are. `--serve` only runs the fake
(until interrupted), for trying a template by hand:

    OPENAI_API_KEY=fake OPENAI_API_BASE=http://127.0.0.1:8765/v1 calm-tui shell finance

Run it where the template's actions import (rasa-pro installed, see the README), so that
every case takes the path it takes in the replay. Nothing here holds Rasa's prompt texts:
the fake reads the project's own rephrase template at run time, and the workbench's
own knowledge and judge prompts through its functions.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.knowledge.relevancy import NOT_RELEVANT_MARKER  # noqa: E402
from workbench.testing.judge import groundedness_prompt, relevance_prompt  # noqa: E402

DIMENSIONS = 256
SUPPORTED_SHARE = 0.6  # of a statement's words in the reference: supported
RELEVANT_SHARE = 0.5  # of the question's words in a document's passage: answerable
_STOPWORD_TEXT = """
    a about after all also am an and any are as at be been before being but by can could
    did do does doing for from had has have having he her here hers him his how i if in
    into is it its itself just me more most my no nor not of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yourself please"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
CONTRACTIONS = {
    "I'm": "I am",
    "I've": "I have",
    "I'll": "I will",
    "I'd": "I would",
    "you're": "you are",
    "you've": "you have",
    "you'll": "you will",
    "you'd": "you would",
    "we're": "we are",
    "we've": "we have",
    "we'll": "we will",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "let's": "let us",
    "can't": "cannot",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "couldn't": "could not",
    "wouldn't": "would not",
    "shouldn't": "should not",
    "haven't": "have not",
    "hasn't": "has not",
}


# --- words, vectors ------------------------------------------------------------------------


def stems(text: str) -> list[str]:
    """The content words of `text`, lower-cased and crudely stemmed."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))
    return [_stem(w) for w in words if w not in STOPWORDS and len(w) > 1]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def weights(documents: list[tuple[str, str]]) -> dict[str, float]:
    """Inverse document frequency of each word over the documents' paragraphs, so that a
    rare word ("metal") counts for more than a common one ("card")."""
    paragraphs = [p for _, text in documents for p in re.split(r"\n\s*\n", text) if p.strip()]
    counts: dict[str, int] = {}
    for paragraph in paragraphs:
        for word in set(stems(paragraph)):
            counts[word] = counts.get(word, 0) + 1
    total = len(paragraphs)
    return {word: math.log((total + 1) / (count + 1)) + 1 for word, count in counts.items()}


def embed(text: str, idf: dict[str, float]) -> list[float]:
    """The text's hashed bag of words plus, as much again, its leading sentence's: a
    document's title or first question, a search query's latest message (Rasa puts it
    first), so that a query is found by what it asks more than by the answer before it."""
    parts = sentences(text)
    whole, lead = _bag(text, idf), _bag(parts[0] if parts else text, idf)
    return _normalised([a + b for a, b in zip(whole, lead, strict=True)])


def _bag(text: str, idf: dict[str, float]) -> list[float]:
    """Hashed bag of words weighted by `idf` (words no document holds: the rarest's)."""
    unknown = max(idf.values(), default=1.0)
    vector = [0.0] * DIMENSIONS
    for word in stems(text):
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        index = int.from_bytes(digest[:4], "little") % DIMENSIONS
        vector[index] += (1.0 if digest[4] & 1 else -1.0) * idf.get(word, unknown)
    return _normalised(vector)


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def share_in(words: list[str], reference: set[str]) -> float:
    return sum(w in reference for w in words) / len(words) if words else 0.0


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return [p for p in parts if p]


# --- the prompts, read by their structure --------------------------------------------------


def template_pattern(render: Callable[..., str], *names: str) -> re.Pattern[str]:
    """A regex for what `render` produces, with a named group per argument (rendered with
    sentinel values, so the workbench's own wording is never repeated here)."""
    sentinels = [f"\x00{index}\x00" for index in range(len(names))]
    rendered = re.escape(render(*sentinels))
    for name, sentinel in zip(names, sentinels, strict=True):
        rendered = rendered.replace(re.escape(sentinel), f"(?P<{name}>.*?)", 1)
    return re.compile(rf"\s*{rendered}\s*", re.DOTALL)


def jinja_pattern(template: str) -> re.Pattern[str] | None:
    """A regex for a Jinja template that only substitutes variables (`{{ name }}`)."""
    if "{%" in template:
        return None
    parts = re.split(r"\{\{\s*(\w+)\s*\}\}", template.strip())
    pattern, seen = "", set()
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        elif part in seen:
            pattern += f"(?P={part})"
        else:
            seen.add(part)
            pattern += f"(?P<{part}>.*?)"
    return re.compile(rf"\s*{pattern}\s*", re.DOTALL)


@dataclass
class Prompts:
    rephrase: re.Pattern[str] | None
    relevance: re.Pattern[str] = field(
        default_factory=lambda: template_pattern(relevance_prompt, "answer")
    )
    groundedness: re.Pattern[str] = field(
        default_factory=lambda: template_pattern(groundedness_prompt, "answer", "truth")
    )

    @classmethod
    def for_project(cls, project: Path) -> Prompts:
        endpoints = yaml.safe_load((project / "endpoints.yml").read_text(encoding="utf-8"))
        nlg = (endpoints or {}).get("nlg") or {}
        template = nlg.get("prompt_template") if isinstance(nlg, dict) else None
        if not template:
            return cls(None)
        return cls(jinja_pattern((project / template).read_text(encoding="utf-8")))


def search_documents(prompt: str) -> list[tuple[str, str]] | None:
    """(source, text) of each document of a knowledge prompt (the workbench's template:
    `[n] source` then the text), None when `prompt` is not one."""
    found = re.search(r"^## Documents\n(.*?)(?=^## )", prompt, re.DOTALL | re.MULTILINE)
    if found is None:
        return None
    blocks = re.split(r"^\[\d+\] (.+)$", found.group(1), flags=re.MULTILINE)
    return [(blocks[i].strip(), blocks[i + 1].strip()) for i in range(1, len(blocks) - 1, 2)]


def last_user_line(prompt: str) -> str:
    lines = re.findall(r"^USER: (.*)$", prompt, re.MULTILINE)
    return lines[-1] if lines else ""


# --- the ideal model -----------------------------------------------------------------------


def search_answer(prompt: str, documents: list[tuple[str, str]]) -> str:
    question = stems(last_user_line(prompt))
    asked = set(question)
    best: tuple[float, str] = (0.0, "")
    for _source, text in documents:
        for passage, answer in _passages(text):
            score = share_in(question, set(stems(passage)))
            # ties: the shorter passage is the more specific one
            if score > best[0] or (score == best[0] and best[1] and len(answer) < len(best[1])):
                best = (score, answer)
    if best[0] < RELEVANT_SHARE or not asked:
        return NOT_RELEVANT_MARKER
    return best[1]


def _passages(text: str) -> Iterator[tuple[str, str]]:
    """(what is matched, what is answered): a Q:/A: pair's question and answer, else
    each prose sentence with its neighbour."""
    pairs = re.findall(r"^Q:\s*(.+?)\s*\nA:\s*(.+?)(?=\n\s*\n|\nQ:|\Z)", text, re.DOTALL | re.M)
    if pairs:
        for question, answer in pairs:
            yield f"{question} {answer}", " ".join(answer.split())
        return
    parts = sentences(text)
    for index in range(len(parts)):
        window = " ".join(parts[index : index + 2])
        yield window, window


def rephrase(suggested: str) -> str:
    text = suggested.strip()
    for short, long in CONTRACTIONS.items():
        text = re.sub(
            rf"\b{re.escape(short)}(?=\W|$)",
            lambda m, long=long: long[0].upper() + long[1:] if m.group(0)[0].isupper() else long,
            text,
            flags=re.IGNORECASE,
        )
    return text


def groundedness(answer: str, truth: str) -> str:
    reference = set(stems(truth))
    statements = []
    for statement in sentences(answer):
        words = stems(statement)
        share = share_in(words, reference)
        missing = sorted({w for w in words if w not in reference})
        supported = share >= SUPPORTED_SHARE
        statements.append(
            {
                "statement": statement,
                "score": 1 if supported else 0,
                "justification": (
                    f"{share:.0%} of its words are in the reference"
                    + ("" if supported else f"; not there: {', '.join(missing[:8])}")
                ),
            }
        )
    return json.dumps({"statements": statements})


def question_variations(answer: str) -> str:
    topics = [" ".join(stems(s)[:8]) for s in sentences(answer)] or [answer]
    forms = ("What about {}?", "Can you tell me about {}?", "How does {} work?")
    questions = [forms[i % len(forms)].format(topics[i % len(topics)]) for i in range(3)]
    return json.dumps({"question_variations": questions})


# --- the server ----------------------------------------------------------------------------


@dataclass
class FakeModel:
    prompts: Prompts
    # (user message, completion) of the command entries the fake may answer with: the
    # running test case's while recording, every entry with `--serve`
    commands: list[tuple[str, str]] = field(default_factory=list)
    documents: list[tuple[str, str]] = field(default_factory=list)  # the project's docs/
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # `--serve`: an entry answers only the very message it was written for
    exact: bool = False
    _next: int = 0

    def __post_init__(self) -> None:
        self.idf = weights(self.documents)

    def use(self, commands: list[tuple[str, str]]) -> None:
        with self.lock:
            self.commands, self._next = commands, 0

    def chat(self, prompt: str) -> str:
        judged = self.prompts.groundedness.fullmatch(prompt)
        if judged:
            return groundedness(judged["answer"].strip(), judged["truth"].strip())
        judged = self.prompts.relevance.fullmatch(prompt)
        if judged:
            return question_variations(judged["answer"].strip())
        rephrasing = self.prompts.rephrase.fullmatch(prompt) if self.prompts.rephrase else None
        if rephrasing and "suggested_response" in rephrasing.groupdict():
            return rephrase(rephrasing["suggested_response"])
        documents = search_documents(prompt)
        if documents is not None:
            return search_answer(prompt, documents)
        return self.command(prompt)

    def command(self, prompt: str) -> str:
        """The entry whose user message comes last in the prompt (the latest message);
        among entries with the same message, the next one in order. A case that runs
        again (under the other Rasa profile) starts over at its first entry."""
        latest = _quoted_tail(prompt[-2000:])
        with self.lock:
            order = list(range(self._next, len(self.commands))) + list(range(self._next))
            best, where = None, -1
            for index in order:
                user = self.commands[index][0]
                if self.exact:
                    if user == latest:
                        best = index
                        break
                    continue
                position = prompt.rfind(user)
                if position > where:
                    best, where = index, position
            if best is not None:
                self._next = best + 1
                return self.commands[best][1]
        # a knowledge question the cassette does not know (trying a template by hand)
        for _source, text in self.documents:
            if search_answer(f"USER: {latest}", [(_source, text)]) != (NOT_RELEVANT_MARKER):
                return "search and reply"
        # not a command prompt the fake knows (e.g. an action calling a model itself)
        self.notes.append(f"answered an unknown prompt with a summary: {prompt[:80]!r}…")
        return " ".join(sentences(prompt)[-2:])


def _quoted_tail(prompt: str) -> str:
    """The latest user message of a command prompt: its last quoted or `USER:` line."""
    quoted = re.findall(r'"""(.+?)"""', prompt, re.DOTALL)
    return quoted[-1].strip() if quoted else last_user_line(prompt)


def serve(model: FakeModel, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
            if self.path.endswith("/embeddings"):
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                base64_wanted = body.get("encoding_format") == "base64"
                data = []
                for index, text in enumerate(texts):
                    values = embed(str(text), model.idf)
                    vector: object = values
                    if base64_wanted:
                        raw = struct.pack(f"<{DIMENSIONS}f", *values)
                        vector = base64.b64encode(raw).decode("ascii")
                    data.append({"object": "embedding", "index": index, "embedding": vector})
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                reply = {"object": "list", "data": data, "model": body["model"], "usage": usage}
            elif self.path.endswith("/chat/completions"):
                prompt = "\n".join(str(m.get("content") or "") for m in body["messages"])
                text = model.chat(prompt)
                reply = {
                    "id": "fake-" + hashlib.sha256(prompt.encode()).hexdigest()[:12],
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            else:
                self.send_error(404)
                return
            payload = json.dumps(reply).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- recording -----------------------------------------------------------------------------


def test_cases(project: Path) -> list[tuple[str, str]]:
    """(test file relative to the project, case name) of every e2e test, in file order."""
    cases = []
    for path in sorted((project / "tests").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in (data or {}).get("test_cases") or []:
            cases.append((str(path.relative_to(project)), str(case["test_case"])))
    return cases


def documents(project: Path) -> list[tuple[str, str]]:
    """The project's `docs/**/*.txt`: word weights, and (`--serve`) which messages are
    knowledge questions."""
    return [
        (str(path.relative_to(project)), path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted((project / "docs").rglob("*.txt"))
    ]


def entries(cassette: dict[str, object]) -> list[dict[str, str]]:
    rows = cassette.get("entries") or []
    assert isinstance(rows, list)
    return [{str(k): str(v) for k, v in row.items()} for row in rows]


def case_entries(cassette: dict[str, object], file: str, name: str) -> list[tuple[str, str]]:
    """(user, completion) of the entries of one test case (`name` or `file::name`)."""
    own = []
    for entry in entries(cassette):
        key = entry.get("test_case", "")
        where, _, case = key.rpartition("::")
        if key == name or (where and case == name and file.endswith(where)):
            own.append((entry["user"].strip(), entry["completion"]))
    return own


def _shape(completion: str) -> list[str]:
    """A completion's commands without their values."""
    return [" ".join(line.split()[:3]) for line in completion.splitlines() if line.strip()]


def record(project: Path, cassette_path: Path, python: str, port: int) -> int:
    cassette = yaml.safe_load(cassette_path.read_text(encoding="utf-8"))
    model = FakeModel(Prompts.for_project(project), documents=documents(project))
    server = serve(model, port)
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    env = dict(os.environ, OPENAI_API_KEY="fake-key", OPENAI_API_BASE=base, OPENAI_BASE_URL=base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    calls: dict[tuple[str, str], dict[str, object]] = {}
    failed: list[str] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, (file, name) in enumerate(test_cases(project)):
            own = case_entries(cassette, file, name)
            model.use(own)
            out = Path(scratch) / f"{index}.cassette.yml"
            run = subprocess.run(
                [python, "-m", "workbench", "test", ".", f"{file}::{name}", "--record", str(out)],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
            )
            verdict = {0: "passed", 1: "failed"}.get(run.returncode, f"error {run.returncode}")
            print(f"{verdict:8} {file}::{name}")
            if run.returncode:
                failed.append(name)
                print(run.stdout[-3000:], run.stderr[-2000:], sep="\n")
            recorded = yaml.safe_load(out.read_text(encoding="utf-8")) if out.is_file() else {}
            # (the recording masks what looks like a secret, e.g. a card number)
            used = [_shape(e["completion"]) for e in entries(recorded or {})]
            if used[: len(own)] != [_shape(completion) for _, completion in own]:
                problems.append(f"{name}: the run did not use the case's command entries")
            for call in (recorded or {}).get("calls") or []:
                calls.setdefault((call["kind"], call["key"]), call)
    server.shutdown()
    write_calls(cassette_path, list(calls.values()))
    kinds: dict[str, int] = {}
    for call in calls.values():
        kinds[str(call["kind"])] = kinds.get(str(call["kind"]), 0) + 1
    print(f"wrote {len(calls)} calls to {cassette_path}: {kinds}")
    for note in model.notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if failed or problems else 0


HEADER = """\
# The other model calls of the run (knowledge answers, rephrasings, the judge, every
# embedding), keyed by their input. Written by compat/record-model-calls.py from its
# deterministic fake model; do not edit by hand, run the script again.
"""


def write_calls(path: Path, calls: list[dict[str, object]]) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.split(rf"^{re.escape(HEADER.splitlines()[0])}$|^calls:", text, flags=re.M)[0]
    body = yaml.safe_dump({"calls": calls}, sort_keys=False, allow_unicode=True, width=88)
    path.write_text(text.rstrip("\n") + "\n\n" + HEADER + body, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("cassette", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help="only run the fake model")
    args = parser.parse_args()
    project = args.template.resolve()
    if args.serve:
        cassette = yaml.safe_load(args.cassette.read_text(encoding="utf-8"))
        model = FakeModel(Prompts.for_project(project), documents=documents(project), exact=True)
        model.use([(e["user"].strip(), e["completion"]) for e in entries(cassette)])
        server = serve(model, args.port or 8765)
        print(f"fake model on http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
        threading.Event().wait()
        return 0
    return record(project, args.cassette.resolve(), args.python, args.port)


if __name__ == "__main__":
    sys.exit(main())
