"""What `validate` says of a qdrant or milvus vector store that cannot be searched."""

from __future__ import annotations

import asyncio

from workbench.knowledge.base import open_knowledge_base
from workbench.knowledge.model import KnowledgeError
from workbench.knowledge.stores import REMOTE_STORES
from workbench.project.issues import IssueList
from workbench.project.model import Project
from workbench.project.search_policy import POLICY_NAME


def vector_store_issues(project: Project) -> IssueList:
    """What `validate` says of a qdrant or milvus vector store it cannot search: the client
    is not installed, the server does not answer, the collection is missing. Checked by
    the validate verb only: it connects, which a reload after every save should not."""
    issues = IssueList()
    search = project.config.search
    if search is None or search.vector_store_type not in REMOTE_STORES:
        return issues
    try:
        asyncio.run(open_knowledge_base(project, search, embedder=None, cache_dir=None))
    except KnowledgeError as error:
        issues.warning(
            search.source.file,
            search.source.line,
            "vector-store-unavailable",
            f"{POLICY_NAME} cannot search its {search.vector_store_type} vector store: "
            f"{error}; knowledge questions get the internal-error response",
            "start the server, or fix `vector_store:` in endpoints.yml",
        )
    return issues
