"""The ways out of a flow's steps, as the executor follows them: what the chart draws,
the path reader walks and test coverage counts."""

from __future__ import annotations

from workbench.project.model import END_STEP, START_STEP, ConditionalNext, Flow, StaticNext, Step


def step_links(step: Step) -> list[tuple[str | None, str, bool]]:
    """(condition, target, is_branch) of each way out of `step`; a conditional `next`
    without an `else` ends the flow when nothing matches (as the executor does)."""
    nxt = step.next
    if isinstance(nxt, ConditionalNext):
        out: list[tuple[str | None, str, bool]] = [
            (b.condition, b.target, True) for b in nxt.branches
        ]
        if nxt.else_target is None:
            out.append((None, END_STEP, True))
        return out
    if isinstance(nxt, StaticNext):
        return [(None, nxt.target, False)]
    return [] if step.kind == "link" else [(None, END_STEP, False)]


def flow_links(flow: Flow) -> list[tuple[str, str | None, str, bool]]:
    """(source, condition, target, is_branch) for every link of the flow, START's
    (`START_STEP`) first; targets are step ids or END."""
    first = flow.first_step
    links: list[tuple[str, str | None, str, bool]] = [
        (START_STEP, None, first.id if first else END_STEP, False)
    ]
    for step in flow.steps:
        links += [(step.id, cond, target, branch) for cond, target, branch in step_links(step)]
    return links


__all__ = ["flow_links", "step_links"]
