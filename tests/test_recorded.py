"""The one replayer of recorded model output, and generator failures as typed records."""

from __future__ import annotations

import asyncio

import pytest

from workbench.calm.commands import StartFlow
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.understanding.base import GeneratorFailure, GeneratorOutput, generator_failure
from workbench.understanding.recorded import (
    RecordedFailure,
    RecordedOutputGenerator,
    Recording,
)


class Missing(LookupError):
    pass


def miss(message, used, total, test_case):
    return Missing(f"{message}: {used}/{total} ({test_case})")


@pytest.fixture
def project(make_project):
    return load_project(make_project()).project


def generate(generator, project, message):
    return asyncio.run(generator.generate(message, None, project))


def test_recordings_answer_in_order_then_miss(project):
    generator = RecordedOutputGenerator(
        [Recording("hi", "start flow greet"), Recording("hi", "start flow second")], miss=miss
    )
    assert generate(generator, project, " hi ").commands == [StartFlow("greet")]
    assert generate(generator, project, "hi").commands == [StartFlow("second")]
    with pytest.raises(Missing, match=r"hi: 2/2 \(None\)"):
        generate(generator, project, "hi")
    generator.rewind()
    assert generate(generator, project, "hi").commands == [StartFlow("greet")]


def test_test_case_recordings_come_first_and_only_in_their_case(project):
    generator = RecordedOutputGenerator(
        [
            Recording("hi", "start flow second"),
            Recording("hi", "start flow greet", test_case="f.yml::one"),
        ],
        miss=miss,
    )
    generator.begin_test_case("one", "tests/f.yml")
    assert generate(generator, project, "hi").commands == [StartFlow("greet")]
    generator.begin_test_case("two", "tests/f.yml")
    assert generate(generator, project, "hi").commands == [StartFlow("second")]
    with pytest.raises(Missing, match=r"\(two\)"):
        generate(generator, project, "hi")


def test_a_recorded_failure_fails_again_and_a_fallback_answers_misses(project):
    class Fallback:
        name = "live"

        async def generate(self, message, tracker, project):
            return GeneratorOutput([StartFlow("greet")])

    generator = RecordedOutputGenerator(
        [Recording("hi", None, failure="TimeoutError('late')")], miss=miss, fallback=Fallback()
    )
    with pytest.raises(RecordedFailure, match="late"):
        generate(generator, project, "hi")
    assert generate(generator, project, "other").commands == [StartFlow("greet")]


def test_a_generator_failure_is_a_typed_record_with_the_same_text(project):
    class Broken:
        name = "broken"

        async def generate(self, message, tracker, project):
            raise ValueError("no model")

    session = Session(project, Broken(), sender_id="c")
    trace = asyncio.run(session.handle("hello"))
    failure = generator_failure(trace.errors)
    assert failure == GeneratorFailure("ValueError('no model')")
    assert failure.text == "command generator failed: ValueError('no model')"
    assert failure.text in trace.errors
    assert GeneratorFailure.from_text("something else") is None
