"""A flow as a chart on a character grid: boxes for steps, edges for `next` links.

Pure (no Textual), so layouts of real flows are unit-tested on their own; `FlowChart`
paints the grid. The layout is a small layered (Sugiyama) drawing made for a narrow
terminal column:

- rank = the longest path from START, ignoring back edges (found by a depth-first walk
  in the order the steps are written, so the `then` of a branch sits left of its `else`);
- an edge that spans several ranks runs through one-column placeholders, one per rank
  it crosses; branches sit side by side, ordered to cross less (barycenters);
- edges are routed orthogonally in the gap between two rows of boxes: down from the
  source, along a track of their own, down into the target, with their `if`/`else`
  written beside the arrow;
- a jump back to an earlier step (a loop) and every way to END end in a one-line marker
  under their step (`↻ to ask_email`, `● END`) instead of a line across the chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workbench.project.flow_links import flow_links
from workbench.project.model import END_STEP, START_STEP, Flow, Step
from workbench.tui.widgets.flow_graph import step_label, target_label

START = "\0start"  # the key of the START node (no step id can hold a NUL)
COMPACT = "compact"
FULL = "full"
COL_GAP = 2  # columns between two nodes of a rank
COMPACT_LABEL = 18  # characters of a step's label in compact boxes
FULL_LABEL = 36  # a full label wraps at this width
EDGE_LABEL = {COMPACT: 24, FULL: 40}  # an edge label's room at most

# how a step's kind is told in a compact box (a response, `action: utter_…`, is "»")
KIND_MARK = {
    "collect": "?",
    "action": "▸",
    "set_slots": "=",
    "call": "↳",
    "link": "⇒",
    "noop": "·",
}


@dataclass(frozen=True)
class ChartEdge:
    """A link between two nodes of the chart (END and loops end in a marker node)."""

    source: str
    target: str  # a node key
    label: str | None  # `if …` / `else`; None for a plain `next`
    step_target: str | None = None  # the step id or END the flow file names


@dataclass
class ChartNode:
    key: str
    kind: str  # start / step / end / loop / dummy
    lines: tuple[str, ...] = ()
    step_id: str | None = None
    step_kind: str | None = None
    target: str | None = None  # a loop marker's step; a call/link step's flow
    rank: int = 0
    x: int = 0
    y: int = 0
    width: int = 1
    height: int = 1

    @property
    def center(self) -> int:
        return self.x + self.width // 2

    @property
    def selectable(self) -> bool:
        return self.kind in ("step", "loop")


@dataclass(frozen=True)
class Cell:
    char: str = " "
    # box, current, visited, untested, text, edge, taken, label, end, loop, start
    role: str = ""
    owner: str | None = None  # the node a click on this cell selects


BLANK = Cell()


@dataclass
class Chart:
    """The laid-out chart: `rows` of cells, the nodes by key and in reading order."""

    flow_id: str
    zoom: str
    rows: list[list[Cell]] = field(default_factory=list)
    nodes: dict[str, ChartNode] = field(default_factory=dict)
    ranks: list[list[str]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)

    @property
    def height(self) -> int:
        return len(self.rows)

    def text(self) -> str:
        """The chart as plain text (tests, and copying into a bug report)."""
        return "\n".join("".join(c.char for c in row).rstrip() for row in self.rows)

    def owner_at(self, x: int, y: int) -> str | None:
        if 0 <= y < len(self.rows) and 0 <= x < len(self.rows[y]):
            return self.rows[y][x].owner
        return None

    def selectable(self) -> list[str]:
        """The keys of the nodes a cursor can rest on, rank by rank, left to right."""
        return [k for rank in self.ranks for k in rank if self.nodes[k].selectable]


# --- the graph ---------------------------------------------------------------------------


def compact_condition(condition: str) -> str:
    """`slots.order_status = "not_found"` reads as `order_status = "not_found"`."""
    return condition.replace("slots.", "")


def edge_label(condition: str | None, zoom: str) -> str:
    if condition is None:
        return "else"
    return compact_condition(condition) if zoom == COMPACT else f"if {condition}"


def step_lines(step: Step, zoom: str, mark: str | None = None) -> tuple[str, ...]:
    if mark:
        width = COMPACT_LABEL if zoom == COMPACT else FULL_LABEL
        return (*step_lines(step, zoom), _cut(mark, width))
    if zoom == COMPACT:
        mark = KIND_MARK.get(step.kind, step.kind)
        text = step_label(step).removeprefix(step.kind).removeprefix(" ")
        if step.kind == "action" and text.startswith("utter_"):
            mark, text = "»", text.removeprefix("utter_")  # a response: what the bot says
        elif step.kind == "action":
            text = text.removeprefix("action_")
        return (_cut(f"{mark} {text}".rstrip(), COMPACT_LABEL),)
    lines = _wrap(step_label(step), FULL_LABEL)
    if step.explicit_id:
        lines.append(_cut(f"#{step.id}", FULL_LABEL))
    return tuple(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        cut = cut if cut > 0 else width
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    lines.append(text)
    return lines[:3] if len(lines) <= 3 else [*lines[:2], _cut(" ".join(lines[2:]), width)]


def flow_edges(flow: Flow) -> list[tuple[str, str | None, str, bool]]:
    """(source, condition, target, is_branch) for every link of the flow, START's
    first; targets are step ids or END."""
    return [
        (START if source == START_STEP else source, condition, target, branch)
        for source, condition, target, branch in flow_links(flow)
    ]


def _back_edges(flow: Flow, edges: list[tuple[str, str | None, str, bool]]) -> set[int]:
    """Indexes of the edges that close a cycle in a depth-first walk from START (then
    from each step no walk reached, in file order)."""
    known = {s.id for s in flow.steps}
    out: dict[str, list[int]] = {}
    for index, (source, *_) in enumerate(edges):
        out.setdefault(source, []).append(index)
    state: dict[str, int] = {}  # 1 on the walk's path, 2 done
    back: set[int] = set()
    for root in [START, *(s.id for s in flow.steps)]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out.get(root, [])))]
        while stack:
            node, pending = stack[-1]
            following: int | None = next(pending, None)
            if following is None:
                state[node] = 2
                stack.pop()
                continue
            target = edges[following][2]
            if target not in known:
                continue
            if state.get(target) == 1:
                back.add(following)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(out.get(target, []))))
    return back


# --- layout ------------------------------------------------------------------------------


def layout_flow(
    flow: Flow,
    zoom: str = COMPACT,
    *,
    current: str | None = None,
    visited: Iterable[str] = (),
    taken: Iterable[tuple[str, str]] = (),
    marks: Mapping[str, str] | None = None,
    untested: Iterable[str] = (),
) -> Chart:
    """The chart of `flow`: `current` is the step the flow waits at, `visited` the steps
    this conversation went through and `taken` the links it followed ((source, target)
    step ids; START and END as themselves); `marks` a line more in a step's box (what a
    call of an agent or tool is, and how it went: `agent · waiting`); `untested` the
    steps the last test run did not reach (drawn dashed and dim)."""
    visited_set, taken_set = set(visited), set(taken)
    chart = Chart(flow.id, zoom)
    nodes = chart.nodes
    nodes[START] = ChartNode(START, "start", ("● START",), width=7)
    for step in flow.steps:
        lines = step_lines(step, zoom, (marks or {}).get(step.id))
        nodes[step.id] = ChartNode(
            step.id,
            "step",
            lines,
            step_id=step.id,
            step_kind=step.kind,
            target=step.call or step.link,
            width=max(len(line) for line in lines) + 4,
            height=len(lines) + 2,
        )
    raw = flow_edges(flow)
    back = _back_edges(flow, raw)
    edges: list[ChartEdge] = []
    for index, (source, condition, target, branch) in enumerate(raw):
        label = edge_label(condition, zoom) if branch else None
        if target in nodes and target != START and index not in back:
            edges.append(ChartEdge(source, target, label, target))
            continue
        key = f"\0marker{index}"
        if target == END_STEP:
            nodes[key] = ChartNode(key, "end", ("● END",), width=5)
        else:  # a loop back, or a step the flow does not have
            shown = target_label(flow, target)
            text = f"↻ to {shown}" if index in back else f"✗ {shown}"
            text = _cut(text, COMPACT_LABEL + 4 if zoom == COMPACT else FULL_LABEL + 4)
            nodes[key] = ChartNode(key, "loop", (text,), target=target, width=len(text))
        edges.append(ChartEdge(source, key, label, target))
    _rank(chart, edges)
    chain = _split_long_edges(chart, edges)
    _order(chart, chain)
    _widen_for_labels(chart, chain)
    gaps = _place(chart, chain)
    _draw(chart, chain, gaps, current, visited_set, taken_set, set(untested))
    return chart


def _rank(chart: Chart, edges: list[ChartEdge]) -> None:
    nodes = chart.nodes
    incoming: dict[str, list[str]] = {k: [] for k in nodes}
    for edge in edges:
        incoming[edge.target].append(edge.source)
    ranked: dict[str, int] = {}

    def rank_of(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key in ranked:
            return ranked[key]
        parents = [p for p in incoming[key] if p not in seen]
        result = 1 + max((rank_of(p, seen | {key}) for p in parents), default=-1)
        ranked[key] = result
        return result

    for key in nodes:
        if nodes[key].kind == "step" and not incoming[key]:
            ranked[key] = 1  # unreachable: beside the first step
    for key in nodes:
        nodes[key].rank = rank_of(key)


@dataclass(frozen=True)
class _Segment:
    """One rank-to-rank piece of an edge; `edge.label` is written on its first piece."""

    upper: str
    lower: str
    edge: ChartEdge
    first: bool


def _split_long_edges(chart: Chart, edges: list[ChartEdge]) -> list[_Segment]:
    """Edges as segments between adjacent ranks, with a placeholder node per rank an
    edge crosses."""
    segments = []
    for index, edge in enumerate(edges):
        upper = edge.source
        low, high = chart.nodes[edge.source].rank, chart.nodes[edge.target].rank
        for rank in range(low + 1, high):
            key = f"\0via{index}.{rank}"
            chart.nodes[key] = ChartNode(key, "dummy", rank=rank)
            segments.append(_Segment(upper, key, edge, upper == edge.source))
            upper = key
        segments.append(_Segment(upper, edge.target, edge, upper == edge.source))
    return segments


def _order(chart: Chart, segments: list[_Segment]) -> None:
    """Nodes of each rank left to right: first in the order a depth-first walk meets
    them (branches as written), then moved to the barycenter of their parents while
    that crosses fewer edges."""
    below: dict[str, list[str]] = {}
    above: dict[str, list[str]] = {}
    for seg in segments:
        below.setdefault(seg.upper, []).append(seg.lower)
        above.setdefault(seg.lower, []).append(seg.upper)
    order: list[str] = []
    seen: set[str] = set()
    reach: dict[str, int] = {}  # the deepest rank reachable from a node

    def deepest(key: str) -> int:
        if key not in reach:
            reach[key] = chart.nodes[key].rank  # (segments only go down: no cycle)
            reach[key] = max([reach[key], *(deepest(k) for k in below.get(key, []))])
        return reach[key]

    def walk(key: str) -> None:
        # the branch that goes on longest first: the flow's spine stays on the left,
        # short exits (an error message and END) sit to its right
        stack = [key]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            order.append(node)
            children = sorted(below.get(node, []), key=deepest, reverse=True)
            stack.extend(reversed(children))

    walk(START)
    for key in list(chart.nodes):
        walk(key)
    depth = max(n.rank for n in chart.nodes.values()) + 1
    ranks: list[list[str]] = [[] for _ in range(depth)]
    for key in order:
        ranks[chart.nodes[key].rank].append(key)

    def crossings(ranks: list[list[str]]) -> int:
        where = {k: i for rank in ranks for i, k in enumerate(rank)}
        pairs = [(where[s.upper], where[s.lower], chart.nodes[s.upper].rank) for s in segments]
        total = 0
        for i, (a, b, r) in enumerate(pairs):
            for c, d, r2 in pairs[i + 1 :]:
                if r == r2 and (a - c) * (b - d) < 0:
                    total += 1
        return total

    best = crossings(ranks)
    for sweep in range(4):
        trial = [list(r) for r in ranks]
        rows = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for r in rows:
            ref = trial[r - 1] if sweep % 2 == 0 else trial[r + 1]
            links = above if sweep % 2 == 0 else below
            where = {k: i for i, k in enumerate(ref)}

            mine = {k: float(i) for i, k in enumerate(trial[r])}

            def bary(key: str, links=links, where=where, mine=mine) -> float:
                near = [where[n] for n in links.get(key, []) if n in where]
                return sum(near) / len(near) if near else mine[key]

            trial[r].sort(key=bary)
        score = crossings(trial)
        if score < best:
            ranks, best = trial, score
    chart.ranks = ranks


def _widen_for_labels(chart: Chart, segments: list[_Segment]) -> None:
    """A placeholder or marker that carries an edge label gets the room to write it."""
    room = EDGE_LABEL[chart.zoom]
    for seg in segments:
        node = chart.nodes[seg.lower]
        if seg.first and seg.edge.label and node.kind in ("dummy", "end", "loop"):
            node.width = max(node.width, 2 + min(len(seg.edge.label), room))


def _place(chart: Chart, segments: list[_Segment]) -> list[dict[str, int]]:
    """x: each node under the middle of its parents (then over its children), pushed
    right where it would overlap its left neighbour; y: rank by rank, with a gap for the
    edge tracks and a row for the arrows and their labels."""
    nodes = chart.nodes
    above: dict[str, list[str]] = {}
    below: dict[str, list[str]] = {}
    for seg in segments:
        above.setdefault(seg.lower, []).append(seg.upper)
        below.setdefault(seg.upper, []).append(seg.lower)

    def pack(rank: list[str], wanted: dict[str, float]) -> None:
        edge = -COL_GAP
        for key in rank:
            node = nodes[key]
            middle = round(wanted.get(key, node.center))
            node.x = max(middle - node.width // 2, edge + COL_GAP)
            edge = node.x + node.width

    for rank in chart.ranks:
        pack(rank, {k: 0 for k in rank})
    for sweep in range(5):  # down, up, ..., down: a chain ends straight under its head
        order = chart.ranks if sweep % 2 == 0 else list(reversed(chart.ranks))
        links = above if sweep % 2 == 0 else below
        for rank in order:
            wanted = {}
            for key in rank:
                near = [_exit(nodes[n]) for n in links.get(key, [])]
                if near:
                    wanted[key] = sum(near) / len(near)
            pack(rank, wanted)
        shift = min(n.x for n in nodes.values())
        for node in nodes.values():
            node.x -= shift
    return _place_rows(chart, segments)


def _place_rows(chart: Chart, segments: list[_Segment]) -> list[dict[str, int]]:
    """y of every node; returns each gap's tracks (see `_tracks`)."""
    arrivals = _arrivals(chart, segments)
    gaps = []
    y = 0
    for index, rank in enumerate(chart.ranks):
        if index:
            tracks, count = _tracks(chart, segments, arrivals, index - 1)
            gaps.append(tracks)
            y += count + 1
        height = max(chart.nodes[k].height for k in rank)
        for key in rank:
            chart.nodes[key].y = y
            if chart.nodes[key].kind == "dummy":
                chart.nodes[key].height = height
        y += height
    gaps.append({})
    return gaps


def _tracks(
    chart: Chart, segments: list[_Segment], arrivals: list[int], rank: int
) -> tuple[dict[str, int], int]:
    """The track (row of the gap below `rank`) of each source node of that gap whose
    edges turn, and how many tracks the gap needs. A source's edges share its track."""
    spans: dict[str, tuple[int, int]] = {}
    for seg, ex in zip(segments, arrivals, strict=True):
        upper = chart.nodes[seg.upper]
        if upper.rank != rank:
            continue
        sx = _exit(upper)
        if sx == ex and seg.upper not in spans:
            continue
        low, high = spans.get(seg.upper, (sx, sx))
        spans[seg.upper] = (min(low, ex), max(high, ex))
    ends: list[int] = []
    tracks: dict[str, int] = {}
    for key, (low, high) in sorted(spans.items(), key=lambda item: item[1]):
        if low == high:
            continue
        for track, end in enumerate(ends):
            if end + 1 < low:
                ends[track] = high
                tracks[key] = track
                break
        else:
            tracks[key] = len(ends)
            ends.append(high)
    return tracks, len(ends)


def _exit(node: ChartNode) -> int:
    return node.x if node.kind == "dummy" else node.center


def _arrivals(chart: Chart, segments: list[_Segment]) -> list[int]:
    """The column each segment enters its lower node at: the middle of a node with one
    edge in and no label, else ports from the left, one per incoming edge (ordered as
    their sources), so that each label has the room up to the next port."""
    into: dict[str, list[int]] = {}
    for index, seg in enumerate(segments):
        into.setdefault(seg.lower, []).append(index)
    for members in into.values():
        members.sort(key=lambda i: chart.nodes[segments[i].upper].center)
    out = []
    for index, seg in enumerate(segments):
        lower = chart.nodes[seg.lower]
        labelled = seg.first and bool(seg.edge.label)
        if lower.kind == "dummy":
            out.append(lower.x)
        elif lower.kind in ("end", "loop"):
            out.append(lower.x if labelled else lower.center)
        elif len(into[seg.lower]) == 1 and not labelled:
            out.append(lower.center)
        else:
            members = into[seg.lower]
            step = max(1, (lower.width - 2) // len(members))
            out.append(lower.x + 1 + members.index(index) * step)
    return out


# --- drawing -----------------------------------------------------------------------------

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
LINES = {
    UP | DOWN: "│",
    LEFT | RIGHT: "─",
    DOWN | RIGHT: "┌",
    DOWN | LEFT: "┐",
    UP | RIGHT: "└",
    UP | LEFT: "┘",
    UP | DOWN | RIGHT: "├",
    UP | DOWN | LEFT: "┤",
    LEFT | RIGHT | DOWN: "┬",
    LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
    UP: "│",
    DOWN: "│",
    LEFT: "─",
    RIGHT: "─",
}
LIGHT = "┌┐└┘─│┬"
HEAVY = "┏┓┗┛━┃┳"
DASHED = "┌┐└┘╌╎┬"  # a step no test reached


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.rows = [[BLANK] * width for _ in range(height)]  # cells are frozen: shared
        self.links = [[0] * width for _ in range(height)]
        self.taken = [[False] * width for _ in range(height)]
        self.made: dict[tuple[str, str, str | None], Cell] = {}

    def put(self, x: int, y: int, text: str, role: str, owner: str | None = None) -> None:
        row = self.rows[y]
        made = self.made
        for offset, char in enumerate(text):
            if 0 <= x + offset < len(row):
                # a chart repeats few (char, role, owner) triples: one frozen Cell each
                cell = made.get((char, role, owner))
                if cell is None:
                    cell = made[(char, role, owner)] = Cell(char, role, owner)
                row[x + offset] = cell

    def link(self, x: int, y: int, bits: int, taken: bool) -> None:
        self.links[y][x] |= bits
        self.taken[y][x] |= taken

    def line(self, x0: int, y0: int, x1: int, y1: int, taken: bool) -> None:
        """An orthogonal line from (x0, y0) to (x1, y1): one of them equal."""
        if x0 == x1:
            for y in range(min(y0, y1), max(y0, y1) + 1):
                self.link(
                    x0, y, (UP if y > min(y0, y1) else 0) | (DOWN if y < max(y0, y1) else 0), taken
                )
        else:
            for x in range(min(x0, x1), max(x0, x1) + 1):
                self.link(
                    x,
                    y0,
                    (LEFT if x > min(x0, x1) else 0) | (RIGHT if x < max(x0, x1) else 0),
                    taken,
                )

    def lines_to_cells(self) -> None:
        for y, row in enumerate(self.links):
            for x, bits in enumerate(row):
                if bits and self.rows[y][x].char == " ":
                    role = "taken" if self.taken[y][x] else "edge"
                    self.put(x, y, LINES[bits], role)


def _draw(
    chart: Chart,
    segments: list[_Segment],
    gaps: list[dict[str, int]],
    current: str | None,
    visited: set[str],
    taken: set[tuple[str, str]],
    untested: set[str],
) -> None:
    nodes = chart.nodes
    width = max(n.x + n.width for n in nodes.values()) + EDGE_LABEL[chart.zoom]
    height = max(n.y + n.height for n in nodes.values())
    canvas = _Canvas(width, height)
    arrivals = _arrivals(chart, segments)
    labels: list[tuple[int, int, str, bool]] = []
    arrows: list[tuple[int, int, bool]] = []
    ports: list[tuple[int, int]] = []  # where edges enter the next rank
    for seg, ex in zip(segments, arrivals, strict=True):
        upper, lower = nodes[seg.upper], nodes[seg.lower]
        edge = seg.edge
        is_taken = (_step_key(edge.source), edge.step_target or "") in taken
        sx = _exit(upper)
        top = upper.y + upper.height  # first row below the upper node
        # from the upper node's last row (a box's border is drawn over it later)
        canvas.line(sx, upper.y if upper.kind == "dummy" else top - 1, sx, top, is_taken)
        arrow_row = lower.y - 1
        if seg.upper in gaps[upper.rank]:
            row_y = _rank_bottom(chart, upper.rank) + gaps[upper.rank][seg.upper]
            canvas.line(sx, top, sx, row_y, is_taken)
            canvas.line(sx, row_y, ex, row_y, is_taken)
            canvas.line(ex, row_y, ex, arrow_row, is_taken)
        else:
            canvas.line(sx, top, sx, arrow_row, is_taken)
        ports.append((ex, arrow_row))
        if lower.kind == "dummy":
            canvas.link(ex, arrow_row, DOWN, is_taken)
        else:
            arrows.append((ex, arrow_row, is_taken))
        if seg.first and edge.label:
            labels.append((ex + 2, arrow_row, edge.label, is_taken))
    canvas.lines_to_cells()
    for x, y, is_taken in arrows:
        canvas.put(x, y, "▼", "taken" if is_taken else "edge")
    for x, y, text, is_taken in labels:
        limit = min([px for px, py in ports if py == y and px > x - 2] + [width], default=width)
        room = min(limit - x - 1, EDGE_LABEL[chart.zoom])
        if room > 0:
            canvas.put(x, y, _cut(text, room), "taken-label" if is_taken else "label")
    for node in nodes.values():
        _draw_node(canvas, node, current, visited, untested)
    chart.rows = [_trim(row) for row in canvas.rows]


def _step_key(key: str) -> str:
    return key if key != START else "START"


def _rank_bottom(chart: Chart, rank: int) -> int:
    return max(chart.nodes[k].y + chart.nodes[k].height for k in chart.ranks[rank])


def _draw_node(
    canvas: _Canvas,
    node: ChartNode,
    current: str | None,
    visited: set[str],
    untested: set[str],
) -> None:
    if node.kind == "dummy":
        return
    if node.kind != "step":
        role = {"start": "start", "end": "end"}.get(node.kind, "loop")
        canvas.put(node.x, node.y, node.lines[0], role, node.key if node.selectable else None)
        return
    is_current = node.step_id == current
    role = "current" if is_current else "visited" if node.step_id in visited else "box"
    if role == "box" and node.step_id in untested:
        role = "untested"
    tl, tr, bl, br, h, v, port = tuple(
        HEAVY if is_current else DASHED if node.step_id in untested else LIGHT
    )
    inner = node.width - 2
    bottom = [h] * inner
    if _has_out(canvas, node):
        bottom[node.center - node.x - 1] = port
    canvas.put(node.x, node.y, tl + h * inner + tr, role, node.key)
    for offset, line in enumerate(node.lines):
        canvas.put(node.x, node.y + 1 + offset, v, role, node.key)
        canvas.put(
            node.x + 1,
            node.y + 1 + offset,
            f" {line}".ljust(inner),
            "text" if role == "box" else role,
            node.key,
        )
        canvas.put(node.x + node.width - 1, node.y + 1 + offset, v, role, node.key)
    canvas.put(node.x, node.y + node.height - 1, bl + "".join(bottom) + br, role, node.key)


def _has_out(canvas: _Canvas, node: ChartNode) -> bool:
    below = node.y + node.height
    return below < len(canvas.links) and bool(canvas.links[below][node.center] & (UP | DOWN))


def _trim(row: list[Cell]) -> list[Cell]:
    end = len(row)
    while end and row[end - 1].char == " ":
        end -= 1
    return row[:end]


__all__ = [
    "COMPACT",
    "FULL",
    "START",
    "Cell",
    "Chart",
    "ChartEdge",
    "ChartNode",
    "compact_condition",
    "flow_edges",
    "layout_flow",
]
