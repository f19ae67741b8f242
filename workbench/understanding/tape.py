"""Every model call besides command generation — knowledge answers, rephrasing, judges,
embeddings — recorded into the cassette and replayed from it.

Command generation is keyed by the user's message (`cassette.py`), so that a recorded
conversation replays against edited flows. The other calls are keyed by what they were
given: a completion by its prompt, an embedding by its model and text. A recorded session
therefore replays exactly, and a call whose input changed (an edited document, another
prompt template) is a `TapeMiss` that says so instead of a silently different answer.

In the cassette file the calls sit under `calls:`, after the command entries::

    calls:
      - kind: search_answer
        key: 4f1c0a9e2b7d3c55         # sha256 of the (scrubbed) prompt, 16 hex digits
        about: "What are the fees for international transfers?"
        text: |
          Standard accounts pay a 0.5% markup ...
      - kind: embedding
        key: 9be0…
        about: "text-embedding-3-small: Q: How many countries can I send money to…"
        vector: AAAgQQAAoEA=…         # float32, little-endian, base64

A sub-agent's model steps and MCP tool calls (`agents/tape.py`) go through `recorded`,
which keeps a text payload (their JSON) under `text:`, kinds `agent_step`, `mcp_tool` and
`mcp_tool_list`.

Keys are computed over the scrubbed input (the conversation's scrubber masks the same
secrets when recording and replaying), so no secret reaches the file, not even hashed.
Replaying, the first recorded call of a key answers every call with that key.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workbench.errors import WorkbenchError
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml
from workbench.understanding.llm import Completion
from workbench.understanding.models import ModelSpec

TapeMode = Literal["live", "replay", "record"]
KEY_DIGITS = 16
ABOUT_CHARS = 80

Scrub = Callable[[str], str]
CompleteCall = Callable[[], Awaitable[Completion]]
EmbedCall = Callable[[list[str]], Awaitable[list[list[float]]]]


class TapeError(WorkbenchError, ValueError):
    """The cassette's `calls:` cannot be read."""


class TapeMiss(WorkbenchError, LookupError):
    """A replayed run made a model call that was not recorded."""

    def __init__(self, kind: str, about: str, path: Path | None) -> None:
        self.kind = kind
        self.about = about
        where = f" in {path}" if path else ""
        super().__init__(
            f"no recorded {kind.replace('_', ' ')} call for {about!r}{where} "
            "(its input changed since the recording); record the run again"
        )


@dataclass(frozen=True)
class TapeCall:
    kind: str
    key: str
    about: str
    text: str | None = None  # a completion's reply
    vector: tuple[float, ...] | None = None  # an embedding
    model: str | None = None
    test_case: str | None = None


@dataclass
class ModelTape:
    """Wraps each model call: `live` calls the model, `record` calls it and keeps the
    answer, `replay` answers from the recorded calls without a model."""

    mode: TapeMode = "live"
    calls: list[TapeCall] = field(default_factory=list)
    path: Path | None = None
    scrub: Scrub | None = None
    # wiring sets it to write the cassette after each recorded call
    on_record: Callable[[], None] | None = None
    _by_key: dict[tuple[str, str], TapeCall] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for call in self.calls:
            self._by_key.setdefault((call.kind, call.key), call)

    @property
    def replaying(self) -> bool:
        return self.mode == "replay"

    async def complete(
        self,
        kind: str,
        model: ModelSpec,
        prompt: str,
        call: CompleteCall,
        about: str | None = None,
    ) -> Completion:
        """The completion of `prompt`: recorded, or from `call()` (kept when recording).
        `about` says what the call is about in the cassette and in a miss (the user's
        question, the response rephrased; default: the prompt's start, which for a
        project's template is the same for every call)."""
        key, about = self._key(prompt), self._about(prompt if about is None else about)
        if self.mode == "replay":
            found = self._by_key.get((kind, key))
            if found is None or found.text is None:
                raise TapeMiss(kind, about, self.path)
            return Completion(found.text, found.model or model.model, latency_ms=0.0)
        completion = await call()
        if self.mode == "record":
            text = self.scrub(completion.text) if self.scrub else completion.text
            self._keep(TapeCall(kind, key, about, text=text, model=completion.model))
        return completion

    async def recorded(
        self, kind: str, key_text: str, about: str, call: Callable[[], Awaitable[str]]
    ) -> str:
        """A text payload (a sub-agent's model step, an MCP tool's result, as JSON)
        keyed by `key_text`: recorded, or from `call()` (kept when recording)."""
        key, about = self._key(key_text), self._about(about)
        if self.mode == "replay":
            found = self._by_key.get((kind, key))
            if found is None or found.text is None:
                raise TapeMiss(kind, about, self.path)
            return found.text
        text = await call()
        if self.mode == "record":
            self._keep(TapeCall(kind, key, about, text=self.scrub(text) if self.scrub else text))
        return text

    async def embed(
        self, model: ModelSpec, texts: Sequence[str], call: EmbedCall, purpose: str = ""
    ) -> list[list[float]]:
        """One vector per text: the recorded ones, the rest from `call(missing)` (in
        replay a missing one is a `TapeMiss`). `purpose` starts each recorded call's
        description (`judge`, `flow retrieval`; none for documents), so a reader of the
        cassette — and the knowledge service replaying it — can tell them apart."""
        keys = [self._key(f"{model.model}\n{text}") for text in texts]
        vectors: dict[int, list[float]] = {}
        missing: list[int] = []
        for index, key in enumerate(keys):
            found = self._by_key.get(("embedding", key)) if self.mode != "live" else None
            if found is not None and found.vector is not None:
                vectors[index] = list(found.vector)
            else:
                missing.append(index)
        if missing and self.mode == "replay":
            raise TapeMiss("embedding", self._about(texts[missing[0]]), self.path)
        if missing:
            fresh = await call([texts[index] for index in missing])
            for index, vector in zip(missing, fresh, strict=True):
                if self.mode == "record":
                    # the float32 values the cassette keeps: a replay then ranks (and
                    # breaks ties) exactly as the recorded run did
                    vector = list(decode_vector(encode_vector(vector)))
                vectors[index] = vector
                if self.mode == "record":
                    lead = f"{purpose} " if purpose else ""
                    about = self._about(f"{lead}{model.model}: {texts[index]}")
                    self._keep(TapeCall("embedding", keys[index], about, vector=tuple(vector)))
        return [vectors[index] for index in range(len(texts))]

    def _keep(self, call: TapeCall) -> None:
        if (call.kind, call.key) in self._by_key:
            return
        self._by_key[(call.kind, call.key)] = call
        self.calls.append(call)
        if self.on_record is not None:
            self.on_record()

    def _key(self, text: str) -> str:
        scrubbed = self.scrub(text) if self.scrub else text
        return hashlib.sha256(scrubbed.encode("utf-8")).hexdigest()[:KEY_DIGITS]

    def _about(self, text: str) -> str:
        scrubbed = self.scrub(text) if self.scrub else text
        line = " ".join(scrubbed.split())
        return line if len(line) <= ABOUT_CHARS else line[: ABOUT_CHARS - 1] + "…"


# --- the `calls:` section of a cassette ------------------------------------------------------


def encode_vector(vector: Sequence[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def decode_vector(text: str) -> tuple[float, ...]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 4:
        raise ValueError("not a whole number of float32 values")
    return struct.unpack(f"<{len(raw) // 4}f", raw)


def calls_data(calls: Iterable[TapeCall]) -> list[dict[str, object]]:
    """The calls as plain data for the cassette's YAML (vectors base64-encoded)."""
    rows: list[dict[str, object]] = []
    for call in calls:
        row: dict[str, object] = {"test_case": call.test_case} if call.test_case else {}
        row.update(kind=call.kind, key=call.key, about=call.about)
        if call.model:
            row["model"] = call.model
        if call.text is not None:
            row["text"] = call.text
        if call.vector is not None:
            row["vector"] = encode_vector(call.vector)
        rows.append(row)
    return rows


def load_calls(path: Path) -> list[TapeCall]:
    """The `calls:` of a cassette file ([] when it has none)."""
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, YamlSyntaxError) as error:
        raise TapeError(f"cannot read the recorded model calls in {path}: {error}") from error
    raw = data.get("calls") if isinstance(data, dict) else None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TapeError(f"cassette {path}: `calls` must be a list")
    return [_call(path, index, item) for index, item in enumerate(raw, start=1)]


def _call(path: Path, index: int, item: object) -> TapeCall:
    if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
        raise TapeError(f"cassette {path}: call {index} must be a mapping with `kind` and `key`")
    key, text, vector = item.get("key"), item.get("text"), item.get("vector")
    if not isinstance(key, str) or (text is None) == (vector is None):
        raise TapeError(f"cassette {path}: call {index} needs a `key` and `text` or `vector`")
    try:
        decoded = decode_vector(str(vector)) if vector is not None else None
    except ValueError as error:
        raise TapeError(f"cassette {path}: call {index}: bad `vector`: {error}") from error
    model, test_case = item.get("model"), item.get("test_case")
    return TapeCall(
        kind=str(item["kind"]),
        key=key,
        about=str(item.get("about") or ""),
        text=None if text is None else str(text),
        vector=decoded,
        model=str(model) if model else None,
        test_case=str(test_case) if test_case else None,
    )
