"""Every action a user can take on a workbench screen, in one registry: the footer
(bindings), the command palette and the help screen are all made from it, so a key shown
in one place is the key that works in the others.

Keys are chosen so that typing never triggers anything: no action sits on a printable key
(printable keys go to the message input wherever the focus is), and the ctrl keys used are
ones the message input does not use for editing. Actions that write a file or change the
conversation ask first (`asks`), or can be undone from the session browser."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input, Select, TextArea


@dataclass(frozen=True)
class UserAction:
    action: str  # the screen's `action_<name>`, with arguments if any
    key: str  # Textual key names, comma separated
    label: str  # short, for the footer
    title: str  # the palette's and the help screen's name for it
    help: str
    asks: bool = False  # writes a file or changes the conversation: confirms first
    footer: bool = True
    palette: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.footer,
            priority=self.priority,
            tooltip=self.help,
        )

    @property
    def shown_key(self) -> str:
        first = self.key.split(",")[0]
        return first.replace("ctrl+", "^").replace("escape", "Esc").replace("f1", "F1")


MAIN = (
    UserAction(
        "restart",
        "ctrl+r",
        "Restart",
        "Restart conversation",
        "A new conversation and store session (the old one can be resumed from Sessions)",
        priority=True,
    ),
    UserAction(
        "sessions",
        "ctrl+o",
        "Sessions",
        "Sessions",
        "Browse stored sessions: search, open, resume, fork, delete",
    ),
    UserAction(
        "export",
        "ctrl+s",
        "Export test",
        "Export session as e2e test",
        "Write this conversation as an e2e test case with its cassette",
        asks=True,
    ),
    UserAction(
        "rewind",
        "ctrl+b",
        "Rewind here",
        "Rewind here",
        "Restart the conversation from the selected turn (the old session stays)",
        asks=True,
    ),
    UserAction(
        "correct",
        "ctrl+g",
        "Correct",
        "Correct the model",
        "Edit the commands of the latest turn and re-run it (optionally saved as a test)",
        footer=False,
    ),
    UserAction(
        "maximize_panel",
        "ctrl+f",
        "Maximize",
        "Maximize pane",
        "Maximize or restore the focused pane",
    ),
    UserAction(
        "originals",
        "ctrl+t",
        "Originals",
        "Show originals of rephrased messages",
        "Show or hide the text that rephrased messages replaced",
        footer=False,
    ),
    UserAction(
        "knowledge",
        "",
        "",
        "Knowledge panel",
        "The knowledge question of the shown turn: chunks, prompt, answer, verdict",
        footer=False,
    ),
    UserAction(
        "agents",
        "",
        "",
        "Agents and tools panel",
        "The Calls tab: the MCP tools and sub-agents the shown turn called, their steps",
        footer=False,
    ),
    UserAction(
        "reload", "", "", "Reload project", "Load the project folder again now", footer=False
    ),
    UserAction(
        "copy_tracker",
        "",
        "",
        "Copy tracker state",
        "Copy the tracker after the shown turn as Rasa's tracker JSON (History panel)",
        footer=False,
    ),
    UserAction("help", "f1", "Keys", "Keys and actions", "Every action and its key"),
    UserAction(
        "back",
        "escape",
        "Back",
        "Back",
        "Restore a maximized pane, else back to the latest turn, else chat log ↔ input",
        footer=False,
        palette=False,
    ),
)

TRANSCRIPT = (
    UserAction("back", "escape", "Back", "Back", "Back to the session list"),
    UserAction(
        "resume",
        "ctrl+r",
        "Resume",
        "Resume this session",
        "Replay it and go on live in the same session",
        asks=False,
    ),
    UserAction("fork", "ctrl+n", "Fork", "Fork this session", "Replay it into a new session"),
    UserAction("maximize_panel", "ctrl+f", "Maximize", "Maximize pane", "Maximize or restore"),
)

SESSIONS = (
    UserAction("close", "escape", "Back", "Back", "Back to the conversation"),
    UserAction("open", "enter", "Open", "Open read-only", "Show the session's chat and turns"),
    UserAction(
        "resume",
        "ctrl+r",
        "Resume",
        "Resume session",
        "Replay it and go on live in the same session",
    ),
    UserAction("fork", "ctrl+n", "Fork", "Fork session", "Replay it into a new session"),
    UserAction(
        "delete",
        "delete",
        "Delete",
        "Delete session",
        "Delete it from the store",
        asks=True,
    ),
    UserAction("refresh", "ctrl+l", "Refresh", "Refresh", "Read the store again"),
    UserAction(
        "stats",
        "ctrl+s",
        "Statistics",
        "Session statistics",
        "Flows, pattern rates, dropped-command reasons and days of the listed sessions",
    ),
)

# the session browser's Statistics view
STATS = (
    UserAction("back", "escape", "Back", "Back", "Back to the session list"),
    UserAction(
        "open",
        "enter",
        "Open turn",
        "Open the example turn",
        "In Dropped: open the session of the highlighted turn at that turn",
    ),
    UserAction("refresh", "ctrl+l", "Refresh", "Count again", "Read the store again"),
    UserAction(
        "into_table",
        "down",
        "",
        "Into the table",
        "From the tabs (←/→ change them) into the table of the tab shown",
        footer=False,
        palette=False,
    ),
)


# the flow chart, while it has the focus: arrows move between steps, shift+arrows pan
CHART = (
    UserAction("cursor('up')", "up", "", "Step above", "Move to the step above", footer=False),
    UserAction("cursor('down')", "down", "", "Step below", "Move to the step below", footer=False),
    UserAction("cursor('left')", "left", "", "Step left", "Move to the step left", footer=False),
    UserAction(
        "cursor('right')", "right", "", "Step right", "Move to the step right", footer=False
    ),
    UserAction(
        "choose",
        "enter",
        "Open",
        "Flow chart: open step",
        "A call or link: open its flow; a loop: go to its step",
    ),
    UserAction("pan(-1, 0)", "shift+left", "", "Pan left", "Scroll the chart", footer=False),
    UserAction(
        "pan(1, 0)", "shift+right", "Pan", "Flow chart: pan", "Scroll the chart (shift+arrows)"
    ),
    UserAction("pan(0, -1)", "shift+up", "", "Pan up", "Scroll the chart", footer=False),
    UserAction("pan(0, 1)", "shift+down", "", "Pan down", "Scroll the chart", footer=False),
    UserAction("zoom", "ctrl+e", "Zoom", "Flow chart: zoom", "Compact boxes or full labels"),
)


def bindings(actions: tuple[UserAction, ...]) -> list[BindingType]:
    return [a.binding() for a in actions if a.key]


def takes_typing(widget: Widget | None) -> bool:
    """Whether printable keys are the widget's own: a text field, or an open Select
    (its type-to-search)."""
    if widget is None:
        return False
    if isinstance(widget, (Input, TextArea)):
        return True
    return any(isinstance(node, Select) and node.expanded for node in widget.ancestors_with_self)
