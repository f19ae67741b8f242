"""The bundled sample project is the first thing a user opens: it must stay valid and
keep showing every feature it promises."""

from pathlib import Path

from workbench.project.validate import validate_path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


def test_sample_project_validates_without_errors_or_warnings():
    result = validate_path(SAMPLE)
    assert [str(issue) for issue in result.issues] == []


def test_sample_project_uses_every_step_type_and_feature():
    project = validate_path(SAMPLE).project
    flows = project.user_flows
    assert len(flows) >= 8
    kinds = {step.kind for flow in flows for step in flow.steps}
    assert kinds == {"collect", "action", "set_slots", "link", "call", "noop"}
    assert any(flow.guard not in (None, False) and not flow.is_link_only for flow in flows)
    called = [step.call for flow in flows for step in flow.steps if step.kind == "call"]
    assert any(called.count(target) >= 2 for target in called)
    slot_types = {slot.type for slot in project.domain.slots.values() if not slot.is_builtin}
    assert slot_types == {"text", "bool", "float", "categorical", "list", "any"}
    responses = [r for r in project.domain.responses.values() if not r.is_default]
    assert any(len(r.variations) > 1 for r in responses)
    assert any(v.condition for r in responses for v in r.variations)
    assert any(v.buttons for r in responses for v in r.variations)
    overrides = [f for f in project.flows.values() if f.is_pattern and not f.is_default_pattern]
    assert overrides
    assert project.custom_actions
    assert project.test_cases
