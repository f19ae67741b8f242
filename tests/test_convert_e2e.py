"""`calm-tui data convert e2e`: conversation sheets (CSV, XLSX) → e2e test files, written
by a model (a fake OpenAI-compatible server, then its cassette replayed) or, without one,
from the sheet's user/bot columns; only test cases the e2e loader accepts are written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from workbench.cli.main import main
from workbench.project.loader import load_project

CSV_SHEET = """\
user,bot
please greet me,What is your name?
Ann,Hello Ann!

hi there,I only greet people.
"""

# rows of two conversations, interleaved, told apart by their id column
CSV_WITH_IDS = """\
Conversation ID;User;Bot
c1;please greet me;What is your name?
c2;hello;What is your name?
c1;Ann;Hello Ann!
c2;Bob;Hello Bob!
"""

MODEL_YAML = """\
```yaml
test_cases:
  - test_case: free_form_greeting
    steps:
      - user: "greet me please"
      - utter: utter_ask_name
      - user: "Ann"
      - utter: utter_greet
```"""

# names a response the domain does not have: rejected
BAD_MODEL_YAML = """\
test_cases:
  - test_case: free_form_goodbye
    steps:
      - user: "bye"
      - utter: utter_goodbye
"""

FREE_FORM_SHEET = """\
speaker,message
customer,greet me please
assistant,What is your name?
customer,Ann
assistant,Hello Ann!

customer,bye
assistant,Goodbye!
"""


@pytest.fixture
def project(make_project) -> Path:
    """The minimal project: responses utter_ask_name and utter_greet ("Hello {name}!")."""
    return make_project(name="greeter")


def with_model_group(root: Path, url: str) -> None:
    (root / "endpoints.yml").write_text(
        "model_groups:\n"
        "  - id: converter\n"
        "    models:\n"
        "      - provider: openai\n"
        "        model: fake-converter\n"
        f"        api_base: {url}\n",
        encoding="utf-8",
    )


def convert(*args: object) -> int:
    return main(["data", "convert", "e2e", *map(str, args)])


def converted(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yml"))}


def loads_as_tests(root: Path) -> list[str]:
    """The test case names the project loader reads from the written files."""
    result = load_project(root)
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    return sorted(case.name for f in result.project.test_files for case in f.test_cases)


def test_user_and_bot_columns_convert_without_a_model(project, tmp_path, capsys):
    sheet = tmp_path / "talks.csv"
    sheet.write_text(CSV_SHEET, encoding="utf-8")

    code = convert(sheet, project, "--offline")

    assert code == 0
    files = converted(project / "e2e_tests" / "converted")
    assert list(files) == ["talks_conversation_1.yml", "talks_conversation_2.yml"]
    # a bot text that is a response's text (its slot filled in) becomes an `utter` step
    assert files["talks_conversation_1.yml"].splitlines()[1:] == [
        "test_cases:",
        "  - test_case: talks_conversation_1",
        "    steps:",
        "      - user: please greet me",
        "      - utter: utter_ask_name",
        "      - user: Ann",
        "      - utter: utter_greet",
    ]
    assert "      - bot: I only greet people." in files["talks_conversation_2.yml"]
    assert files["talks_conversation_2.yml"].startswith(
        "# Converted by calm-tui from talks.csv, row 5"
    )
    assert loads_as_tests(project) == ["talks_conversation_1", "talks_conversation_2"]
    out = capsys.readouterr().out
    assert "offline: rule-based (user/bot columns)" in out
    assert "2 written, 0 rejected" in out


def test_an_id_column_groups_rows_and_the_output_folder_can_be_chosen(project, tmp_path):
    sheet = tmp_path / "by_id.csv"
    sheet.write_text(CSV_WITH_IDS, encoding="utf-8")
    out_dir = tmp_path / "out"

    code = convert(sheet, project, "-o", str(out_dir))

    # no model configured: the rules convert it, and say so
    assert code == 0
    files = converted(out_dir)
    assert list(files) == ["by_id_c1.yml", "by_id_c2.yml"]
    assert (
        "- user: hello\n      - utter: utter_ask_name\n      - user: Bob" in files["by_id_c2.yml"]
    )
    assert "test_case: by_id_c1" in files["by_id_c1.yml"]


def test_a_sheet_without_user_and_bot_columns_needs_a_model(project, tmp_path, capsys):
    sheet = tmp_path / "free.csv"
    sheet.write_text(FREE_FORM_SHEET, encoding="utf-8")

    code = convert(sheet, project, "--offline")

    assert code == 1
    assert not (project / "e2e_tests" / "converted").exists() or not converted(
        project / "e2e_tests" / "converted"
    )
    out = capsys.readouterr().out
    assert "rejected free.csv row 2 (conversation 1): without a model only sheets" in out
    assert "0 written, 2 rejected" in out


def test_a_model_writes_the_tests_and_its_cassette_replays_them(project, tmp_path, capsys):
    sheet = tmp_path / "free.csv"
    sheet.write_text(FREE_FORM_SHEET, encoding="utf-8")
    cassette = tmp_path / "convert.cassette.yml"
    with FakeLLM() as server:
        with_model_group(project, server.url)
        server.queue(text=MODEL_YAML).queue(text=BAD_MODEL_YAML)
        code = convert(sheet, project, "--model", "converter", "--record", str(cassette))
        prompts = [r["body"]["messages"][-1]["content"] for r in server.chat_requests()]
    assert code == 1  # the second conversation was rejected
    out = capsys.readouterr().out
    assert "model openai/fake-converter" in out
    assert (
        "rejected free.csv row 7 (conversation 2): `utter` names no response of the "
        "domain: utter_goodbye" in out
    )
    folder = project / "e2e_tests" / "converted"
    recorded = converted(folder)
    assert list(recorded) == ["free_conversation_1.yml"]
    assert "  - test_case: free_form_greeting\n" in recorded["free_conversation_1.yml"]
    assert "```" not in recorded["free_conversation_1.yml"]
    # the prompt offers the responses and the rows of one conversation
    assert len(prompts) == 2
    assert "- utter_greet: Hello {name}!" in prompts[0]
    assert "utter_ask_rephrase" not in prompts[0]  # Rasa's defaults are left out
    assert "- speaker: customer | message: greet me please" in prompts[0]
    assert "bye" not in prompts[0] and "customer | message: bye" in prompts[1]
    text = cassette.read_text(encoding="utf-8")
    assert text.count("kind: convert_e2e") == 2

    # replayed: no server, same answers
    for path in folder.glob("*.yml"):
        path.unlink()
    code = convert(sheet, project, "--cassette", str(cassette))
    assert code == 1
    assert converted(folder) == recorded
    assert "replaying" in capsys.readouterr().out


def test_a_cassette_without_the_call_rejects_the_conversation(project, tmp_path, capsys):
    sheet = tmp_path / "free.csv"
    sheet.write_text(FREE_FORM_SHEET, encoding="utf-8")
    cassette = tmp_path / "empty.cassette.yml"
    cassette.write_text("version: 1\nentries: []\n", encoding="utf-8")

    code = convert(sheet, project, "--cassette", str(cassette))

    assert code == 1
    assert "no recorded convert e2e call" in capsys.readouterr().out


def test_xlsx_sheets_are_read_each_worksheet_or_the_one_named(project, tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")  # the `test` extra installs it
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Greetings"
    for row in (("User", "Bot"), ("please greet me", "What is your name?"), ("Ann", "Hello Ann!")):
        first.append(row)
    second = book.create_sheet("Others")
    for row in (("test_case", "user", "bot"), ("t7", "hi", "What is your name?")):
        second.append(row)
    sheet = tmp_path / "talks.xlsx"
    book.save(sheet)

    code = convert(sheet, project)

    assert code == 0
    files = converted(project / "e2e_tests" / "converted")
    assert list(files) == ["talks_conversation_1.yml", "talks_t7.yml"]
    assert files["talks_conversation_1.yml"].startswith(
        "# Converted by calm-tui from talks.xlsx[Greetings], row 2"
    )
    assert "- utter: utter_greet" in files["talks_conversation_1.yml"]

    out_dir = tmp_path / "only"
    code = convert(sheet, project, "--sheet-name", "Others", "-o", str(out_dir))
    assert code == 0
    assert list(converted(out_dir)) == ["talks_t7.yml"]
    code = convert(sheet, project, "--sheet-name", "Nope")
    assert code == 2
    assert "talks.xlsx has no sheet 'Nope' (sheets: Greetings, Others)" in capsys.readouterr().err


def test_xlsx_without_openpyxl_names_the_extra(project, tmp_path, monkeypatch, capsys):
    sheet = tmp_path / "talks.xlsx"
    sheet.write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed

    code = convert(sheet, project)

    assert code == 2
    assert "pip install 'calm-workbench[sheets]'" in capsys.readouterr().err


def test_other_files_are_refused(project, tmp_path, capsys):
    sheet = tmp_path / "talks.txt"
    sheet.write_text("user,bot\n", encoding="utf-8")
    assert convert(sheet, project) == 2
    assert "not a conversation sheet" in capsys.readouterr().err
