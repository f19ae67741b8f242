"""User requests and the flow each one wants, for measuring flow ranking.

One request per e2e test case: its first user message (a typed `/command` is skipped)
and the flow that message starts. Where the project is in the understanding corpus
(`understanding_corpus/corpus.yml`: Rasa's project templates, `ferry`, `library`), the
flow is the `start flow` of the message's label. For the repository's other projects
(sample_project, the fixture projects with e2e tests) it is read from the test itself:
the first `flow_started` assertion naming one of the project's own flows, or else the one
flow that can say every response (`utter:` steps, `bot:` texts matched to the domain's
responses) the test expects before the next user message. Test cases whose first message
starts no flow, or where neither tells which, are left out and counted. A request written
the same way in several test cases counts once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from offline_accuracy import corpus_projects as labelled_projects

from workbench.project.model import Project, TestCase
from workbench.understanding.cassette import load_cassette

START_FLOW = re.compile(r"^\s*start flow (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Request:
    project: str
    text: str
    flow: str


def corpus_projects(root: Path, templates: Path) -> list[tuple[str, Path, Path | None]]:
    """(name, folder, labels file or None) of every project with requests: the labelled
    corpus (its templates only when `templates` is there), then this repository's own."""
    projects: list[tuple[str, Path, Path | None]] = [
        (name, folder, labels)
        for name, folder, labels in labelled_projects(templates)
        if folder.is_dir()
    ]
    projects.append(("sample_project", root / "sample_project", None))
    for folder in sorted((root / "tests" / "fixtures").iterdir()):
        if (folder / "e2e_tests").is_dir() and (folder / "config.yml").is_file():
            projects.append((f"fixture {folder.name}", folder, None))
    return projects


def project_requests(
    project: Project, name: str, labels: Path | None = None
) -> tuple[list[Request], int]:
    """(the project's requests, how many test cases gave none)."""
    user_flows = {f.id for f in project.user_flows if not f.is_link_only}
    if labels is not None:
        wanted = _labelled(labels, user_flows)
    else:
        speakers = _speakers(project)
        wanted = [_from_test(project, case, user_flows, speakers) for _, case in project.test_cases]
    found: dict[tuple[str, str], Request] = {}
    for pair in wanted:
        if pair is not None:
            text, flow = pair
            found.setdefault((text.lower(), flow), Request(name, text, flow))
    return list(found.values()), sum(pair is None for pair in wanted)


def _labelled(labels: Path, user_flows: set[str]) -> list[tuple[str, str] | None]:
    """The first labelled message of each test case and the flow its label starts."""
    first: dict[str | None, tuple[str, str] | None] = {}
    for entry in load_cassette(labels):
        if entry.test_case in first:
            continue
        started = [f for f in START_FLOW.findall(entry.completion) if f in user_flows]
        first[entry.test_case] = (entry.user, started[0]) if started else None
    return list(first.values())


def _from_test(
    project: Project, case: TestCase, user_flows: set[str], speakers: dict[str, set[str]]
) -> tuple[str, str] | None:
    steps = list(case.steps)
    for index, step in enumerate(steps):
        if step.kind != "user" or not isinstance(step.value, str):
            continue
        text = step.value.strip()
        if not text or text.startswith("/"):
            continue
        for assertion in step.assertions:
            started = assertion.get("flow_started")
            if isinstance(started, str) and started in user_flows:
                return text, started
        candidates = set(user_flows)
        for later in steps[index + 1 :]:
            if later.kind == "user":
                break
            if later.kind == "utter" and isinstance(later.value, str):
                candidates &= speakers.get(later.value, candidates)
            elif later.kind == "bot" and isinstance(later.value, str):
                said = _response_of(project, later.value)
                if said is not None:
                    candidates &= speakers.get(said, candidates)
        return (text, next(iter(candidates))) if len(candidates) == 1 else None
    return None


def _response_of(project: Project, text: str) -> str | None:
    """The response whose text this is, its `{slot}` placeholders taken as anything."""
    for name, response in project.domain.responses.items():
        for variation in response.variations:
            if variation.text and re.fullmatch(
                re.sub(r"\\\{[^}]*\\\}", ".*", re.escape(variation.text.strip())), text.strip()
            ):
                return name
    return None


def _speakers(project: Project) -> dict[str, set[str]]:
    """Response name -> the user flows that say it in one of their steps (a response of
    a flow they `call` or `link` to is not followed: the started flow is wanted)."""
    speakers: dict[str, set[str]] = {}
    for flow in project.user_flows:
        for step in flow.steps:
            if step.kind == "action" and step.action and step.action.startswith("utter_"):
                speakers.setdefault(step.action, set()).add(flow.id)
            elif step.kind == "collect" and step.collect:
                speakers.setdefault(step.ask_utter, set()).add(flow.id)
    return speakers
