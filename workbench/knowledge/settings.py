"""The EnterpriseSearchPolicy settings the answering side reads, with Rasa 3.21's
defaults.

`project.config.search` (the parsed policy, with file and line on every problem) is the
one source once config.py has it; until then the entry is read here from the raw
`policies:` list, by the same names, so that the rest of the package does not change
when it switches over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from workbench.calm.values import JSONObject, JSONValue
from workbench.engine.search import SEARCH_POLICY
from workbench.project.model import Project

DEFAULT_LLM: JSONObject = {
    "provider": "openai",
    "model": "gpt-5-mini-2025-08-07",
    "reasoning_effort": "minimal",
    "timeout": 10,
    "temperature": 1.0,
    "max_completion_tokens": 256,
    "max_retries": 1,
}
DEFAULT_EMBEDDINGS: JSONObject = {"provider": "openai", "model": "text-embedding-3-large"}


@dataclass(frozen=True)
class SearchSettings:
    vector_store_type: str = "faiss"
    docs_source: str | None = "./docs"
    threshold: float = 0.0
    llm: JSONObject = field(default_factory=lambda: dict(DEFAULT_LLM))
    embeddings: JSONObject = field(default_factory=lambda: dict(DEFAULT_EMBEDDINGS))
    prompt_template: str | None = None
    citation_enabled: bool = False
    check_relevancy: bool = False
    use_generative_llm: bool = True
    max_messages_in_query: int = 2
    max_history: int | None = None
    include_date_time: bool = True
    timezone: str = "UTC"


def search_settings(project: Project) -> SearchSettings | None:
    """The policy's settings; None when the project does not configure it."""
    parsed = getattr(project.config, "search", None)
    if parsed is not None:
        return cast(SearchSettings, parsed)
    for policy in project.config.policies:
        if str(policy.get("name", "")).rsplit(".", 1)[-1] == SEARCH_POLICY:
            return _read(policy)
    return None


def _read(policy: JSONObject) -> SearchSettings:
    store = policy.get("vector_store")
    store = store if isinstance(store, dict) else {}
    source = store.get("source", "./docs")
    threshold = store.get("threshold")
    prompt = policy.get("prompt_template") or policy.get("prompt")
    return SearchSettings(
        vector_store_type=str(store.get("type") or "faiss"),
        docs_source=str(source) if source else None,
        threshold=float(threshold) if isinstance(threshold, (int, float)) else 0.0,
        llm=_section(policy.get("llm"), DEFAULT_LLM),
        embeddings=_section(policy.get("embeddings"), DEFAULT_EMBEDDINGS),
        prompt_template=str(prompt) if isinstance(prompt, str) and prompt.strip() else None,
        citation_enabled=_flag(policy.get("citation_enabled"), False),
        check_relevancy=_flag(policy.get("check_relevancy"), False),
        use_generative_llm=_flag(policy.get("use_generative_llm"), True),
        max_messages_in_query=_count(policy.get("max_messages_in_query")) or 2,
        max_history=_count(policy.get("max_history")),
        include_date_time=_flag(policy.get("include_date_time"), True),
        timezone=str(policy.get("timezone") or "UTC"),
    )


def _section(value: JSONValue, default: JSONObject) -> JSONObject:
    return dict(value) if isinstance(value, dict) and value else dict(default)


def _flag(value: JSONValue, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _count(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
