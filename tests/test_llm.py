"""llm.py: real HTTP through litellm against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest
from fake_llm import FakeLLM

from workbench.understanding import llm
from workbench.understanding.llm import LLMError, complete, count_tokens, embed
from workbench.understanding.models import ModelSpec


@pytest.fixture
def server():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(llm, "BACKOFF_BASE_S", 0.0)


def spec(server: FakeLLM, name: str = "fake-model", **settings) -> ModelSpec:
    return ModelSpec(model=f"openai/{name}", api_base=server.url, timeout=3.0, **settings)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_completion_returns_text_usage_latency_and_sends_the_prompt(server):
    server.queue("start flow check_order_status\nset slot order_id A1001")
    result = await complete(spec(server), "the prompt")
    assert result.text == "start flow check_order_status\nset slot order_id A1001"
    assert result.model == "openai/fake-model"
    assert (result.prompt_tokens, result.completion_tokens) == (11, 3)
    assert result.latency_ms > 0
    assert result.cost is None  # an unknown model has no price
    assert result.attempts == 1
    (request,) = server.chat_requests()
    body = request["body"]
    assert body["model"] == "fake-model"
    assert body["messages"] == [{"role": "user", "content": "the prompt"}]
    assert body["temperature"] == 0.0


async def test_settings_reach_the_server(server):
    await complete(spec(server, max_completion_tokens=64, temperature=0.3), "p")
    body = server.chat_requests()[0]["body"]
    assert body["max_completion_tokens"] == 64
    assert body["temperature"] == 0.3


async def test_a_slow_server_times_out_quickly_without_retries(server):
    server.queue(delay=5.0)
    model = ModelSpec("openai/slow", api_base=server.url, timeout=0.3, max_retries=2)
    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        await complete(model, "p")
    assert caught.value.kind == "timeout"
    assert "0.3 s" in caught.value.message
    assert time.perf_counter() - started < 2.0
    assert len(server.chat_requests()) == 1  # a timeout is not retried


async def test_rate_limit_then_success_is_retried(server):
    server.queue(status=429).queue("cancel flow")
    result = await complete(spec(server), "p")
    assert result.text == "cancel flow"
    assert result.attempts == 2
    assert len(server.chat_requests()) == 2


async def test_server_errors_are_retried_up_to_max_retries(server):
    for _ in range(5):
        server.queue(status=500)
    with pytest.raises(LLMError) as caught:
        await complete(spec(server, max_retries=2), "p")
    assert caught.value.kind == "server"
    assert len(server.chat_requests()) == 3  # the first try and two retries


async def test_a_failing_primary_falls_back_to_the_next_model(server):
    server.queue(status=503, model="primary").queue("start flow x", model="backup")
    model = spec(server, "primary", max_retries=0, fallbacks=(spec(server, "backup"),))
    result = await complete(model, "p")
    assert result.text == "start flow x"
    assert result.model == "openai/backup"
    assert [r["body"]["model"] for r in server.chat_requests()] == ["primary", "backup"]


async def test_when_every_model_fails_the_error_names_them_all(server):
    server.default.status = 500
    model = spec(
        server, "primary", max_retries=0, fallbacks=(spec(server, "backup", max_retries=0),)
    )
    with pytest.raises(LLMError) as caught:
        await complete(model, "p")
    assert caught.value.kind == "server"
    assert "openai/primary" in caught.value.message
    assert "openai/backup" in caught.value.message


async def test_a_fallback_without_credentials_is_skipped(server, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    server.queue(status=500)
    model = spec(
        server, max_retries=0, fallbacks=(ModelSpec("anthropic/claude-x"), spec(server, "b"))
    )
    result = await complete(model, "p")
    assert result.model == "openai/b"
    assert len(server.chat_requests()) == 2  # anthropic was never called


async def test_an_auth_error_is_not_retried(server):
    server.queue(status=401)
    with pytest.raises(LLMError) as caught:
        await complete(spec(server), "p")
    assert caught.value.kind == "auth"
    assert len(server.chat_requests()) == 1


async def test_a_bad_request_is_not_retried(server):
    server.queue(status=400)
    with pytest.raises(LLMError) as caught:
        await complete(spec(server), "p")
    assert caught.value.kind == "bad_request"
    assert len(server.chat_requests()) == 1


async def test_nobody_listening_is_a_connection_error():
    model = ModelSpec("openai/x", api_base=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0)
    with pytest.raises(LLMError) as caught:
        await complete(model, "p")
    assert caught.value.kind == "connection"
    assert "127.0.0.1" in caught.value.message


async def test_litellm_mock_response_goes_through_the_same_path():
    model = ModelSpec(
        "openai/gpt-4o-mini", api_key="sk-test", extra={"mock_response": "cancel flow"}
    )
    result = await complete(model, "p")
    assert result.text == "cancel flow"
    assert result.prompt_tokens is not None


async def test_embeddings_come_back_in_order(server):
    vectors = await embed(spec(server, "emb"), ["cancel my order", "where is my parcel"])
    assert len(vectors) == 2
    assert vectors[0] != vectors[1]
    assert all(len(v) == 64 for v in vectors)
    (request,) = server.embedding_requests()
    assert request["body"]["input"] == ["cancel my order", "where is my parcel"]


async def test_embedding_errors_are_llm_errors(server):
    server.embedding_status = 401
    with pytest.raises(LLMError) as caught:
        await embed(spec(server, "emb"), ["x"])
    assert caught.value.kind == "auth"


def test_count_tokens_and_its_fallback(monkeypatch):
    text = "I would like to cancel my order A1002, please."
    assert 5 <= count_tokens("openai/gpt-4o", text) <= 20

    def broken(**kwargs):
        raise RuntimeError("no tokenizer")

    monkeypatch.setattr(llm.get_litellm(), "token_counter", broken)
    assert count_tokens("openai/gpt-4o", "x" * 400) == 100


@pytest.mark.parametrize(
    "model",
    [
        "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
        "ollama/llama3",
        "cohere/command-r",
        "huggingface/meta-llama/Llama-2-7b-chat-hf",
    ],
)
def test_counting_tokens_never_reaches_the_network(monkeypatch, model):
    """litellm fetches a Hugging Face tokenizer for llama and cohere models unless told
    not to: offline that cost tens of seconds of retries on every turn."""
    import socket

    llm.get_litellm()
    attempts: list[object] = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    started = time.perf_counter()
    tokens = count_tokens(model, "I would like to cancel my order A1002, please.")
    assert 5 <= tokens <= 20
    assert attempts == []
    assert time.perf_counter() - started < 2.0
