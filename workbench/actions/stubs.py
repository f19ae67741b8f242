"""E2E ``stub_custom_actions``: canned events and responses instead of running actions.

Keys are an action name (every test of the file) or ``<test case>::<action>`` (one
test; spaces in the test case name become ``_``), as in Rasa's e2e runner. Rasa
needs every action stubbed once stubs are used; we hand unstubbed actions to a
fallback runner when there is one.

A stub may say ``error: <message>`` instead: the action fails, as one failed in a
production conversation exported as a test (the workbench's; Rasa's runner ignores the
key, and its action returns nothing).
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench.actions.protocol import ActionResult, CustomActionRunner
from workbench.actions.tracker_state import plain
from workbench.calm.values import JSONValue
from workbench.engine.tracker import Tracker
from workbench.project.model import Project, TestCase, TestFile

KIND = "stub"
SEPARATOR = "::"


def stub_key(test_case: str, action: str) -> str:
    return f"{test_case.replace(' ', '_')}{SEPARATOR}{action}"


class StubbedActions:
    """A `CustomActionRunner` answering from stubs; per-test stubs win over file ones."""

    def __init__(
        self,
        stubs: Mapping[str, JSONValue],
        test_case: str | None = None,
        fallback: CustomActionRunner | None = None,
    ) -> None:
        self.stubs = dict(stubs or {})
        self.test_case = test_case
        self.fallback = fallback

    @classmethod
    def for_test(
        cls,
        test_file: TestFile,
        test_case: TestCase | str | None = None,
        fallback: CustomActionRunner | None = None,
    ) -> StubbedActions:
        name = test_case.name if isinstance(test_case, TestCase) else test_case
        return cls(test_file.stub_custom_actions, name, fallback)

    def stub_for(self, action: str) -> tuple[str, JSONValue] | None:
        """(the key that matched, its stub) or None."""
        keys = [stub_key(self.test_case, action)] if self.test_case else []
        keys.append(action)
        for key in keys:
            if key in self.stubs:
                return key, self.stubs[key]
        return None

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        found = self.stub_for(name)
        if found is None:
            if self.fallback is not None:
                return await self.fallback.run(name, tracker, project)
            return ActionResult(
                kind=KIND,
                error=f"custom action '{name}' has no stub in this test file's "
                "stub_custom_actions and there is no action runner to fall back to; "
                f"add a stub under '{name}' (all tests) or "
                f"'{stub_key(self.test_case or '<test case>', name)}' (one test)",
            )
        key, stub = found
        stub = plain(stub) if stub is not None else {}
        if not isinstance(stub, dict):
            return ActionResult(kind=KIND, error=f"stub '{key}' must be a mapping, not {stub!r}")
        error = stub.get("error")
        if error is not None:
            return ActionResult(kind=KIND, error=f"stub '{key}': {error}")
        events, responses = stub.get("events") or [], stub.get("responses") or []
        if not isinstance(events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("event"), str) for e in events
        ):
            return ActionResult(
                kind=KIND, error=f"stub '{key}': events must be a list of Rasa event mappings"
            )
        if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
            return ActionResult(kind=KIND, error=f"stub '{key}': responses must be a list")
        return ActionResult(kind=KIND, events=events, messages=responses)
