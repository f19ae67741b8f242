"""models.py: from `llm:` / `model_groups` to litellm model strings, settings and credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.project.loader import load_project
from workbench.project.model import ModelConfig
from workbench.understanding.models import (
    DEFAULT_MAX_RETRIES,
    ModelConfigError,
    ModelSpec,
    command_generator_model,
    embeddings_model,
    has_credentials,
    litellm_model_string,
    missing_credentials,
    model_from_name,
    resolve_model,
    spec_from_config,
)

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


def test_sample_project_model_group_resolves():
    project = load_project(SAMPLE).project
    model = command_generator_model(project)
    assert model is not None
    assert model.model == "openai/gpt-4o-2024-11-20"
    assert model.timeout == 7.0
    assert model.temperature == 0.0
    assert model.max_retries == DEFAULT_MAX_RETRIES
    assert model.fallbacks == ()
    assert model.origin == "model group main_llm"


@pytest.mark.parametrize(
    ("provider", "model", "settings", "expected"),
    [
        ("openai", "gpt-4o-mini", {}, "openai/gpt-4o-mini"),
        ("azure", "gpt-4o", {}, "azure/gpt-4o"),
        ("anthropic", "claude-3-5-sonnet-20240620", {}, "anthropic/claude-3-5-sonnet-20240620"),
        ("self-hosted", "my-llama", {}, "hosted_vllm/my-llama"),
        ("vllm", "meta-llama/Llama-3.1-8B", {}, "hosted_vllm/meta-llama/Llama-3.1-8B"),
        ("ollama", "llama3", {}, "ollama/llama3"),
        ("openai-compatible", "local", {}, "openai/local"),
        ("bedrock", "anthropic.claude-v2", {}, "bedrock/anthropic.claude-v2"),
        ("mistral", "mistral-small", {}, "mistral/mistral-small"),
        (None, "gpt-4", {}, "openai/gpt-4"),
        (None, "openai/gpt-4", {}, "openai/gpt-4"),
        ("openai", "openai/gpt-4", {}, "openai/gpt-4"),
    ],
)
def test_provider_to_litellm_model_string(provider, model, settings, expected):
    assert litellm_model_string(provider, model, settings) == expected


def test_inline_settings_are_read_and_the_rest_passes_through():
    config = ModelConfig(
        "azure",
        None,
        {
            "deployment": "my-gpt4o",
            "api_base": "https://example.openai.azure.com",
            "api_version": "2024-06-01",
            "timeout": 15,
            "temperature": 0.2,
            "max_completion_tokens": 200,
            "max_retries": 0,
            "reasoning_effort": "low",
        },
    )
    model = spec_from_config(config)
    assert model.model == "azure/my-gpt4o"
    assert model.api_base == "https://example.openai.azure.com"
    assert model.api_version == "2024-06-01"
    assert (model.timeout, model.temperature, model.max_retries) == (15.0, 0.2, 0)
    assert model.extra == {"reasoning_effort": "low"}
    kwargs = model.call_kwargs()
    assert kwargs["max_completion_tokens"] == 200
    assert kwargs["api_version"] == "2024-06-01"
    assert "timeout" not in kwargs


def test_a_group_with_several_models_falls_back_to_the_others(make_project):
    root = make_project(
        {
            "config.yml": """\
            recipe: default.v1
            language: en
            pipeline:
              - name: CompactLLMCommandGenerator
                llm: {model_group: main}
                flow_retrieval:
                  embeddings: {model_group: emb}
            """,
            "endpoints.yml": """\
            model_groups:
              - id: main
                models:
                  - provider: openai
                    model: gpt-4o
                    fallbacks:
                      - {provider: anthropic, model: claude-3-5-haiku-latest}
                  - provider: self-hosted
                    model: qwen
                    api_base: http://127.0.0.1:8000/v1
              - id: emb
                models:
                  - {provider: openai, model: text-embedding-3-small}
            """,
        }
    )
    project = load_project(root).project
    model = command_generator_model(project)
    assert model.model == "openai/gpt-4o"
    assert [f.model for f in model.fallbacks] == [
        "anthropic/claude-3-5-haiku-latest",
        "hosted_vllm/qwen",
    ]
    assert embeddings_model(project).model == "openai/text-embedding-3-small"


def test_unknown_model_group_is_a_config_error(make_project):
    project = load_project(make_project()).project
    with pytest.raises(ModelConfigError, match="'nope' is not defined"):
        resolve_model(project, {"model_group": "nope"})


def test_no_command_generator_means_no_model_and_no_llm_means_rasas_default(make_project):
    assert command_generator_model(load_project(make_project()).project) is None
    root = make_project(
        {"config.yml": "recipe: default.v1\npipeline:\n  - name: CompactLLMCommandGenerator\n"}
    )
    model = command_generator_model(load_project(root).project)
    assert model.model == "openai/gpt-5.1-2025-11-13"
    assert model.extra == {"reasoning_effort": "none"}


def test_model_from_name():
    assert model_from_name("openai/gpt-4o-mini").model == "openai/gpt-4o-mini"
    assert model_from_name("gpt-4o-mini").model == "openai/gpt-4o-mini"
    assert model_from_name("ollama/llama3").model == "ollama/llama3"


def test_credentials_come_from_the_environment():
    openai = ModelSpec("openai/gpt-4o")
    assert missing_credentials(openai, env={}) == "OPENAI_API_KEY"
    assert has_credentials(openai, env={"OPENAI_API_KEY": "sk-x"})
    assert missing_credentials(ModelSpec("anthropic/claude"), env={}) == "ANTHROPIC_API_KEY"
    assert missing_credentials(ModelSpec("azure/gpt"), env={}) == "AZURE_API_KEY"
    assert has_credentials(ModelSpec("azure/gpt"), env={"AZURE_API_KEY": "k"})
    assert missing_credentials(ModelSpec("groq/llama"), env={}) == "GROQ_API_KEY"
    assert missing_credentials(ModelSpec("someprovider/x"), env={}) == "SOMEPROVIDER_API_KEY"


def test_local_servers_and_self_hosted_models_need_no_key():
    for base in ("http://127.0.0.1:8080/v1", "http://localhost:11434", "http://[::1]:9/v1"):
        assert has_credentials(ModelSpec("openai/x", api_base=base), env={})
    assert has_credentials(ModelSpec("ollama/llama3"), env={})
    assert has_credentials(ModelSpec("hosted_vllm/x", api_base="http://gpu-box:8000/v1"), env={})
    assert not has_credentials(ModelSpec("openai/x", api_base="https://api.example.com"), env={})
    assert has_credentials(ModelSpec("openai/x", api_key="sk-in-config"), env={})


def test_a_local_openai_compatible_server_gets_a_placeholder_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    kwargs = ModelSpec("openai/x", api_base="http://127.0.0.1:1/v1").call_kwargs()
    assert kwargs["api_key"]  # the OpenAI client refuses to start without one
    assert "api_key" not in ModelSpec("openai/x").call_kwargs()
