"""Loading and validating CALM project folders."""

from workbench.project.issues import Issue, IssueList
from workbench.project.loader import LoadResult, ProjectNotFound, load_project
from workbench.project.model import Flow, Project, Step

__all__ = [
    "Flow",
    "Issue",
    "IssueList",
    "LoadResult",
    "Project",
    "ProjectNotFound",
    "Step",
    "load_project",
]
