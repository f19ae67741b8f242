"""The `EnterpriseSearchPolicy` entry of config.yml, read as Rasa 3.21 reads it.

Rasa's defaults: `vector_store: {type: faiss, source: ./docs, threshold: 0.0}`, the
default OpenAI chat and embeddings models when `llm` / `embeddings` are absent,
`use_generative_llm: true`, `citation_enabled: false`, `check_relevancy: false`,
`max_messages_in_query: 2`, `max_history: null`, `include_date_time: true`,
`timezone: UTC`, `trace_prompt_tokens: false`; `prompt` is the old name of
`prompt_template`. Rasa does not reject unknown keys or values of the wrong type (it
fails later, or silently); here each is a warning or an error with the file and line, and
the default is used instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.issues import IssueList, suggest
from workbench.project.model import SearchPolicyConfig, Source
from workbench.project.yaml_io import line_of

POLICY_NAME = "EnterpriseSearchPolicy"
VECTOR_STORE_TYPES = ("faiss", "qdrant", "milvus")
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
BOOLEAN_KEYS = (
    "citation_enabled",
    "check_relevancy",
    "use_generative_llm",
    "include_date_time",
    "trace_prompt_tokens",
)
KNOWN_KEYS = frozenset(
    {
        "name",
        "priority",
        "vector_store",
        "llm",
        "embeddings",
        "prompt",
        "prompt_template",
        "max_messages_in_query",
        "max_history",
        "timezone",
        *BOOLEAN_KEYS,
    }
)
VECTOR_STORE_KEYS = frozenset({"type", "source", "threshold"})


def build_search_policy(
    file: str, data: Mapping[str, JSONValue], line: int, issues: IssueList
) -> SearchPolicyConfig:
    """The parsed entry; every problem is an issue at its line, never an exception."""
    reader = _Reader(file, data, line, issues)
    for key in data:
        if str(key) not in KNOWN_KEYS:
            issues.warning(
                file,
                line_of(data, key),
                "unknown-search-key",
                f"{POLICY_NAME} has no setting `{key}`; it is ignored",
                suggest(str(key), KNOWN_KEYS, "see Rasa's EnterpriseSearchPolicy reference"),
            )
    store_type, docs_source, threshold, store = reader.vector_store()
    llm, llm_default = reader.model_section("llm", DEFAULT_LLM)
    embeddings, embeddings_default = reader.model_section("embeddings", DEFAULT_EMBEDDINGS)
    flags: dict[str, bool] = {}
    for key in BOOLEAN_KEYS:
        flags[key] = reader.boolean(key, default=key in ("use_generative_llm", "include_date_time"))
    if not flags["use_generative_llm"]:
        for key in ("check_relevancy", "citation_enabled"):
            if flags[key]:
                issues.warning(
                    file,
                    line_of(data, key),
                    "search-setting-unused",
                    f"`{key}` needs the generative answer; with `use_generative_llm: false` "
                    "it is ignored (as in Rasa)",
                )
    timezone = reader.timezone(flags["include_date_time"])
    return SearchPolicyConfig(
        vector_store_type=store_type,
        docs_source=docs_source,
        threshold=threshold,
        vector_store=store,
        llm=llm,
        embeddings=embeddings,
        llm_is_default=llm_default,
        embeddings_is_default=embeddings_default,
        prompt_template=reader.prompt_template(),
        citation_enabled=flags["citation_enabled"],
        check_relevancy=flags["check_relevancy"],
        use_generative_llm=flags["use_generative_llm"],
        max_messages_in_query=reader.count("max_messages_in_query", 2) or 2,
        max_history=reader.count("max_history", None),
        include_date_time=flags["include_date_time"],
        timezone=timezone,
        trace_prompt_tokens=flags["trace_prompt_tokens"],
        source=Source(file, line),
        raw=dict(data),
    )


class _Reader:
    """One key at a time, each with its own line for the issue it may raise."""

    def __init__(
        self, file: str, data: Mapping[str, JSONValue], line: int, issues: IssueList
    ) -> None:
        self.file = file
        self.data = data
        self.line = line
        self.issues = issues

    def _line(self, key: str, container: JSONValue = None) -> int:
        return line_of(self.data if container is None else container, key) or self.line

    def _invalid(self, key: str, message: str, hint: str, container: JSONValue = None) -> None:
        self.issues.error(
            self.file, self._line(key, container), "invalid-search-config", message, hint
        )

    def vector_store(self) -> tuple[str, str | None, float, JSONObject]:
        value = self.data.get("vector_store")
        if value is None:
            return "faiss", "./docs", 0.0, {}
        if not isinstance(value, dict):
            self._invalid(
                "vector_store",
                "`vector_store` must be a mapping such as {type: faiss, source: ./docs}",
                "the default (faiss over ./docs) is used",
            )
            return "faiss", "./docs", 0.0, {}
        for key in value:
            if str(key) not in VECTOR_STORE_KEYS:
                self.issues.warning(
                    self.file,
                    self._line(str(key), value),
                    "unknown-search-key",
                    f"vector_store has no setting `{key}`; it is ignored",
                    "connection settings of qdrant / milvus go in endpoints.yml's `vector_store:`",
                )
        store_type = str(value.get("type") or "faiss")
        if store_type not in VECTOR_STORE_TYPES:
            self.issues.warning(
                self.file,
                self._line("type", value),
                "unsupported-vector-store",
                f"vector store type '{store_type}' is not one the workbench can use "
                f"({', '.join(VECTOR_STORE_TYPES)}); knowledge questions get no answer",
                suggest(store_type, VECTOR_STORE_TYPES, "a custom store class runs only in Rasa"),
            )
        source = value.get("source")
        docs_source = str(source) if isinstance(source, (str, int, float)) and source else None
        if docs_source is None and store_type == "faiss":
            self._invalid(
                "vector_store",
                "`vector_store` has no `source`: there are no documents to index",
                "add `source: ./docs`, a folder of .txt files",
            )
        threshold = value.get("threshold", 0.0)
        if threshold is None:
            threshold = 0.0
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            self._invalid(
                "threshold",
                f"vector_store `threshold` must be a number, not {threshold!r}",
                "0.0 is used: every hit is kept",
                value,
            )
            threshold = 0.0
        return store_type, docs_source, float(threshold), dict(value)

    def model_section(self, key: str, default: JSONObject) -> tuple[JSONObject, bool]:
        value = self.data.get(key)
        if value is None or value == {}:
            return dict(default), True
        if not isinstance(value, dict):
            self._invalid(
                key,
                f"`{key}` of {POLICY_NAME} must be a mapping ({{model_group: id}} or "
                "provider and model)",
                "Rasa's default model is used",
            )
            return dict(default), True
        return dict(value), False

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        if value is None:
            return default
        self._invalid(key, f"`{key}` must be true or false, not {value!r}", f"{default} is used")
        return default

    def count(self, key: str, default: int | None) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self._invalid(key, f"`{key}` must be a positive whole number, not {value!r}", "")
            return default
        return value

    def prompt_template(self) -> str | None:
        value = self.data.get("prompt_template")
        if value is None and self.data.get("prompt") is not None:
            value = self.data.get("prompt")
            self.issues.warning(
                self.file,
                self._line("prompt"),
                "deprecated-search-key",
                "`prompt` is the old name of `prompt_template`",
                "rename it to `prompt_template`",
            )
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            key = "prompt_template" if "prompt_template" in self.data else "prompt"
            self._invalid(key, "the prompt template must be a file path", "")
            return None
        return value

    def timezone(self, include_date_time: bool) -> str:
        value = self.data.get("timezone", "UTC")
        name = str(value) if value else "UTC"
        if include_date_time:
            try:
                ZoneInfo(name)
            except (ValueError, OSError, KeyError):
                self._invalid(
                    "timezone",
                    f"unknown timezone '{name}'",
                    "give an IANA name such as UTC or Europe/London; UTC is used",
                )
                return "UTC"
        return name
