"""`calm-tui sessions stats`: figures across a store of local sessions (real conversations
with the sample project and the offline generator) and sessions imported from a Rasa
tracker store (tests/fixtures/tracker_store/events.json, through `sessions import`)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from session_helpers import copy_sample, record
from tracker_store_servers import make_sqlite_store

from workbench.cli.main import main
from workbench.store.sessions import SessionStore
from workbench.store.stats import StatsFilter, conversation_stats

NONEXISTENT = "flow 'nonexistent' does not exist"
# when the local conversations were had: the imported ones are of 2026-11-30 and 12-01
LOCAL_DAY = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The sample project with three local sessions and the four imported ones; the
    session ids by name."""
    root = copy_sample(tmp_path_factory.mktemp("stats"))
    ids = {
        # a question cancelled half-way, then a flow that does not exist
        "cancelled": record(
            root,
            ["/session_start", "where is my order", "/cancel flow", "/start flow nonexistent"],
            at=LOCAL_DAY,
        ),
        # an answer, gibberish, the flow that does not exist again
        "gibberish": record(
            root,
            ["/session_start", "where is my order A1001", "blorp", "/start flow nonexistent"],
            at=LOCAL_DAY.replace(hour=10),
        ),
        "human": record(
            root, ["/session_start", "I want to talk to a human"], at=LOCAL_DAY.replace(hour=11)
        ),
    }
    db = make_sqlite_store(root / "rasa.db")
    code = main(
        ["sessions", "import", str(root), "--tracker-store", f"sqlite:///{db}", "--all-matching"]
    )
    assert code == 0
    with SessionStore(root) as store:
        for sender in ("order-7f3a", "cancel-b2c4", "mars-91d0", "handoff-e5b7"):
            found = store.find_imported(f"sqlite:///{db}", sender)
            assert found is not None, sender
            ids[sender] = found
    return root, ids


def stats_json(capsys, root: Path, *argv: str) -> dict:
    code = main(["sessions", "stats", str(root), "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", "stats", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_figures_of_local_and_imported_sessions(shop, capsys):
    root, ids = shop
    data = stats_json(capsys, root)
    # a turn starts when it ended less its duration
    assert data["totals"].pop("last_turn_at").startswith("2026-12-02T11:00:59.")
    assert data["totals"] == {
        "sessions": 7,
        "local_sessions": 3,
        "imported_sessions": 4,
        # user turns: 3 + 3 + 1 local, 3 + 1 + 1 + 4 imported (greetings are none)
        "turns": 16,
        "first_turn_at": "2026-11-30T00:53:20.000Z",
        # check_order_status 3, talk_to_human 2, cancel_order, check_loyalty_points and
        # the verify_identity it calls
        "flows_started": 8,
        "flows_completed": 6,
        # the local question, and the imported cancellation after its internal error
        "flows_cancelled": 2,
        "dropped_commands": 2,
        "turns_with_dropped": 2,
        "unreadable_turns": 0,
    }
    patterns = data["patterns"]
    assert patterns["internal_error"] == {
        "pattern": "pattern_internal_error",
        "started": 1,
        "sessions": 1,
        "session_rate": round(1 / 7, 4),
        "turns": 1,
        "turn_rate": round(1 / 16, 4),
    }
    assert {name: row["sessions"] for name, row in patterns.items()} == {
        "cancel": 2,  # `/cancel flow`, and Rasa cancelling after the internal error
        "internal_error": 1,
        "cannot_handle": 2,  # the gibberish and the imported question about Mars
        "human_handoff": 2,
    }
    flows = {row["flow"]: row for row in data["flows"]}
    assert list(flows) == [
        "check_order_status",
        "talk_to_human",
        "cancel_order",
        "check_loyalty_points",
        "verify_identity",
    ]
    # cancelled once (Rasa then completes the cancelled flow's run: not counted twice)
    assert flows["check_order_status"] == {
        "flow": "check_order_status",
        "sessions": 3,
        "started": 3,
        "completed": 2,
        "cancelled": 1,
        "interrupted": 0,
        "completion_rate": round(2 / 3, 4),
        "internal_errors": 0,
        "cannot_handle": 0,
        "human_handoffs": 0,
    }
    # the internal error hit the imported cancellation, which Rasa then cancelled (it logs
    # that as the flow's completion, after pattern_cancel_flow); the handoffs followed
    # talk_to_human
    cancel_order = flows["cancel_order"]
    assert (cancel_order["started"], cancel_order["completed"], cancel_order["cancelled"]) == (
        1,
        0,
        1,
    )
    assert cancel_order["internal_errors"] == 1
    assert flows["talk_to_human"]["human_handoffs"] == 2
    assert data["dropped_reasons"] == [
        {
            "reason": NONEXISTENT,
            "count": 2,
            "turns": 2,
            "sessions": 2,
            "examples": [
                {"session_id": ids["cancelled"], "turn": 3},
                {"session_id": ids["gibberish"], "turn": 3},
            ],
        }
    ]
    assert data["other_reasons"] == 0
    days = {row["day"]: row for row in data["days"]}
    assert list(days) == ["2026-11-30", "2026-12-01", "2026-12-02"]
    assert days["2026-11-30"] == {
        "day": "2026-11-30",
        "sessions": 3,
        "turns": 5,
        "flows_started": 2,
        "flows_completed": 1,
        "cancels": 1,
        "internal_errors": 1,
        "cannot_handle": 1,
        "human_handoffs": 0,
        "dropped": 0,
    }
    assert (days["2026-12-01"]["sessions"], days["2026-12-01"]["human_handoffs"]) == (1, 1)
    assert days["2026-12-02"] == {
        "day": "2026-12-02",
        "sessions": 3,
        "turns": 7,
        "flows_started": 3,
        "flows_completed": 2,
        "cancels": 1,
        "internal_errors": 0,
        "cannot_handle": 1,
        "human_handoffs": 1,
        "dropped": 2,
    }


def test_the_json_keys_are_stable(shop, capsys):
    data = stats_json(capsys, shop[0])
    assert list(data) == [
        "filters",
        "totals",
        "patterns",
        "flows",
        "dropped_reasons",
        "other_reasons",
        "days",
    ]
    assert data["filters"] == {"since": None, "until": None, "origin": "all", "flow": None}
    assert list(data["patterns"]) == ["cancel", "internal_error", "cannot_handle", "human_handoff"]
    for row in data["patterns"].values():
        assert list(row) == ["pattern", "started", "sessions", "session_rate", "turns", "turn_rate"]
    assert list(data["days"][0]) == [
        "day",
        "sessions",
        "turns",
        "flows_started",
        "flows_completed",
        "cancels",
        "internal_errors",
        "cannot_handle",
        "human_handoffs",
        "dropped",
    ]


def test_origin_selects_local_or_imported_sessions(shop, capsys):
    root, _ = shop
    local = stats_json(capsys, root, "--origin", "local")
    assert (local["totals"]["sessions"], local["totals"]["imported_sessions"]) == (3, 0)
    assert local["patterns"]["internal_error"]["sessions"] == 0
    assert local["patterns"]["cancel"]["sessions"] == 1
    assert local["totals"]["flows_cancelled"] == 1
    imported = stats_json(capsys, root, "--origin", "imported")
    assert (imported["totals"]["sessions"], imported["totals"]["local_sessions"]) == (4, 0)
    assert imported["dropped_reasons"] == []
    assert imported["patterns"]["internal_error"]["session_rate"] == 0.25


def test_since_and_until_count_the_turns_of_that_time(shop, capsys):
    root, ids = shop
    first_day = stats_json(capsys, root, "--until", "2026-11-30T23:59")
    assert [row["day"] for row in first_day["days"]] == ["2026-11-30"]
    assert first_day["totals"]["sessions"] == 3
    assert first_day["filters"]["until"] == "2026-11-30T23:59:00.000Z"
    # the local conversations of 09:00 and 10:00 (each turn a minute after the last)
    morning = stats_json(capsys, root, "--since", "2026-12-02T09:00", "--until", "2026-12-02T10:59")
    assert morning["totals"]["sessions"] == 2
    assert [e["session_id"] for e in morning["dropped_reasons"][0]["examples"]] == [
        ids["cancelled"],
        ids["gibberish"],
    ]
    # only the later turns of the first: its question and cancellation are before
    late = stats_json(capsys, root, "--since", "2026-12-02T09:02:30", "--until", "2026-12-02T09:59")
    assert late["totals"]["turns"] == 1
    assert late["totals"]["flows_started"] == 0
    assert late["dropped_reasons"][0]["examples"] == [{"session_id": ids["cancelled"], "turn": 3}]


def test_flow_selects_the_sessions_that_started_it(shop, capsys):
    root, _ = shop
    data = stats_json(capsys, root, "--flow", "talk_to_human")
    assert data["totals"]["sessions"] == 2  # the local one and the imported handoff
    assert data["patterns"]["human_handoff"]["session_rate"] == 1.0
    assert {row["flow"] for row in data["flows"]} == {
        "talk_to_human",
        "check_loyalty_points",
        "verify_identity",
    }


def test_top_and_examples_limit_the_reasons(shop, capsys):
    root, ids = shop
    data = stats_json(capsys, root, "--examples", "1")
    # the latest example is kept
    assert data["dropped_reasons"][0]["examples"] == [{"session_id": ids["gibberish"], "turn": 3}]


def test_the_text_report(shop, capsys):
    root, ids = shop
    code, out, _ = run(capsys, str(root))
    assert code == 0
    assert "7 sessions (3 local, 4 imported) · 16 user turns" in out
    assert "turns from 2026-11-30 00:53 to 2026-12-02 11:00 UTC" in out
    lines = out.splitlines()
    internal = next(line for line in lines if line.startswith("internal error"))
    assert internal.split() == ["internal", "error", "1", "14.3%", "1", "6.2%", "1"]
    flow = next(line for line in lines if line.startswith("check_order_status"))
    assert flow.split() == ["check_order_status", "3", "2", "66.7%", "1", "0"]
    assert any(line.split()[:2] == ["2", "2"] and NONEXISTENT in line for line in lines)
    assert f"{ids['cancelled']} turn 3, {ids['gibberish']} turn 3" in out
    day = next(line for line in lines if line.startswith("2026-11-30"))
    assert day.split() == ["2026-11-30", "3", "5", "2", "1", "1", "0", "0"]


def test_nothing_matches(shop, capsys):
    root, _ = shop
    code, out, _ = run(capsys, str(root), "--flow", "no_such_flow")
    assert (code, out.strip()) == (0, f"no sessions match the filters in {root}")


def test_a_project_without_a_store_has_no_sessions_and_gets_none(tmp_path, capsys):
    code, out, _ = run(capsys, str(tmp_path))
    assert (code, out.strip()) == (0, f"no sessions yet in {tmp_path}")
    data = stats_json(capsys, tmp_path)
    assert data["totals"]["sessions"] == 0
    assert data["patterns"]["cancel"]["session_rate"] is None
    assert data["flows"] == data["days"] == data["dropped_reasons"] == []
    assert not (tmp_path / ".calm").exists()


def test_an_empty_store_has_no_sessions_yet(tmp_path, capsys):
    SessionStore(tmp_path).close()
    code, out, _ = run(capsys, str(tmp_path))
    assert (code, out.strip()) == (0, f"no sessions yet in {tmp_path}")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--since", "soon"], "--since 'soon' is no time"),
        (["--until", "2026-13-01"], "--until '2026-13-01' is no time"),
        (["--since", "2026-12-02", "--until", "2026-12-01"], "is later than --until"),
        (["--origin", "remote"], "invalid choice: 'remote'"),
        (["--top", "0"], "must be 1 or more"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, capsys, argv, said):
    try:
        code, _, err = run(capsys, str(tmp_path), *argv)
    except SystemExit as exit:  # argparse's own errors
        code, err = int(str(exit.code)), capsys.readouterr().err
    assert code == 2
    assert said in err
    assert not (tmp_path / ".calm").exists()


def test_an_unreadable_turn_is_counted_and_left_out(tmp_path, capsys):
    root = copy_sample(tmp_path)
    session_id = record(root, ["/session_start", "blorp"], at=LOCAL_DAY)
    with SessionStore(root) as store:
        store.db.execute(
            "UPDATE turns SET trace_json = '{not json' WHERE session_id = ? AND idx = 1",
            (session_id,),
        )
        store.db.conn.commit()
    data = stats_json(capsys, root)
    assert data["totals"]["unreadable_turns"] == 1
    assert data["totals"]["turns"] == 0
    assert data["patterns"]["cannot_handle"]["sessions"] == 0
    _, out, _ = run(capsys, str(root))
    assert "1 turn could not be read: left out" in out


def test_named_sessions_only(shop):
    root, ids = shop
    with SessionStore(root) as store:
        stats = conversation_stats(
            store, StatsFilter(session_ids=[ids["human"], ids["mars-91d0"], "missing"])
        )
    assert (stats.sessions, stats.local_sessions, stats.imported_sessions) == (2, 1, 1)
    assert [row.sessions for row in stats.patterns] == [0, 0, 1, 1]
    # the internal error is the imported conversation's that hit it
    with SessionStore(root) as store:
        hit = conversation_stats(store, StatsFilter(session_ids=[ids["cancel-b2c4"]]))
        others = [ids[s] for s in ("order-7f3a", "mars-91d0", "handoff-e5b7")]
        rest = conversation_stats(store, StatsFilter(session_ids=others))
    assert [row.sessions for row in hit.patterns] == [1, 1, 0, 0]
    assert rest.patterns[1].sessions == 0
