"""Loading and validating CALM project folders."""

from .issues import Issue, IssueList
from .loader import LoadResult, ProjectNotFound, load_project
from .model import Flow, Project, Step

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
