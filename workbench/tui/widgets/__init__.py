"""The panels of the workbench screen: each renders one `TurnTrace` against the project.

from workbench.tui.widgets import PANELS
for panel_class in PANELS:
    panel = panel_class()            # panel.panel_title: "Flows", "Commands", ...
    ...
    panel.show_trace(trace, project)  # trace None: the "No turn yet" state
"""

from workbench.tui.widgets.agents_panel import AgentsPanel
from workbench.tui.widgets.base import NO_TURN, FlowChosen, TextPanel, TracePanel
from workbench.tui.widgets.flow_panel import FlowPanel
from workbench.tui.widgets.history_panel import HistoryPanel
from workbench.tui.widgets.knowledge_panel import ChunkChosen, KnowledgePanel
from workbench.tui.widgets.panels import (
    PANELS,
    CommandsPanel,
    PromptPanel,
    RetrievedFlowsPanel,
    SlotsPanel,
    StackPanel,
)

__all__ = [
    "NO_TURN",
    "PANELS",
    "AgentsPanel",
    "ChunkChosen",
    "CommandsPanel",
    "FlowChosen",
    "FlowPanel",
    "HistoryPanel",
    "KnowledgePanel",
    "PromptPanel",
    "RetrievedFlowsPanel",
    "SlotsPanel",
    "StackPanel",
    "TextPanel",
    "TracePanel",
]
