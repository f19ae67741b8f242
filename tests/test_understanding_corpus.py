"""The fixture projects of the offline generator's accuracy corpus
(benchmarks/understanding_corpus/projects): their e2e tests pass when replayed with
their labels, so every label is a command set that leads where the test expects, and
every user turn that reaches a generator has exactly one label."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from workbench.project.loader import load_project
from workbench.testing.runner import E2ERunner
from workbench.understanding.cassette import CassetteGenerator, load_cassette

PROJECTS = (
    Path(__file__).resolve().parent.parent / "benchmarks" / "understanding_corpus" / "projects"
)


@pytest.mark.parametrize("name", ["ferry", "library"])
def test_the_e2e_tests_pass_with_the_labels(name):
    root = PROJECTS / name
    project = load_project(root).project
    labels = root / "labels.yml"
    run = asyncio.run(E2ERunner(project, CassetteGenerator(labels)).run(project.test_cases))
    assert not run.failed, [f.failure for f in run.failed]
    assert len(run.passed) == len(project.test_cases)
    user_turns = sum(
        1
        for _file, case in project.test_cases
        for step in case.steps
        if step.kind == "user" and not str(step.value).startswith("/")
    )
    assert len(load_cassette(labels)) == user_turns
