"""Maximize the focused pane or restore the layout: one action for every screen that has
panes (the main screen and the sessions browser)."""

from __future__ import annotations

from textual.screen import Screen

from workbench.tui.widgets.chat import ChatPane
from workbench.tui.widgets.panel_area import PanelBox, PanelTabs


def toggle_maximize(screen: Screen) -> None:
    """Maximize the pane that has focus (the chat, the tabs, a pinned panel), or restore."""
    if screen.maximized is not None:
        screen.minimize()
        return
    focused = screen.focused
    chain = [focused, *focused.ancestors] if focused is not None else []
    target = next((n for n in chain if isinstance(n, (PanelTabs, PanelBox, ChatPane))), None)
    screen.maximize(target or screen.query_one(PanelTabs), container=False)
