"""Which model to call, and how: resolving `llm:` / `embeddings:` config into a `ModelSpec`.

A command generator's `llm` (and `flow_retrieval.embeddings`) is either
`{model_group: id}`, resolved against the project's `model_groups`, or an inline client
config `{provider, model, ...}` (reference section h). The first model of a group is the
one called; the group's other models, and any `fallbacks:` listed on a model, are tried in
order when it fails.

Nothing here imports litellm or touches the network: this module only builds litellm model
strings and call settings, and tells from the environment whether credentials are there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import overload
from urllib.parse import urlparse

from workbench.calm.values import JSONObject, JSONValue
from workbench.errors import WorkbenchError
from workbench.project.config import model_config
from workbench.project.model import ModelConfig, Project

DEFAULT_TIMEOUT_S = 7.0
DEFAULT_TEMPERATURE = 0.0
DEFAULT_MAX_RETRIES = 2

# Rasa's default command generator model (reference section c), used when a command
# generator is configured without `llm:`.
RASA_DEFAULT_LLM: JSONObject = {
    "provider": "openai",
    "model": "gpt-5.1-2025-11-13",
    "reasoning_effort": "none",
    "max_completion_tokens": 256,
    "timeout": 7,
}

# provider (as written in config.yml/endpoints.yml) -> litellm model prefix
PROVIDER_PREFIX: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "azure_openai": "azure",
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "gemini": "gemini",
    "vertex_ai": "vertex_ai",
    "mistral": "mistral",
    "groq": "groq",
    "cohere": "cohere",
    "together_ai": "together_ai",
    "huggingface": "huggingface",
    "ollama": "ollama",
    "ollama_chat": "ollama_chat",
    "self-hosted": "hosted_vllm",
    "self_hosted": "hosted_vllm",
    "vllm": "hosted_vllm",
    "hosted_vllm": "hosted_vllm",
    "rasa": "hosted_vllm",
    "openai-compatible": "openai",
    "openai_compatible": "openai",
}

# litellm prefix -> environment variables that hold its credentials (any one suffices)
CREDENTIAL_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_AD_TOKEN"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "vertex_ai": ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_CREDENTIALS"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "huggingface": ("HF_TOKEN", "HUGGINGFACE_API_KEY"),
}
# providers that run on the developer's machine or their own server: no key needed
KEYLESS_PREFIXES = frozenset({"ollama", "ollama_chat", "hosted_vllm"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})

# settings that are ours to interpret; everything else goes to litellm as it is
_OWN_KEYS = frozenset(
    {
        "provider",
        "type",
        "model",
        "model_name",
        "deployment",
        "deployment_name",
        "engine",
        "api_base",
        "base_url",
        "openai_api_base",
        "api_key",
        "openai_api_key",
        "api_version",
        "openai_api_version",
        "api_type",
        "openai_api_type",
        "timeout",
        "request_timeout",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "max_retries",
        "num_retries",
        "fallbacks",
        "use_chat_completions_endpoint",
        "stream",
        "n",
        "cache",
        "model_group",
        "id",
    }
)


class ModelConfigError(WorkbenchError, ValueError):
    """A model reference that cannot be resolved (unknown model group, no model name)."""


@dataclass(frozen=True)
class ModelSpec:
    """One callable model with its call settings. `model` is the litellm model string."""

    model: str
    provider: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    api_version: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    temperature: float | None = DEFAULT_TEMPERATURE
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    extra: JSONObject = field(default_factory=dict, compare=False, hash=False)
    fallbacks: tuple[ModelSpec, ...] = ()
    origin: str = ""  # where it was configured: "model group main_llm", "inline", "--model"

    @property
    def name(self) -> str:
        return self.model

    @property
    def prefix(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"

    @property
    def is_local(self) -> bool:
        """An api_base on this machine (a fake server in tests, a local vLLM/Ollama)."""
        return is_local_url(self.api_base)

    def call_kwargs(self) -> JSONObject:
        """Keyword arguments for litellm's acompletion/aembedding (without messages)."""
        kwargs: JSONObject = dict(self.extra)
        kwargs["model"] = self.model
        if self.api_base:
            kwargs["api_base"] = self.api_base
        key = self.api_key
        if not key and self.prefix == "openai" and self.is_local and not _env_has("OPENAI_API_KEY"):
            key = "sk-local-no-key"  # the OpenAI client refuses to start without one
        if key:
            kwargs["api_key"] = key
        if self.api_version:
            kwargs["api_version"] = self.api_version
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.max_completion_tokens is not None:
            kwargs["max_completion_tokens"] = self.max_completion_tokens
        return kwargs

    def describe(self) -> str:
        where = f" at {self.api_base}" if self.api_base else ""
        return f"{self.model}{where}"


# --- resolution ------------------------------------------------------------------------------


def command_generator_model(project: Project) -> ModelSpec | None:
    """The model the project's command generator calls; None without a command generator.

    A command generator without `llm:` gets Rasa's default model, as in Rasa."""
    generator = project.config.command_generator
    if generator is None:
        return None
    return resolve_model(project, generator.llm or RASA_DEFAULT_LLM)


def embeddings_model(project: Project) -> ModelSpec | None:
    """The embeddings model of `flow_retrieval.embeddings`, or None when none is configured."""
    generator = project.config.command_generator
    if generator is None:
        return None
    settings = generator.flow_retrieval.get("embeddings")
    if not isinstance(settings, Mapping) or not settings:
        return None
    return resolve_model(project, settings)


def resolve_model(project: Project, llm: Mapping[str, JSONValue]) -> ModelSpec:
    """`{model_group: id}` or an inline client config, resolved to a ModelSpec with the
    rest of the group (and any `fallbacks:`) as fallbacks."""
    group_id = llm.get("model_group")
    if group_id:
        group = project.endpoints.model_groups.get(str(group_id))
        if group is None:
            raise ModelConfigError(f"model group '{group_id}' is not defined in endpoints.yml")
        specs = [
            spec_from_config(m, project, origin=f"model group {group_id}") for m in group.models
        ]
        if not specs:
            raise ModelConfigError(f"model group '{group_id}' has no models")
        first = specs[0]
        return replace(first, fallbacks=(*first.fallbacks, *specs[1:]))
    return spec_from_config(model_config(llm), project, origin="inline")


def spec_from_config(
    config: ModelConfig, project: Project | None = None, *, origin: str = ""
) -> ModelSpec:
    settings = dict(config.settings)
    provider = config.provider or _str(settings.get("type")) or _str(settings.get("api_type"))
    model = config.model or _str(settings.get("deployment") or settings.get("deployment_name"))
    model = model or _str(settings.get("engine"))
    if not model:
        raise ModelConfigError("a model config needs `model` (or `deployment` for azure)")
    litellm_model = litellm_model_string(provider, model, settings)
    api_base = _str(
        settings.get("api_base") or settings.get("base_url") or settings.get("openai_api_base")
    )
    spec = ModelSpec(
        model=litellm_model,
        provider=provider,
        api_base=api_base,
        api_key=_str(settings.get("api_key") or settings.get("openai_api_key")),
        api_version=_str(settings.get("api_version") or settings.get("openai_api_version")),
        timeout=_float(settings.get("timeout", settings.get("request_timeout")), DEFAULT_TIMEOUT_S),
        temperature=_float(settings.get("temperature"), DEFAULT_TEMPERATURE),
        max_tokens=_int(settings.get("max_tokens")),
        max_completion_tokens=_int(settings.get("max_completion_tokens")),
        max_retries=_retries(settings.get("max_retries", settings.get("num_retries"))),
        extra={k: v for k, v in settings.items() if k not in _OWN_KEYS and v is not None},
        origin=origin,
    )
    fallbacks = settings.get("fallbacks")
    if isinstance(fallbacks, list) and fallbacks:
        spec = replace(spec, fallbacks=tuple(_fallback(item, project) for item in fallbacks))
    return spec


def model_from_name(name: str, project: Project | None = None) -> ModelSpec:
    """`--model NAME`: a model group id of the project, or a litellm model string such as
    `openai/gpt-4o-mini` or `ollama/llama3` (a bare name means OpenAI)."""
    if project is not None and name in project.endpoints.model_groups:
        return resolve_model(project, {"model_group": name})
    prefix = name.split("/", 1)[0] if "/" in name else None
    provider = prefix if prefix in PROVIDER_PREFIX.values() else None
    model = name if "/" in name else f"openai/{name}"
    return ModelSpec(model=model, provider=provider or "openai", origin="--model")


def litellm_model_string(
    provider: str | None, model: str, settings: Mapping[str, JSONValue]
) -> str:
    if not provider:
        # old-style inline configs write "openai/gpt-4" as the model
        return model if "/" in model else f"openai/{model}"
    key = provider.strip().lower()
    prefix = PROVIDER_PREFIX.get(key, key)
    if prefix == "hosted_vllm" and settings.get("use_chat_completions_endpoint") is False:
        prefix = "text-completion-openai"
    if model.startswith(f"{prefix}/"):
        return model
    return f"{prefix}/{model}"


def _fallback(item: object, project: Project | None) -> ModelSpec:
    if isinstance(item, Mapping):
        if item.get("model_group") and project is not None:
            return resolve_model(project, item)
        return spec_from_config(model_config(item), project, origin="fallback")
    return model_from_name(str(item), project)


# --- credentials -----------------------------------------------------------------------------


def missing_credentials(spec: ModelSpec, env: Mapping[str, str] | None = None) -> str | None:
    """None when the model can be called; otherwise the environment variable to set
    (for labels such as "offline (no OPENAI_API_KEY)")."""
    env = os.environ if env is None else env
    if spec.api_key or spec.is_local:
        return None
    prefix = spec.prefix
    if prefix in KEYLESS_PREFIXES:
        return None
    names = CREDENTIAL_ENV.get(prefix) or (f"{prefix.upper()}_API_KEY",)
    if any(env.get(name) for name in names):
        return None
    return names[0]


def has_credentials(spec: ModelSpec, env: Mapping[str, str] | None = None) -> bool:
    return missing_credentials(spec, env) is None


def is_local_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        host = urlparse(url if "://" in url else f"http://{url}").hostname
    except ValueError:
        return False
    return host is not None and (host in LOCAL_HOSTS or host.startswith("127."))


# --- helpers ---------------------------------------------------------------------------------


def _env_has(name: str) -> bool:
    return bool(os.environ.get(name))


def _str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


@overload
def _float(value: JSONValue, default: float) -> float: ...
@overload
def _float(value: JSONValue, default: None) -> float | None: ...
def _float(value: JSONValue, default: float | None) -> float | None:
    if value is None or value == "" or not isinstance(value, (str, int, float)):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _retries(value: object) -> int:
    number = _int(value)
    return DEFAULT_MAX_RETRIES if number is None else max(0, number)


def _int(value: JSONValue) -> int | None:
    if value is None or value == "" or not isinstance(value, (str, int, float)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
