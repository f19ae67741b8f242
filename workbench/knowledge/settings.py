"""The EnterpriseSearchPolicy settings the answering side reads: the policy as config.yml
configures it (`project.config.search`, parsed with Rasa 3.21's defaults and a file:line
on every problem)."""

from __future__ import annotations

from workbench.project.model import Project, SearchPolicyConfig

SearchSettings = SearchPolicyConfig


def search_settings(project: Project) -> SearchSettings | None:
    """The policy's settings; None when the project does not configure it."""
    return project.config.search
