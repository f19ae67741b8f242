"""`calm-tui test --open-failures`: a failed case is kept as a session of the project,
and the workbench opens it read-only with every panel on the turn where it diverged."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import copy_sample, settle, text_of

from workbench.cli.main import main as cli_main
from workbench.store.sessions import SessionStore
from workbench.tui.app import make_app
from workbench.tui.screens.sessions import TranscriptScreen
from workbench.tui.widgets.panels import CommandsPanel

FAILING = """\
test_cases:
  - test_case: a_status_then_a_wrong_goodbye
    steps:
      - user: "where is my order A1001"
      - utter: utter_order_status
      - user: "no, that's all"
      - bot: "Farewell, traveller."
      - user: "/SetSlots(csat_score=satisfied)"
      - bot: "Thank you for your feedback! I'm glad I could help."
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_sample(tmp_path)
    (root / "e2e_tests" / "failing.yml").write_text(FAILING, encoding="utf-8")
    return root


def test_a_failed_case_is_kept_as_a_session_at_its_diverging_turn(project, capsys):
    code = cli_main(["test", str(project), "e2e_tests/failing.yml", "--offline", "--open-failures"])
    assert code == 1
    out = " ".join(capsys.readouterr().out.split())
    with SessionStore(project) as store:
        (summary,) = store.list_sessions()
        turns = store.get_turns(summary.id)
    assert summary.title == "test failed: e2e_tests/failing.yml::a_status_then_a_wrong_goodbye"
    assert f"kept as session {summary.id}" in out
    assert f"calm-tui sessions show {summary.id}" in out
    # the goodbye turn diverged; the conversation went on no further than the test sent
    assert [t.user_text for t in turns][-1] == "no, that's all"
    assert "diverged at its last turn" in out


def test_without_the_option_nothing_is_kept(project):
    assert cli_main(["test", str(project), "e2e_tests/failing.yml", "--offline"]) == 1
    with SessionStore(project) as store:
        assert store.list_sessions() == []


async def test_the_workbench_opens_the_failure_at_its_turn(project):
    import asyncio

    args = ["test", str(project), "e2e_tests/failing.yml", "--offline", "--open-failures"]
    assert await asyncio.to_thread(cli_main, args) == 1
    with SessionStore(project) as store:
        (summary,) = store.list_sessions()
        turns = store.get_turns(summary.id)
    first = 0  # the first turn, to show that the screen opens where it is told
    app = make_app(project, offline=True, greet=False, open_session=(summary.id, first))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for _ in range(50):
            if isinstance(app.screen, TranscriptScreen):
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, TranscriptScreen)
        assert screen.viewing == first
        assert "A1001" in text_of(screen.query_one(CommandsPanel))
        assert turns[first].user_text == "where is my order A1001"
