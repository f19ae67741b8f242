"""Prompt templates as files: the workbench's own (packaged beside the code that uses
them) and a project's `prompt_template`, compiled once per version of the file.

A project's template is compiled as Rasa compiles prompt templates — default whitespace,
undefined names render empty — in a sandbox; the workbench's own are strict (an
undefined name is a bug) and trim their block lines. Every problem is a
`PromptTemplateError` that names the file and, where it can, the line.
"""

from __future__ import annotations

import json
import traceback
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment


class PromptTemplateError(WorkbenchError):
    """A prompt template that cannot be read, parsed or rendered."""


def to_json_escaped_string(value: object) -> str:
    """Rasa's filter: a string JSON-encoded (quotes included), newlines escaped."""
    return json.dumps(value, ensure_ascii=False)


def project_template(
    root: Path, configured: str, what: str = "prompt_template", strict: bool = False
) -> Template:
    """The project's template file `configured` (relative to the project folder);
    `strict`: an undefined name is an error that names it, instead of rendering empty."""
    path = Path(configured)
    if not path.is_absolute():
        path = root / path
    try:
        stat = path.stat()
    except OSError:
        raise PromptTemplateError(
            f"{what} '{configured}' not found (paths are relative to the project folder {root})"
        ) from None
    return _project_template(str(path), stat.st_mtime_ns, stat.st_size, configured, strict)


@lru_cache(maxsize=8)
def packaged_template(package: str, name: str, strict: bool = True) -> Template:
    """One of the workbench's own templates: `<package>/templates/<name>` (`strict`: an
    undefined name is an error)."""
    source = (resources.files(package) / "templates" / name).read_text("utf-8")
    return environment(own=True, strict=strict).from_string(source)


@lru_cache(maxsize=4)
def template_from_text(source: str) -> Template:
    """A template written for Rasa (Rasa's own default, read from its package), compiled
    as Rasa compiles prompt templates."""
    return environment(own=False).from_string(source)


@lru_cache(maxsize=16)
def _project_template(path: str, mtime_ns: int, size: int, name: str, strict: bool) -> Template:
    from jinja2 import TemplateSyntaxError

    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PromptTemplateError(f"{name}: cannot read the prompt template: {error}") from None
    try:
        return environment(own=False, strict=strict).from_string(source)
    except TemplateSyntaxError as error:
        raise PromptTemplateError(f"{name}:{error.lineno}: {error.message}") from None


def environment(own: bool, strict: bool | None = None) -> SandboxedEnvironment:
    """`own`: the workbench's templates (trimmed block lines), else as Rasa compiles
    prompt templates (default whitespace). `strict` (default: `own`): an undefined name
    is an error."""
    from jinja2 import StrictUndefined, Undefined
    from jinja2.sandbox import SandboxedEnvironment

    undefined = StrictUndefined if (own if strict is None else strict) else Undefined
    if own:
        env = SandboxedEnvironment(
            autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=undefined
        )
    else:
        env = SandboxedEnvironment(autoescape=False, undefined=undefined)
    env.filters["to_json_escaped_string"] = to_json_escaped_string
    return env


def render_error(name: str, error: Exception) -> str:
    """`file:line: cannot render the prompt template: …` for an error a render raised."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    where = f"{name}:{line}" if line else name
    detail = str(error) or type(error).__name__
    return f"{where}: cannot render the prompt template: {type(error).__name__}: {detail}"
