"""Problems found while loading or validating a project, each pointing at file:line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Issue:
    file: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def location(self) -> str:
        if not self.line:
            return self.file
        if self.column:
            return f"{self.file}:{self.line}:{self.column}"
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class IssueList(list[Issue]):
    """Issues in the order found, with helpers to add them tersely."""

    def error(
        self, file: str, line: int, code: str, message: str, hint: str = "", column: int = 0
    ) -> None:
        self.append(Issue(file, line, column, "error", code, message, hint))

    def warning(
        self, file: str, line: int, code: str, message: str, hint: str = "", column: int = 0
    ) -> None:
        self.append(Issue(file, line, column, "warning", code, message, hint))

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self if issue.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self if not issue.is_error]


def suggest(word: str, choices: Iterable[str], fallback: str) -> str:
    """A fix hint: the closest known name ("did you mean 'x'?"), else `fallback`."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"did you mean '{close[0]}'?" if close else fallback
