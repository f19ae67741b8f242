"""User requests and the flow each one wants, for measuring flow ranking.

Taken from e2e tests as they are written: the first user message of each test case (a
typed `/command` is skipped) and the flow it starts, read from the test itself: the
first `flow_started` assertion naming one of the project's own flows, or else the first
bot response that follows the message, when exactly one flow can say it (as an
`action: utter_...` step or a collect step's question). Test cases where neither tells
are left out and counted. A request written the same way in several test cases counts
once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workbench.project.model import Project, TestCase


@dataclass(frozen=True)
class Request:
    project: str
    text: str
    flow: str
    source: str  # "assertion" or "response"


def project_requests(project: Project, name: str) -> tuple[list[Request], int]:
    """(the labelled requests of the project's test cases, how many cases had none)."""
    user_flows = {f.id for f in project.user_flows if not f.is_link_only}
    speakers = _speakers(project)
    found: dict[tuple[str, str], Request] = {}
    unlabelled = 0
    for _, case in project.test_cases:
        request = _first_request(project, case, user_flows, speakers, name)
        if request is None:
            unlabelled += 1
        else:
            found.setdefault((request.text.lower(), request.flow), request)
    return list(found.values()), unlabelled


def _first_request(
    project: Project, case: TestCase, user_flows: set[str], speakers: dict[str, set[str]], name: str
) -> Request | None:
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
                return Request(name, text, started, "assertion")
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
        if len(candidates) == 1:
            return Request(name, text, next(iter(candidates)), "response")
        return None
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


def corpus_projects(root: Path, templates: Path) -> list[tuple[str, Path]]:
    """Rasa's project templates that have e2e tests, then the repository's own projects."""
    projects = (
        [
            (f"template {folder.name}", folder)
            for folder in sorted(templates.iterdir())
            if (folder / "tests").is_dir() or (folder / "e2e_tests").is_dir()
        ]
        if templates.is_dir()
        else []
    )
    projects.append(("sample_project", root / "sample_project"))
    for folder in sorted((root / "tests" / "fixtures").iterdir()):
        if (folder / "e2e_tests").is_dir() and (folder / "config.yml").is_file():
            projects.append((f"fixture {folder.name}", folder))
    return projects
