"""The knowledge base of EnterpriseSearchPolicy: documents read, chunked, indexed and
searched (retrieval only; answering is the conversation's part)."""

from workbench.knowledge.base import SEARCH_K, KnowledgeBase, open_knowledge_base
from workbench.knowledge.embedders import NamedEmbedder, local_embedder, model_embedder
from workbench.knowledge.model import Chunk, Embedder, Hit, KnowledgeError, KnowledgeIssue

__all__ = [
    "SEARCH_K",
    "Chunk",
    "Embedder",
    "Hit",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeIssue",
    "NamedEmbedder",
    "local_embedder",
    "model_embedder",
    "open_knowledge_base",
]
