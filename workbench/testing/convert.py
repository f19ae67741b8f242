"""Conversation sheets → e2e test cases (`calm-tui data convert e2e`), as Rasa's converter.

Each conversation of a sheet (`sheets.py`) is shown to a model with the project's
response names, in the workbench's own short prompt (`templates/convert_e2e.jinja2`),
and the model writes the YAML of one test case. The call goes through the tape (kind
`convert_e2e`), so a conversion recorded with `--record` replays from its cassette with
no model. Without a model a rule-based conversion handles sheets that already have a
`user` and a `bot` column: each row gives a `user` step and an `utter` step (a bot text
that is a response's text) or a `bot` step.

Whatever wrote it, a test case is kept only when the e2e loader (`project/e2e.py`) reads
it without errors and every `utter` names a response of the domain; the others are
rejected with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from textwrap import dedent
from typing import Literal

from workbench.calm.values import JSONObject
from workbench.project.e2e import build_test_file, is_test_file
from workbench.project.issues import IssueList
from workbench.project.model import Project
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml
from workbench.testing.export import dump_yaml, free_path, slug
from workbench.testing.sheets import Conversation
from workbench.understanding import llm
from workbench.understanding.models import ModelSpec
from workbench.understanding.tape import ModelTape

TAPE_KIND = "convert_e2e"
DEFAULT_OUT_DIR = Path("e2e_tests") / "converted"
USER_COLUMNS = ("user", "user message", "user_message", "customer")
BOT_COLUMNS = ("bot", "bot message", "bot_message", "assistant", "agent")
Source = Literal["model", "rules"]


@dataclass(frozen=True)
class Converted:
    """One conversation's test case: its YAML when it passed the checks, else why not."""

    conversation: Conversation
    source: Source
    text: str | None = None
    problem: str | None = None


# --- the prompt ---------------------------------------------------------------------------


def convert_prompt(conversation: Conversation, project: Project) -> str:
    from jinja2.sandbox import SandboxedEnvironment

    source = (resources.files("workbench.testing") / "templates" / "convert_e2e.jinja2").read_text(
        "utf-8"
    )
    template = SandboxedEnvironment(autoescape=False).from_string(source)
    return template.render(
        name=case_name(conversation),
        # the project's own responses: Rasa's defaults would triple the prompt's length
        responses=response_texts(project, defaults=False),
        rows=conversation.rows,
    )


def case_name(conversation: Conversation) -> str:
    """`<sheet>_<conversation>`: unique across the sheets converted into one folder."""
    sheet = slug(conversation.sheet.split("[")[0].rsplit(".", 1)[0], fallback="sheet")
    return f"{sheet}_{slug(conversation.name, fallback='conversation')}"


def response_texts(project: Project, defaults: bool = True) -> list[tuple[str, str]]:
    """(name, first text) of each response the domain has, Rasa's defaults last."""
    responses = sorted(
        (r for r in project.domain.responses.values() if defaults or not r.is_default),
        key=lambda r: (r.is_default, r.name),
    )
    return [
        (r.name, " ".join((next((v.text for v in r.variations if v.text), "") or "").split()))
        for r in responses
    ]


def strip_fences(text: str) -> str:
    """The model's reply without a Markdown code fence around it."""
    return re.sub(r"^```.*\n|```\s*$", "", dedent(text), flags=re.MULTILINE).strip()


# --- converting ---------------------------------------------------------------------------


async def convert_with_model(
    conversation: Conversation, project: Project, tape: ModelTape, model: ModelSpec
) -> Converted:
    prompt = convert_prompt(conversation, project)
    about = f"{conversation.sheet}: {conversation.name}"
    try:
        completion = await tape.complete(
            TAPE_KIND, model, prompt, lambda: llm.complete(model, prompt), about=about
        )
    except Exception as error:  # a failed call rejects this conversation, not the run
        return Converted(conversation, "model", problem=f"the model call failed: {error}")
    return checked(conversation, strip_fences(completion.text), project, "model")


def convert_with_rules(conversation: Conversation, project: Project) -> Converted:
    """A `user` and a `bot` column (any case) become `user` and `utter`/`bot` steps."""
    columns = {column.lower(): column for column in conversation.columns}
    user = next((columns[c] for c in USER_COLUMNS if c in columns), None)
    bot = next((columns[c] for c in BOT_COLUMNS if c in columns), None)
    if user is None or bot is None:
        return Converted(
            conversation,
            "rules",
            problem="without a model only sheets with a `user` and a `bot` column are "
            f"converted (columns: {', '.join(conversation.columns)}); give --model",
        )
    patterns = [(_text_pattern(text), name) for name, text in response_texts(project) if text]
    steps: list[JSONObject] = []
    for row in conversation.rows:
        cells = dict(row)
        if cells.get(user):
            steps.append({"user": cells[user]})
        said = cells.get(bot)
        if said:
            name = next((n for p, n in patterns if p.fullmatch(" ".join(said.split()))), None)
            steps.append({"utter": name} if name else {"bot": said})
    case = {"test_case": case_name(conversation), "steps": steps}
    return checked(conversation, dump_yaml({"test_cases": [case]}), project, "rules")


def _text_pattern(text: str) -> re.Pattern[str]:
    """A response's text as a pattern: `{slot}` (and a Jinja `{{ x }}`, `{% ... %}`)
    matches any filled-in value."""
    parts = re.split(r"\{\{.*?\}\}|\{%.*?%\}|\{[^{}]*\}", text)
    return re.compile(".+?".join(re.escape(part) for part in parts), re.IGNORECASE)


def checked(conversation: Conversation, text: str, project: Project, source: Source) -> Converted:
    """`text` kept when it is one e2e test case the loader accepts, else rejected."""
    problem = test_case_problem(text, project)
    if problem is not None:
        return Converted(conversation, source, problem=problem)
    return Converted(conversation, source, text=text if text.endswith("\n") else text + "\n")


def test_case_problem(text: str, project: Project) -> str | None:
    file = "<converted>"
    try:
        data = parse_yaml(text, file)
    except YamlSyntaxError as error:
        return f"not YAML: {error}"
    if not is_test_file(data):
        return "no `test_cases` in the YAML"
    issues = IssueList()
    test_file = build_test_file(file, data, issues)
    if issues.errors:
        return "; ".join(f"line {i.line}: {i.message}" for i in issues.errors)
    if len(test_file.test_cases) != 1:
        return f"{len(test_file.test_cases)} test cases instead of one"
    steps = test_file.test_cases[0].steps
    if not any(step.kind == "user" for step in steps):
        return "no `user` step"
    unknown = [str(s.value) for s in steps if s.kind == "utter" and s.value not in _names(project)]
    if unknown:
        return "`utter` names no response of the domain: " + ", ".join(unknown)
    return None


def _names(project: Project) -> set[str]:
    return set(project.domain.responses)


# --- files --------------------------------------------------------------------------------


def write_converted(results: Iterable[Converted], out_dir: Path) -> list[Path]:
    """A file per converted conversation in `out_dir`, named after the sheet and the
    conversation; an existing file is never overwritten (`-2`, `-3`, ... are added)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        if result.text is None:
            continue
        sheet = result.conversation.sheet
        path = free_path(out_dir, case_name(result.conversation))
        header = (
            f"# Converted by calm-tui from {sheet}, row {result.conversation.first_row} "
            f"({'a model' if result.source == 'model' else 'the user/bot columns'}).\n"
        )
        with open(path, "x", encoding="utf-8", newline="\n") as stream:
            stream.write(header + result.text)
        written.append(path)
    return written
