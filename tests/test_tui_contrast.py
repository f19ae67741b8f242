"""Every piece of text on the main screen meets WCAG AA contrast (4.5:1) against its
background in the default theme, measured on what the app renders (the compositor's
strips: the colours a terminal is told to draw, with dim already blended in), on every
panel; and the panels take their colours from the theme, so switching theme recolours
them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import copy_sample, send, settle, start

from workbench.tui.app import make_app
from workbench.tui.widgets.panel_area import PanelArea

PANELS = ("commands", "slots", "stack", "prompt", "history", "flow", "agents", "knowledge")
# box drawing, block elements, tree guides, the toggle glyph of a checkbox: graphics,
# which WCAG holds to 3:1 as UI components, not text
GRAPHICS = set("─│╭╮╰╯├└┬┴┼▔▁▂▃▄▅▆▇█▉▊▋▌▍▎▏▐━┃╸╹╺╻┏┓┗┛░▒▓▼▶◀▲·•X ")
AA = 4.5


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def low_contrast_text(app) -> list[tuple[float, int, str]]:
    """(ratio, screen line, text) of every rendered run of text below AA."""
    found = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            text, style = segment.text, segment.style
            if style is None or not text.strip() or set(text) <= GRAPHICS:
                continue
            if style.color is None or style.bgcolor is None:
                continue
            fg = tuple(style.color.get_truecolor())
            bg = tuple(style.bgcolor.get_truecolor())
            if style.reverse:
                fg, bg = bg, fg
            ratio = contrast(fg, bg)
            if ratio < AA:
                found.append((round(ratio, 2), y, text.strip()))
    return found


def test_the_contrast_measure_matches_wcags_examples():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


@pytest.mark.parametrize("size", [(100, 30), (160, 45)])
async def test_all_text_meets_aa_contrast_in_the_default_theme(project, size):
    app = make_app(project, offline=True)
    async with app.run_test(size=size) as pilot:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        await send(pilot, "I want to cancel order A1002")
        await settle(pilot)
        failures = {"chat": low_contrast_text(app)}
        area = app.main.query_one(PanelArea)
        for name in PANELS:
            if area.query(f"#panel-{name}"):
                area.reveal(name)
                await settle(pilot)
                failures[name] = low_contrast_text(app)
        assert {k: v for k, v in failures.items() if v} == {}


async def test_switching_theme_recolours_the_panels(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "I want to cancel order A1002")
        app.main.query_one(PanelArea).reveal("history")
        await settle(pilot)

        def slot_line_colour() -> tuple[int, int, int]:
            for strip in app.screen._compositor.render_strips():
                for segment in strip:
                    if segment.text.startswith("slot order_id"):
                        return tuple(segment.style.color.get_truecolor())
            raise AssertionError("no slot event line on screen")

        dark = slot_line_colour()
        app.theme = "textual-light"
        await settle(pilot)
        light = slot_line_colour()
        assert dark != light
        assert luminance(light) < luminance(dark)  # dark text on the light theme
