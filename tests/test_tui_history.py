"""The History panel: the whole conversation as a log, a flow timeline and the tracker
state; mounted alone (behaviour and messages) and in the workbench (time travel)."""

from __future__ import annotations

import json
import re

import pytest
from history_helpers import SENDER, interrupted_conversation
from textual.app import App, ComposeResult
from textual.color import Color
from textual.content import Content
from textual.widgets import RadioSet, Select, Static
from tui_helpers import MessageLog, copy_sample, send, start

from workbench.project.model import Project
from workbench.trace import history
from workbench.trace.records import Event, StackFrame
from workbench.trace.turn import TurnTrace
from workbench.tui.app import make_app
from workbench.tui.widgets import NO_TURN, HistoryPanel
from workbench.tui.widgets.history_panel import FILTERS, MODES, SHOWN, STYLES

AA = 4.5  # WCAG AA, normal text


@pytest.fixture(scope="module")
def conversation(tmp_path_factory) -> tuple[Project, list[TurnTrace]]:
    return interrupted_conversation(tmp_path_factory.mktemp("tui-history"))


class HistoryApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.panel = HistoryPanel()

    def compose(self) -> ComposeResult:
        yield self.panel


def body(panel: HistoryPanel) -> Content:
    content = panel.query_one("#history-body", Static).content
    assert isinstance(content, Content)
    return content


def lines(panel: HistoryPanel) -> list[str]:
    return body(panel).plain.splitlines()


def highlighted(panel: HistoryPanel) -> set[int]:
    """The numbers of the lines drawn on the shown turn's background."""
    content = body(panel)
    starts = [0] + [m.end() for m in re.finditer("\n", content.plain)]
    marked = set()
    for span in content.spans:
        if str(span.style) == SHOWN:
            marked |= {n for n, at in enumerate(starts) if span.start <= at < span.end}
    return marked


def show(panel: HistoryPanel, project: Project, traces: list[TurnTrace], turn: int) -> None:
    panel.show_conversation(traces, SENDER)
    panel.show_trace(traces[turn], project)


# --- the log --------------------------------------------------------------------------------


async def test_the_log_shows_every_turn_and_follows_the_latest(conversation):
    project, traces = conversation
    app = HistoryApp()
    async with app.run_test(size=(80, 20)) as pilot:
        panel = app.panel
        assert lines(panel) == [NO_TURN]
        show(panel, project, traces, -1)
        await pilot.pause()
        await pilot.pause()
        shown = lines(panel)
        rows = history.conversation_log(traces)
        assert len(shown) == len(rows)
        assert {int(line[1:].split()[0]) for line in shown} == {0, 1, 2, 3, 4}
        assert shown[0].split() == ["0", "user", '"/session_start"']
        assert panel.border_subtitle == f"{len(rows)} rows · 5 turns"
        # the latest turn is highlighted and in view from its first row
        last = [n for n, row in enumerate(rows) if row.turn == 4]
        assert highlighted(panel) == set(last)
        assert all(line.startswith("▌") for line in shown[last[0] :])
        top = panel.scroller.scroll_y
        assert top > 0 and top <= last[0] < top + panel.scroller.size.height


async def test_time_travel_highlights_and_scrolls_to_the_turn_and_hides_nothing(conversation):
    project, traces = conversation
    app = HistoryApp()
    async with app.run_test(size=(80, 20)) as pilot:
        panel = app.panel
        show(panel, project, traces, 2)
        await pilot.pause()
        await pilot.pause()
        rows = history.conversation_log(traces)
        assert len(lines(panel)) == len(rows)  # later turns stay
        turn_2 = [n for n, row in enumerate(rows) if row.turn == 2]
        assert highlighted(panel) == set(turn_2)
        top = panel.scroller.scroll_y
        assert top <= turn_2[0] < top + panel.scroller.size.height
        assert 0 < top < panel.scroller.max_scroll_y


async def test_the_filter_keeps_a_category_and_its_messages(conversation):
    project, traces = conversation
    log = MessageLog(Select.Changed, HistoryPanel.ModeChanged)
    app = HistoryApp()
    async with app.run_test(size=(80, 30), message_hook=log) as pilot:
        panel = app.panel
        show(panel, project, traces, -1)
        await pilot.pause()
        log.clear()  # the Select says its first value on mount
        flows = next(n for n, (label, _) in enumerate(FILTERS) if label == "flow events")
        panel.query_one("#history-filter", Select).value = flows
        await pilot.pause()
        assert panel.rows and all(row.category == history.FLOW for row in panel.rows)
        assert any("flow_interrupted check_order_status" in line for line in lines(panel))
        assert log.names() == ["Changed"]  # the filter's; no mode changed
        chat = next(n for n, (label, _) in enumerate(FILTERS) if label == "bot/user")
        panel.query_one("#history-filter", Select).value = chat
        await pilot.pause()
        assert {row.kind for row in panel.rows} == {"user", "bot"}


# --- modes ----------------------------------------------------------------------------------


async def test_modes_switch_from_the_top_row_and_say_so(conversation):
    project, traces = conversation
    log = MessageLog(RadioSet.Changed, HistoryPanel.ModeChanged, HistoryPanel.Copied)
    app = HistoryApp()
    async with app.run_test(size=(90, 30), message_hook=log) as pilot:
        panel = app.panel
        show(panel, project, traces, -1)
        await pilot.pause()
        log.clear()
        assert panel.query_one("#history-filter").display
        assert not panel.query_one("#history-copy").display

        await pilot.click("#mode-timeline")
        await pilot.pause()
        assert panel.mode == "timeline"
        assert [type(m).__name__ for m in log.messages] == ["Changed", "ModeChanged"]
        assert log.of(HistoryPanel.ModeChanged)[0].mode == "timeline"  # type: ignore[attr-defined]
        text = lines(panel)
        at = next(n for n, line in enumerate(text) if line.startswith("check_order_status"))
        assert text[at].endswith("·▶╌▷✗")
        assert text[at + 1 : at + 4] == [
            "  turns 1–4 · cancelled",
            "  interrupted by return_item in 2",
            "  resumed in 3",
        ]
        assert not any(line.startswith("pattern_") for line in text)
        assert "pattern runs hidden" in str(panel.border_subtitle)
        assert not panel.query_one("#history-filter").display
        await pilot.click("#history-patterns")
        await pilot.pause()
        assert any(line.startswith("pattern_cancel_flow") for line in lines(panel))

        log.clear()
        await pilot.click("#mode-tracker")
        await pilot.pause()
        assert panel.mode == "tracker"
        state = json.loads(body(panel).plain)
        assert state == json.loads(history.tracker_json(history.tracker_state(traces, 4, SENDER)))
        assert state["sender_id"] == SENDER and state["active_flow"] == "return_item"
        assert panel.border_subtitle == f"after turn 4 · {len(state['events'])} events"

        await pilot.click("#history-copy")
        await pilot.pause()
        assert [type(m).__name__ for m in log.messages] == ["Changed", "ModeChanged", "Copied"]
        assert app.clipboard == body(panel).plain
        assert log.of(HistoryPanel.Copied)[0].text == app.clipboard  # type: ignore[attr-defined]
        notes = [n.message for n in app._notifications]
        assert any("copied" in note and "turn 4" in note for note in notes)


async def test_the_tracker_follows_time_travel(conversation):
    project, traces = conversation
    app = HistoryApp()
    async with app.run_test(size=(90, 30)) as pilot:
        panel = app.panel
        panel.set_mode("tracker")
        await pilot.pause()
        show(panel, project, traces, 1)
        await pilot.pause()
        state = json.loads(body(panel).plain)
        assert state["active_flow"] == "check_order_status"
        assert state["latest_message"]["text"] == "where is my order"
        with pytest.raises(ValueError):
            panel.set_mode("graph")


async def test_copy_without_a_turn_says_so():
    app = HistoryApp()
    async with app.run_test() as pilot:
        app.panel.copy_tracker()
        await pilot.pause()
        assert app.clipboard == ""
        assert any("nothing to copy" in n.message for n in app._notifications)


# --- contrast -------------------------------------------------------------------------------


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(foreground: Color, background: Color) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def resolve(value: str, background: Color) -> Color:
    """A theme colour as drawn over `background` ("auto 60%": the contrasting text
    colour at that alpha, as Textual draws `$text-muted`)."""
    if value.startswith("auto"):
        alpha = float(value.split()[1].rstrip("%")) / 100 if " " in value else 1.0
        return background + background.get_contrast_text(alpha)
    return background + Color.parse(value)


def style_colours(style: str) -> tuple[str | None, str | None]:
    """The ($variable) foreground and background a style names."""
    words = style.split()
    background = words[words.index("on") + 1] if "on" in words else None
    foreground = next((w for w in words if w.startswith("$") and w != background), None)
    return foreground, background


def test_every_style_of_the_panel_reads_at_wcag_aa_in_the_default_theme():
    variables = App().get_css_variables()  # the default theme's
    page = Color.parse(variables["background"])
    shown_bg = style_colours(SHOWN)[1]
    assert shown_bg is not None
    backgrounds = {"background": page, "shown turn": page + Color.parse(variables[shown_bg[1:]])}
    low = []
    for name, style in STYLES.items():
        foreground, own_background = style_colours(style)
        assert foreground is not None, f"{name}: {style} names no colour"
        for where, background in backgrounds.items():
            if own_background is not None:
                background = page + Color.parse(variables[own_background[1:]])
            ratio = contrast(resolve(variables[foreground[1:]], background), background)
            if ratio < AA:
                low.append(f"{name} ({style}) on the {where}: {ratio:.2f}")
    assert not low, low


async def test_the_panel_draws_only_with_its_checked_styles(conversation):
    project, traces = conversation
    allowed = set(STYLES.values()) | {SHOWN, f"{STYLES['turn_shown']} {SHOWN}"}
    app = HistoryApp()
    async with app.run_test(size=(90, 30)) as pilot:
        panel = app.panel
        for turn in (1, -1):
            for mode in ("log", "timeline", "tracker"):
                panel.set_mode(mode)
                await pilot.pause()
                show(panel, project, traces, turn)
                await pilot.pause()
                used = {str(span.style) for span in body(panel).spans}
                assert used <= allowed, (mode, used - allowed)


# --- in the workbench -----------------------------------------------------------------------


async def test_the_workbench_feeds_the_whole_conversation_and_time_travel(tmp_path):
    app = make_app(copy_sample(tmp_path), offline=True, watch=False, store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "where is my order")
        await send(pilot, "A1001")
        panel = app.query_one(HistoryPanel)
        assert panel.stale and panel.rows == []  # a hidden tab is drawn when it is shown
        app.main.panels.reveal("history")
        await pilot.pause()
        assert not panel.stale
        assert {row.turn for row in panel.rows} == {0, 1, 2}
        assert panel.query_one("#history-mode").region.width > 0  # the tab is shown
        app.main.show_turn(1)
        await pilot.pause()
        assert panel.shown_turn == 1
        assert {row.turn for row in panel.rows} == {0, 1, 2}
        assert {panel.rows[n].turn for n in highlighted(panel)} == {1}
        await app.main.run_action("copy_tracker")
        await pilot.pause()
        state = json.loads(app.clipboard)
        assert state["sender_id"] == app.conversation.sender_id
        assert state["latest_message"]["text"] == "where is my order"


async def test_typing_from_the_panels_controls_goes_to_the_message_input(tmp_path):
    app = make_app(copy_sample(tmp_path), offline=True, watch=False, store=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        app.main.panels.reveal("history")
        await pilot.pause()
        panel = app.query_one(HistoryPanel)
        for control in ("#history-mode", "#history-filter", "#history-scroll"):
            app.main.chat.input.value = ""
            panel.query_one(control).focus()
            await pilot.press(*"tl ")
            await pilot.pause()
            assert app.main.chat.input.value == "tl ", control
            assert panel.mode == "log" and panel.categories == FILTERS[0][1]


async def test_every_mode_shows_controls_as_text(conversation):
    project, _ = conversation
    evil = "evil\x1b[2J\x9b"
    started = Event("flow_started", {"flow_id": evil, "metadata": {"frame_id": "f1"}})
    interrupted = Event("flow_interrupted", {"flow_id": evil})
    other = Event("flow_started", {"flow_id": f"other{evil}", "metadata": {"frame_id": "f2"}})
    frames = [StackFrame("f1", "flow", evil), StackFrame("f2", "flow", f"other{evil}")]
    trace = TurnTrace(
        index=0,
        user_text=evil,
        events=[Event("user", {"text": evil}), started, interrupted, other],
        errors=[evil],
        slots_after={evil: evil},
        stack_after=frames,
    )
    app = HistoryApp()
    async with app.run_test(size=(90, 30)) as pilot:
        panel = app.panel
        for mode in MODES:
            panel.set_mode(mode)
            await pilot.pause()
            show(panel, project, [trace], 0)
            await pilot.pause()
            shown = body(panel).plain
            assert "\x1b" not in shown and "\x9b" not in shown, mode
            # JSON writes them as escapes (the same data once parsed), the rest as pictures
            assert ("\\u001b[2J" if mode == "tracker" else "␛[2J") in shown, mode
