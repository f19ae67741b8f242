"""Conversation sheets (CSV, XLSX) as `calm-tui data convert e2e` reads them.

Free-form, as Rasa's converter takes them: the first row names the columns, each further
row is one line of a conversation, and conversations are told apart by an empty row or,
when the sheet has one, by a test case / conversation id column (rows with the same id
belong together, wherever they are). Every cell is read as text; empty cells are left out
of a row. XLSX needs openpyxl (the `sheets` extra); CSV needs nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import UsageError, WorkbenchError

SHEETS_EXTRA = "calm-workbench[sheets]"
CSV_SUFFIXES = (".csv", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# a column that names the conversation a row belongs to (compared without case and
# punctuation): `test_case`, `Conversation ID`, `conversation-id`, ...
ID_COLUMNS = frozenset({"testcase", "testcaseid", "conversation", "conversationid", "testid"})


class SheetError(WorkbenchError, ValueError):
    """The sheet cannot be read."""


@dataclass(frozen=True)
class Conversation:
    """One conversation of a sheet: its rows (column → text), and where it came from."""

    name: str
    rows: tuple[tuple[tuple[str, str], ...], ...]
    sheet: str  # the file, and for a workbook its worksheet
    first_row: int  # 1-based, as a spreadsheet numbers it

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update((name, None) for name, _ in row)
        return list(seen)


def read_conversations(path: Path, sheet: str | None = None) -> list[Conversation]:
    """The conversations of a CSV file or of a workbook's worksheets (`sheet`: only that
    one). Raises `SheetError` (unreadable) or `UsageError` (unknown type, missing extra)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return conversations(_csv_rows(path), path.name)
    if suffix in XLSX_SUFFIXES:
        return [
            conversation
            for name, rows in _xlsx_sheets(path, sheet)
            for conversation in conversations(rows, f"{path.name}[{name}]")
        ]
    raise UsageError(f"{path}: not a conversation sheet (.csv or .xlsx expected)")


def conversations(table: list[list[str]], sheet: str) -> list[Conversation]:
    """A table (header row first) split into conversations."""
    if not table:
        return []
    header = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(table[0])]
    id_column = next((h for h in header if _folded(h) in ID_COLUMNS), None)
    groups: dict[str, list[tuple[int, tuple[tuple[str, str], ...]]]] = {}
    current = 0
    for number, cells in enumerate(table[1:], start=2):
        row = tuple(
            (name, cell.strip()) for name, cell in zip(header, cells, strict=False) if cell.strip()
        )
        if not row:
            current += 1  # an empty row ends a conversation
            continue
        values = dict(row)
        key = values.get(id_column, "") if id_column else ""
        key = key or f"#{current}"
        kept = tuple(item for item in row if item[0] != id_column)
        if kept:
            groups.setdefault(key, []).append((number, kept))
    result = []
    for index, (key, rows) in enumerate(groups.items(), start=1):
        name = key if not key.startswith("#") else f"conversation {index}"
        result.append(Conversation(name, tuple(r for _, r in rows), sheet, rows[0][0]))
    return result


def _folded(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SheetError(f"cannot read {path}: {error}") from error
    try:
        # Rasa's converter guesses the separator too (`sep=None`)
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as error:
        raise SheetError(f"{path}: {error}") from error


def _xlsx_sheets(path: Path, only: str | None) -> list[tuple[str, list[list[str]]]]:
    try:
        import openpyxl
    except ImportError:
        raise UsageError(
            f"{path.name}: reading .xlsx needs openpyxl: pip install '{SHEETS_EXTRA}' "
            "(or save the sheet as CSV)"
        ) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise SheetError(f"cannot read {path}: {error}") from error
    try:
        names = list(book.sheetnames)
        if only is not None and only not in names:
            raise UsageError(f"{path.name} has no sheet '{only}' (sheets: {', '.join(names)})")
        return [
            (name, [[_cell(v) for v in row] for row in book[name].iter_rows(values_only=True)])
            for name in names
            if only is None or name == only
        ]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
