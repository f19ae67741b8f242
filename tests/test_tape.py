"""The model-call tape: knowledge answers, rephrasing, judges and embeddings recorded into
the cassette and replayed from it, keyed by their input, with no secret in the file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from workbench.store.redact import Scrubber
from workbench.understanding.cassette import CassetteGenerator, RecordingGenerator, load_cassette
from workbench.understanding.llm import Completion
from workbench.understanding.models import ModelSpec
from workbench.understanding.offline.generator import OfflineGenerator
from workbench.understanding.tape import (
    ModelTape,
    TapeError,
    TapeMiss,
    decode_vector,
    encode_vector,
    load_calls,
)

MODEL = ModelSpec("openai/gpt-test")


def _answer(text: str, counter: list[str]):
    async def call() -> Completion:
        counter.append(text)
        return Completion(text, MODEL.model, latency_ms=12.0, prompt_tokens=5)

    return call


def test_recorded_calls_replay_from_the_cassette_file(tmp_path: Path) -> None:
    path = tmp_path / "run.cassette.yml"
    recorder = RecordingGenerator(OfflineGenerator(), path)
    made: list[str] = []

    async def record() -> None:
        tape = recorder.tape
        await tape.complete("search_answer", MODEL, "Q: fees?", _answer("0.5% markup", made))
        await tape.complete("rephrase", MODEL, "Say hi nicely", _answer("Hello there!", made))
        # the same prompt again is answered by the model but recorded once
        await tape.complete("search_answer", MODEL, "Q: fees?", _answer("other", made))

        async def vectors(texts: list[str]) -> list[list[float]]:
            return [[float(len(t)), 0.5] for t in texts]

        await tape.embed(MODEL, ["alpha", "beta"], vectors)

    asyncio.run(record())
    assert made == ["0.5% markup", "Hello there!", "other"]
    assert load_cassette(path) == []  # no command entries were made
    assert [c.kind for c in load_calls(path)] == [
        "search_answer",
        "rephrase",
        "embedding",
        "embedding",
    ]

    replay = CassetteGenerator(path).tape
    never: list[str] = []

    async def play() -> tuple[str, str, list[list[float]]]:
        first = await replay.complete("search_answer", MODEL, "Q: fees?", _answer("x", never))
        second = await replay.complete("rephrase", MODEL, "Say hi nicely", _answer("x", never))

        async def no_model(texts: list[str]) -> list[list[float]]:
            raise AssertionError(f"embedded {texts} in replay")

        return first.text, second.text, await replay.embed(MODEL, ["beta", "alpha"], no_model)

    first, second, embedded = asyncio.run(play())
    assert (first, second) == ("0.5% markup", "Hello there!")
    assert embedded == [[4.0, 0.5], [5.0, 0.5]]
    assert never == []


def test_a_changed_input_is_a_miss_that_names_it(tmp_path: Path) -> None:
    tape = ModelTape("replay", [], tmp_path / "c.yml")
    with pytest.raises(TapeMiss, match="search answer call for 'Q: what changed'"):
        asyncio.run(tape.complete("search_answer", MODEL, "Q: what changed", _answer("x", [])))

    async def embed() -> list[list[float]]:
        async def call(texts: list[str]) -> list[list[float]]:
            return [[1.0] for _ in texts]

        return await tape.embed(MODEL, ["new doc"], call)

    with pytest.raises(TapeMiss, match="embedding"):
        asyncio.run(embed())


def test_live_mode_only_calls_the_model() -> None:
    tape = ModelTape()
    made: list[str] = []
    result = asyncio.run(tape.complete("judge", MODEL, "p", _answer("yes", made)))
    assert result.text == "yes" and result.latency_ms == 12.0
    assert tape.calls == [] and made == ["yes"]


def test_no_secret_reaches_the_file_not_even_in_a_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.cassette.yml"
    scrubber = Scrubber.for_project(None)
    scrubber.learn("4111111111111111")
    recorder = RecordingGenerator(OfflineGenerator(), path, scrub=scrubber.scrub)
    prompt = "The card 4111111111111111 was blocked. Rephrase."
    asyncio.run(
        recorder.tape.complete("rephrase", MODEL, prompt, _answer("Card 4111111111111111", []))
    )
    text = path.read_text(encoding="utf-8")
    assert "4111111111111111" not in text
    # replaying with the same scrubber finds the call by the masked prompt
    replay = ModelTape("replay", load_calls(path), path, scrub=scrubber.text)
    reply = asyncio.run(replay.complete("rephrase", MODEL, prompt, _answer("x", [])))
    assert "4111111111111111" not in reply.text


def test_vectors_survive_the_round_trip_and_bad_calls_are_clear(tmp_path: Path) -> None:
    assert decode_vector(encode_vector([0.25, -1.5, 3.0])) == (0.25, -1.5, 3.0)
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nentries: []\ncalls:\n  - kind: embedding\n    key: k\n")
    with pytest.raises(TapeError, match="call 1 needs a `key` and `text` or `vector`"):
        load_calls(bad)
    bad.write_text("version: 1\ncalls:\n  - {kind: embedding, key: k, vector: '!!'}\n")
    with pytest.raises(TapeError, match="bad `vector`"):
        load_calls(bad)
    bad.write_text("version: 1\ncalls: 3\n")
    with pytest.raises(TapeError, match="must be a list"):
        load_calls(bad)


def test_a_call_is_described_by_what_it_is_about_not_by_the_prompt_head(tmp_path: Path) -> None:
    # a project's rephrase template starts every prompt with the same instructions: the
    # cassette (and a replay miss) must name the response rephrased instead
    path = tmp_path / "run.cassette.yml"
    recorder = RecordingGenerator(OfflineGenerator(), path)
    template_head = "# SYSTEM RULES\nYou rephrase.\n" * 5
    prompt = f"{template_head}SUGGESTED: Is there anything else?"
    asyncio.run(
        recorder.tape.complete(
            "rephrase",
            MODEL,
            prompt,
            _answer("Anything else?", []),
            about="Is there anything else?",
        )
    )
    assert [c.about for c in load_calls(path)] == ["Is there anything else?"]
    replay = ModelTape("replay", [], path)
    with pytest.raises(TapeMiss, match="rephrase call for 'Hello'"):
        asyncio.run(
            replay.complete("rephrase", MODEL, prompt + "!", _answer("x", []), about="Hello")
        )


def test_judge_and_flow_embeddings_are_told_apart_from_the_documents(tmp_path: Path) -> None:
    """A replayed conversation ranks its documents by embeddings only if the recording
    embedded documents: the judge's and flow retrieval's embeddings of the same model
    say what they were for, so they do not count."""
    from tests.test_knowledge_answers import copy_fixture
    from workbench.knowledge.service import KnowledgeService
    from workbench.project.loader import load_project

    project = load_project(copy_fixture(tmp_path)).project
    settings = project.config.search
    assert settings is not None
    recording = ModelTape("record")

    async def vectors(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    from workbench.understanding.models import resolve_model

    spec = resolve_model(project, settings.embeddings)
    asyncio.run(recording.embed(spec, ["the answer"], vectors, purpose="judge"))
    asyncio.run(recording.embed(spec, ["start a transfer"], vectors, purpose="flow retrieval"))
    assert [c.about.split(" ")[0] for c in recording.calls] == ["judge", "flow"]

    replaying = KnowledgeService(ModelTape("replay", list(recording.calls)))
    assert replaying._embedder(project, settings) == (None, "bm25")

    asyncio.run(recording.embed(spec, ["Q: fees? A: 0.5%"], vectors))
    replaying = KnowledgeService(ModelTape("replay", list(recording.calls)))
    embedder, model_id = replaying._embedder(project, settings)
    assert embedder is not None and model_id == spec.model
