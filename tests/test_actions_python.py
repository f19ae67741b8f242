"""In-process custom actions: discovery, the tracker and domain an action sees, results,
errors, hot reload, and the choice of runner.

They pass with and without rasa_sdk installed: without it the workbench's own Tracker
and CollectingDispatcher are used (`auto` and `fallback` are then the same), with it
`auto` uses rasa_sdk's classes and `fallback` forces ours."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from workbench.actions.python import PythonActions
from workbench.actions.runner import make_action_runner
from workbench.engine import events as ev
from workbench.engine.stack import Frame
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.understanding.base import ScriptedGenerator

FIXTURES = Path(__file__).parent / "fixtures" / "actions"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
HAS_RASA_SDK = importlib.util.find_spec("rasa_sdk") is not None


def copy_project(source: Path, target: Path) -> Project:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return load_project(target).project


def conversation(project: Project, running: str | None = None, sender: str = "alice") -> Tracker:
    """A user in the check_order flow, asked for the order id, who answered A1."""
    tracker = Tracker(project, sender_id=sender)
    tracker.add(ev.action("action_session_start"))
    tracker.add(ev.session_started())
    tracker.add(ev.action("action_listen"))
    commands = [{"command": "start flow", "flow": "check_order"}]
    tracker.add(ev.user("where is order A1", commands, {"device": "web"}))
    tracker.stack.push(Frame("F1", "flow", "check_order", "0_collect_order_id", "regular"))
    tracker.stack.push(
        Frame(
            "P1",
            "pattern_collect_information",
            "pattern_collect_information",
            "start",
            context={"collect": "order_id"},
        )
    )
    tracker.set_slot("order_id", "A1")
    tracker.add(ev.error("something the workbench noted"))
    if running:
        tracker.add(ev.action(running))
    return tracker


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    return copy_project(FIXTURES / "shop", tmp_path / "shop")


@pytest.fixture(params=["auto", "fallback"])
def runner(request: pytest.FixtureRequest) -> PythonActions:
    actions = PythonActions(use_rasa_sdk=None if request.param == "auto" else False)
    yield actions
    actions.close()


async def run(runner: PythonActions, project: Project, name: str, tracker: Tracker | None = None):
    return await runner.run(name, tracker or conversation(project, running=name), project)


def touch_later(path: Path, seconds: float = 2.0) -> None:
    """Make sure an edit is seen even on file systems with coarse mtimes."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


# --- running actions -------------------------------------------------------------------


async def test_sync_action_sets_slots_and_sends_responses_with_kwargs_and_buttons(runner, shop):
    result = await run(runner, shop, "action_shout")
    assert result.error is None, result.traceback
    assert result.kind == "python"
    assert result.events == [{"event": "slot", "name": "greeting", "value": "A1!", **_ts(result)}]
    greet, pick = result.messages
    assert greet["response"] == greet["template"] == "utter_greet"
    assert greet["name"] == "Ada"
    assert greet["text"] is None
    assert pick["text"] == "Pick a color"
    assert pick["response"] is None
    assert [b["title"] for b in pick["buttons"]] == ["Red", "Green"]
    assert pick["buttons"][0]["payload"] == "/SetSlots(color=red)"


def _ts(result) -> dict:
    # rasa_sdk's SlotSet adds "timestamp": None; workbench.sdk's does not
    return {"timestamp": None} if "timestamp" in result.events[0] else {}


async def test_async_action_with_custom_json_and_image(runner, shop):
    tracker = conversation(shop, running="action_count")
    tracker.set_slot("counter", 41.0)
    result = await run(runner, shop, "action_count", tracker)
    assert result.error is None, result.traceback
    assert [(e["name"], e["value"]) for e in result.events] == [("counter", 42.0)]
    (message,) = result.messages
    assert message["custom"] == {"kind": "card", "count": 2}
    assert message["image"] == "https://x/y.png"


async def test_an_action_that_raises_gives_an_error_with_traceback(runner, shop):
    result = await run(runner, shop, "action_boom")
    assert result.events == [] and result.messages == []
    assert "action 'action_boom' raised ValueError: the order database is on fire" in result.error
    assert "(actions/actions.py:" in result.error
    assert "Traceback" in result.traceback
    assert "the order database is on fire" in result.traceback


async def test_an_unknown_action_names_the_known_ones(runner, shop):
    result = await run(runner, shop, "action_missing")
    assert result.error.startswith("unknown custom action 'action_missing' (known: ")
    for name in ("action_shout", "action_count", "action_deep", "action_version"):
        assert name in result.error
    # base classes without a name and classes whose run() is no action's are left out
    assert "not_an_action" not in result.error
    assert runner.action_names == sorted(runner.action_names)
    assert "action_absolute" in runner.action_names


async def test_rejection_becomes_an_action_execution_rejected_event(runner, shop):
    result = await run(runner, shop, "action_decline")
    assert result.error is None
    (event,) = result.events
    assert event["event"] == "action_execution_rejected"
    assert event["name"] == "action_decline"
    assert event["metadata"] == {"message": "not today"}


async def test_items_that_are_not_events_are_dropped_with_a_warning(runner, shop):
    result = await run(runner, shop, "action_bad_events")
    assert result.error is None
    assert [e["name"] for e in result.events] == ["greeting"]
    assert len(runner.warnings) == 2
    assert "index 1: None" in runner.warnings[0]


async def test_actions_in_subpackages_and_relative_and_absolute_imports(runner, shop):
    deep = await run(runner, shop, "action_deep")
    assert deep.error is None, deep.traceback
    assert deep.events[0]["value"] == "DEEP!"
    absolute = await run(runner, shop, "action_absolute")
    assert absolute.error is None, absolute.traceback
    assert absolute.events[0]["value"] == "ABS!"
    # `from actions import helpers` and `from . import helpers` are one module
    assert absolute.events[1]["value"] == {"same_module": True}
    # the alias lives only while the package imports
    assert "actions" not in sys.modules or not sys.modules["actions"].__name__.startswith("_calm")


async def test_no_bytecode_is_written_into_the_project(runner, shop, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # PYTHONDONTWRITEBYTECODE may be set
    assert (await run(runner, shop, "action_shout")).error is None
    assert not list((shop.root / "actions").rglob("__pycache__"))


async def test_run_returning_none_means_no_events_and_a_dict_is_an_error(runner, make_project):
    root = make_project(
        {
            "actions/__init__.py": "",
            "actions/odd.py": """
                from workbench.sdk import Action, SlotSet

                class ActionNothing(Action):
                    def name(self):
                        return "action_nothing"

                    def run(self, dispatcher, tracker, domain):
                        dispatcher.utter_message(text="done")

                class ActionDict(Action):
                    def name(self):
                        return "action_dict"

                    def run(self, dispatcher, tracker, domain):
                        return SlotSet("name", "x")
            """,
        }
    )
    project = load_project(root).project
    nothing = await run(runner, project, "action_nothing", Tracker(project))
    assert (nothing.error, nothing.events, nothing.messages[0]["text"]) == (None, [], "done")
    wrong = await run(runner, project, "action_dict", Tracker(project))
    assert wrong.error == "action 'action_dict' returned dict, not a list of events"


async def test_classes_that_cannot_be_created_and_duplicate_names_are_noted(make_project):
    root = make_project(
        {
            "actions/__init__.py": "",
            "actions/dupes.py": """
                from workbench.sdk import Action, SlotSet

                class First(Action):
                    def name(self):
                        return "action_twice"

                    def run(self, dispatcher, tracker, domain):
                        return [SlotSet("name", "first")]

                class Second(First):
                    pass

                class NeedsArguments(Action):
                    def __init__(self, database):
                        self.database = database

                    def name(self):
                        return "action_needs_arguments"

                    def run(self, dispatcher, tracker, domain):
                        return []
            """,
        }
    )
    project = load_project(root).project
    runner = PythonActions(use_rasa_sdk=False)
    result = await run(runner, project, "action_twice", Tracker(project))
    assert result.events[0]["value"] == "first"
    assert runner.action_names == ["action_twice"]
    assert len(runner.warnings) == 2
    assert "actions/dupes.py: class Second also names itself 'action_twice'" in runner.warnings[0]
    assert "class NeedsArguments skipped: TypeError" in runner.warnings[1]
    runner.close()


# --- what an action sees --------------------------------------------------------------------


async def test_the_tracker_view_is_rasas(runner, shop):
    result = await run(runner, shop, "action_report")
    assert result.error is None, result.traceback
    report = result.events[0]["value"]
    assert report["sender_id"] == "alice"
    assert report["slots"]["order_id"] == "A1"
    assert report["slots"]["counter"] == 0
    latest = report["latest_message"]
    assert latest["text"] == "where is order A1"
    assert latest["commands"] == [{"command": "start flow", "flow": "check_order"}]
    assert latest["metadata"] == {"device": "web"}
    assert latest["intent"] == {} and latest["entities"] == []
    # Rasa logs an action after it ran: the running action is not in its own tracker
    assert report["latest_action_name"] == "action_listen"
    assert report["event_types"] == [
        "action",
        "session_started",
        "action",
        "user",
        "slot",
    ]  # no workbench-only `error` event, no `action` event of the running action
    assert [f["type"] for f in report["stack"]] == ["flow", "pattern_collect_information"]
    assert report["stack"][0]["flow_id"] == "check_order"
    assert report["stack"][1]["collect"] == "order_id"
    assert report["active_flow"] == "check_order"
    assert {"sender_id", "slots", "latest_message", "events", "stack"} <= set(report["state_keys"])


async def test_rasa_sdk_classes_are_used_when_installed_unless_forced_off(shop):
    auto, fallback = PythonActions(), PythonActions(use_rasa_sdk=False)
    seen = {}
    for label, actions in (("auto", auto), ("fallback", fallback)):
        result = await run(actions, shop, "action_report")
        assert result.error is None, result.traceback
        seen[label] = result.events[0]["value"]
        actions.close()
    expected = "rasa_sdk.interfaces.Tracker" if HAS_RASA_SDK else "workbench.sdk.Tracker"
    assert seen["auto"]["tracker_class"] == expected
    assert seen["fallback"]["tracker_class"] == "workbench.sdk.Tracker"
    assert seen["fallback"]["dispatcher_class"] == "workbench.sdk.CollectingDispatcher"
    if HAS_RASA_SDK:
        assert seen["auto"]["dispatcher_class"] == "rasa_sdk.executor.CollectingDispatcher"


async def test_the_domain_view_is_a_rasa_domain_dict_and_a_fresh_copy_each_call(runner, shop):
    first = (await run(runner, shop, "action_report")).events[0]["value"]
    assert {"slots", "responses", "actions", "intents", "entities", "session_config"} <= set(
        first["domain_keys"]
    )
    slots = first["domain_slots"]
    assert slots["color"] == {
        "type": "categorical",
        "initial_value": None,
        "mappings": [{"type": "from_llm"}],
        "values": ["red", "green"],
    }
    assert slots["counter"]["initial_value"] == 0
    assert "action_shout" in first["domain_actions"]
    assert first["domain_greet"] == [{"text": "Hello {name}!"}]
    # the action cleared domain["slots"]; the next call must not see that
    second = (await run(runner, shop, "action_report")).events[0]["value"]
    assert second["domain_slots"] == slots


async def test_the_action_cannot_change_the_conversation_it_was_given(runner, shop):
    tracker = conversation(shop, running="action_report")
    before = [dict(e) for e in tracker.events], dict(tracker.slots)
    await runner.run("action_report", tracker, shop)
    assert ([dict(e) for e in tracker.events], dict(tracker.slots)) == before


def test_the_fallback_tracker_and_dispatcher_behave_like_rasa_sdks():
    from workbench import sdk

    state = {
        "sender_id": "s",
        "slots": {"a": 1},
        "latest_message": {
            "text": "hi",
            "entities": [
                {"entity": "city", "value": "Berlin"},
                {"entity": "city", "value": "Paris", "role": "to"},
            ],
            "intent_ranking": [{"name": "nlu_fallback"}, {"name": "greet"}],
        },
        "events": [
            {"event": "action", "name": "action_x"},
            {"event": "restart"},
            {"event": "user", "text": "hi", "input_channel": "web"},
            {"event": "action", "name": "action_listen"},
        ],
        "stack": [{"type": "flow", "flow_id": "f"}, {"type": "pattern_collect_information"}],
    }
    classes = [(sdk.Tracker, sdk.CollectingDispatcher)]
    if HAS_RASA_SDK:
        from rasa_sdk import Tracker as RasaTracker
        from rasa_sdk.executor import CollectingDispatcher as RasaDispatcher

        classes.append((RasaTracker, RasaDispatcher))
    seen = []
    for tracker_class, dispatcher_class in classes:
        tracker = tracker_class.from_dict(state)
        dispatcher = dispatcher_class()
        dispatcher.utter_message(text="t", buttons=[{"title": "b"}], response="utter_x", k=1)
        seen.append(
            (
                tracker.get_slot("a"),
                tracker.get_slot("missing"),
                list(tracker.get_latest_entity_values("city")),
                list(tracker.get_latest_entity_values("city", entity_role="to")),
                tracker.get_latest_input_channel(),
                tracker.get_intent_of_latest_message(),
                len(tracker.events_after_latest_restart()),
                tracker.get_last_event_for("action", exclude=["action_listen"]),
                tracker.current_state()["sender_id"],
                tracker.active_loop_name,
                dispatcher.messages,
            )
        )
    assert seen[0][:3] == (1, None, ["Berlin"])
    assert seen[0][3:7] == (["Paris"], "web", "greet", 2)
    assert seen[0][7] is None  # action_x was before the restart
    assert seen[0][-1] == [
        {
            "text": "t",
            "buttons": [{"title": "b"}],
            "elements": [],
            "custom": {},
            "template": "utter_x",
            "response": "utter_x",
            "image": None,
            "attachment": None,
            "k": 1,
        }
    ]
    assert sdk.Tracker.from_dict(state).active_flow == "f"
    if HAS_RASA_SDK:
        assert seen[0] == seen[1]


# --- hot reload ---------------------------------------------------------------------------


async def test_an_edit_is_picked_up_on_the_next_call(runner, shop):
    version = shop.root / "actions" / "version.py"
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v1"
    version.write_text(version.read_text().replace('"v1"', '"v2"'))
    touch_later(version)
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v2"
    assert runner.load_error is None


async def test_a_same_size_edit_within_one_second_is_picked_up(runner, shop, monkeypatch):
    # bytecode caches compare mtimes in whole seconds: this edit would look unchanged
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    version = shop.root / "actions" / "version.py"
    base = (int(time.time()) - 10) * 10**9 + 100_000_000
    os.utime(version, ns=(base, base))
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v1"
    version.write_text(version.read_text().replace('"v1"', '"v9"'))
    os.utime(version, ns=(base, base + 1_000))
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v9"


async def test_new_actions_in_new_files_appear_and_deleted_ones_go(runner, shop):
    assert "action_new" not in runner.action_names
    await run(runner, shop, "action_version")
    new = shop.root / "actions" / "new.py"
    new.write_text(
        "from .compat import Action, SlotSet\n\n"
        "class ActionNew(Action):\n"
        "    def name(self):\n"
        "        return 'action_new'\n\n"
        "    def run(self, dispatcher, tracker, domain):\n"
        "        return [SlotSet('greeting', 'new')]\n"
    )
    assert (await run(runner, shop, "action_new")).events[0]["value"] == "new"
    new.unlink()
    result = await run(runner, shop, "action_new")
    assert result.error.startswith("unknown custom action 'action_new'")


async def test_a_broken_edit_keeps_the_last_good_actions_until_it_is_fixed(runner, shop):
    version = shop.root / "actions" / "version.py"
    good = version.read_text()
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v1"

    broken = good.replace('"v1"', '"v2"').replace("def run(self,", "def run(self,,")
    version.write_text(broken)
    touch_later(version)
    result = await run(runner, shop, "action_version")
    assert result.error is None
    assert result.events[0]["value"] == "v1"  # the last good code still runs
    line = broken.splitlines().index(next(x for x in broken.splitlines() if ",," in x)) + 1
    assert runner.load_error.startswith(f"actions/version.py:{line}: SyntaxError")
    assert "SyntaxError" in runner.load_traceback
    # other files of the last good package keep working too
    assert (await run(runner, shop, "action_shout")).error is None

    version.write_text(good.replace('"v1"', '"v3"'))
    touch_later(version, 4)
    assert (await run(runner, shop, "action_version")).events[0]["value"] == "v3"
    assert runner.load_error is None
    assert runner.load_traceback is None


async def test_an_exception_at_import_time_names_the_file_and_line(runner, shop):
    await run(runner, shop, "action_version")
    helpers = shop.root / "actions" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\nimport module_that_does_not_exist\n")
    touch_later(helpers)
    result = await run(runner, shop, "action_version")
    assert result.error is None
    assert runner.load_error.startswith("actions/helpers.py:8: ModuleNotFoundError")
    assert "module_that_does_not_exist" in runner.load_error


async def test_an_unknown_action_mentions_a_broken_package(runner, shop):
    await run(runner, shop, "action_version")
    helpers = shop.root / "actions" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\nraise RuntimeError('half-written')\n")
    touch_later(helpers)
    result = await run(runner, shop, "action_being_written")
    assert "unknown custom action 'action_being_written'" in result.error
    assert "actions/helpers.py:8: RuntimeError: half-written" in result.error


async def test_a_package_that_never_imported_fails_every_call_clearly(runner, make_project):
    root = make_project(
        {
            "actions/__init__.py": "",
            "actions/actions.py": "def broken(:\n    pass\n",
        }
    )
    project = load_project(root).project
    result = await runner.run("action_x", conversation(project, running="action_x"), project)
    assert result.error.startswith("custom actions could not be loaded: actions/actions.py:1:")
    assert "SyntaxError" in result.traceback


async def test_sys_exit_at_import_time_does_not_end_the_workbench(runner, make_project):
    root = make_project({"actions/__init__.py": "import sys\nsys.exit(3)\n"})
    project = load_project(root).project
    result = await runner.run("action_x", conversation(project), project)
    assert "actions/__init__.py:2: SystemExit: 3" in result.error


async def test_two_projects_with_the_same_package_name_do_not_clash(tmp_path):
    one = copy_project(FIXTURES / "shop", tmp_path / "one")
    two = copy_project(FIXTURES / "shop", tmp_path / "two")
    version = two.root / "actions" / "version.py"
    version.write_text(version.read_text().replace('"v1"', '"two"'))
    first, second = PythonActions(), PythonActions()
    assert (await run(first, one, "action_version")).events[0]["value"] == "v1"
    assert (await run(second, two, "action_version")).events[0]["value"] == "two"
    assert (await run(first, one, "action_version")).events[0]["value"] == "v1"
    first.close()
    second.close()


async def test_dotted_single_file_and_namespace_packages(runner, make_project):
    action = (
        "from workbench.sdk import Action, SlotSet\n\n"
        "class ActionHere(Action):\n"
        "    def name(self):\n"
        "        return 'action_here'\n\n"
        "    def run(self, dispatcher, tracker, domain):\n"
        "        return [SlotSet('name', __name__)]\n"
    )
    dotted = make_project(
        {
            "endpoints.yml": "action_endpoint:\n  actions_module: src.bot_actions\n",
            "src/bot_actions/__init__.py": "",
            "src/bot_actions/here.py": action,
        }
    )
    single = make_project({"actions.py": action})
    no_init = make_project({"actions/here.py": action})  # a namespace package
    for root in (dotted, single, no_init):
        project = load_project(root).project
        each = PythonActions(use_rasa_sdk=False)
        result = await each.run("action_here", conversation(project), project)
        assert result.error is None, result.traceback
        assert result.events[0]["value"].startswith("_calm_actions_")
        each.close()


# --- the sample project --------------------------------------------------------------------


async def test_the_sample_projects_order_lookup_reads_its_sqlite_store(runner, tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample")
    tracker = Tracker(project, sender_id="tester")
    tracker.set_slot("order_id", "a1001")
    result = await runner.run("action_check_order", tracker, project)
    assert result.error is None, result.traceback
    slots = {e["name"]: e["value"] for e in result.events}
    assert slots["order_id"] == "A1001"
    assert slots["order_status"] == "shipped"
    assert slots["order_items"] == ["Wool scarf", "Ceramic mug"]
    assert slots["order_details"]["total"] == 54.0
    assert (tmp_path / "sample" / ".calm" / "store.db").is_file()

    tracker.set_slot("account_email", "maya@example.com")
    points = await runner.run("action_check_loyalty_points", tracker, project)
    assert points.events[0]["value"] == 1250.0
    (message,) = points.messages
    assert message["response"] == "utter_points_balance"
    assert (message["points"], message["points_value"]) == ("1,250", "$12.50")


async def test_a_session_runs_the_sample_projects_actions(tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample")
    generator = ScriptedGenerator(
        {"where is my order A1003": "start flow check_order_status\nset slot order_id A1003"}
    )
    session = Session(project, generator, actions=make_action_runner(project))
    trace = await session.handle("where is my order A1003")
    (run_,) = [a for a in trace.actions if a.name == "action_check_order"]
    assert run_.kind == "python" and run_.error is None
    assert session.tracker.get_slot("order_status") == "delivered"
    assert any("Walnut cutting board" in text for text in trace.bot_texts)


# --- choosing a runner ----------------------------------------------------------------------


def test_the_runner_follows_the_endpoints(make_project):
    in_process = make_project({"endpoints.yml": "action_endpoint:\n  actions_module: actions\n"})
    both = make_project(
        {
            "endpoints.yml": "action_endpoint:\n"
            "  url: http://127.0.0.1:5055/webhook\n"
            "  actions_module: actions\n"
        }
    )
    server = make_project(
        {
            "endpoints.yml": "action_endpoint:\n  url: http://127.0.0.1:5055/webhook\n",
            "actions/__init__.py": "",
        }
    )
    folder = make_project({"actions/__init__.py": ""})
    nothing = make_project()
    assert isinstance(make_action_runner(load_project(in_process).project), PythonActions)
    assert isinstance(make_action_runner(load_project(both).project), PythonActions)
    # a URL: the server there when it answers (tests/test_actions_managed.py), else one
    # started from the actions package; --actions inprocess imports the package here
    forced = make_action_runner(load_project(server).project, mode="inprocess")
    assert isinstance(forced, PythonActions) and forced.label == "actions in-process"
    assert isinstance(make_action_runner(load_project(folder).project), PythonActions)
    none = make_action_runner(load_project(nothing).project)
    assert none.label == "no custom actions"
