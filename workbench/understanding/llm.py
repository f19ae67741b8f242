"""The one place that calls litellm: completions and embeddings, with our own timeout,
retry and fallback policy, usage and cost.

litellm is imported lazily, on the first call (the import costs seconds), after setting
the environment it reads at import time: no price list fetched from the internet, no
background logging. litellm's own retries are switched off (`max_retries=0`): a call is
retried here on rate limits and server errors with a short exponential backoff, up to the
model's `max_retries`, then each fallback model is tried in order. Every failure reaches
the caller as an `LLMError` with a `kind` the trace can show.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Literal, SupportsFloat, TypeVar, cast

from workbench.calm.values import JSONValue
from workbench.errors import WorkbenchError
from workbench.understanding.models import ModelSpec, missing_credentials

ErrorKind = Literal["timeout", "auth", "rate_limit", "server", "bad_request", "connection"]
RETRYABLE: frozenset[str] = frozenset({"rate_limit", "server"})
BACKOFF_BASE_S = 0.25  # first retry after 0.25 s, then 0.5 s, 1 s ...
BACKOFF_MAX_S = 2.0
# asyncio's own deadline on top of litellm's timeout, for providers whose client ignores it
HARD_TIMEOUT_FACTOR = 1.5
HARD_TIMEOUT_MARGIN_S = 0.5

T = TypeVar("T")

_litellm_module: ModuleType | None = None
_import_lock = threading.Lock()


class LLMError(WorkbenchError):
    """A model call that failed. `kind`: timeout, auth, rate_limit, server, bad_request or
    connection; `model` is the litellm model string of the (last) model tried."""

    def __init__(self, kind: ErrorKind, message: str, model: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.model = model

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Completion:
    text: str
    model: str  # the model that answered (a fallback when the primary failed)
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    attempts: int = 1


# --- litellm, lazily -------------------------------------------------------------------------


def get_litellm() -> ModuleType:
    """Import litellm once, quietly. Safe to call from several threads."""
    global _litellm_module
    if _litellm_module is not None:
        return _litellm_module
    with _import_lock:
        if _litellm_module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            litellm.suppress_debug_info = True
            litellm.set_verbose = False
            litellm.telemetry = False
            # counting a prompt's tokens must never reach the network: for llama and
            # cohere models litellm would fetch a tokenizer from Hugging Face (tens of
            # seconds of retries offline, every turn); their counts use tiktoken's
            # bundled encoding instead, as for every other model litellm has no file for
            litellm.disable_hf_tokenizer_download = True
            _litellm_module = litellm
    return _litellm_module


async def warm_up() -> None:
    """Import litellm in a worker thread so the first real call does not block the loop."""
    if _litellm_module is None:
        await asyncio.to_thread(get_litellm)


def is_loaded() -> bool:
    return _litellm_module is not None


# providers whose client honours `api_base`: their first call can be rehearsed locally
REHEARSED_PREFIXES = frozenset(
    {"openai", "azure", "anthropic", "hosted_vllm", "ollama", "ollama_chat", "groq", "mistral"}
)


def prepare(model: ModelSpec) -> None:
    """Pay, ahead of the first turn, what the first call to `model` would: the import,
    the tokenizer, and the ~500 modules litellm and the provider's client import on their
    first request. That request is rehearsed synchronously (no event loop, so no client
    tied to one is cached) against a socket on this machine that refuses it: nothing
    leaves the machine, no key is sent."""
    litellm = get_litellm()
    count_tokens(model.model, "warm up")
    if model.prefix not in REHEARSED_PREFIXES:
        return
    import socket

    with socket.socket() as refusing:  # bound, never listening: connecting is refused
        refusing.bind(("127.0.0.1", 0))
        kwargs = model.call_kwargs()
        kwargs.update(api_base=f"http://127.0.0.1:{refusing.getsockname()[1]}/v1", api_key="-")
        try:
            litellm.completion(
                messages=[{"role": "user", "content": "-"}],
                timeout=2,
                max_retries=0,
                drop_params=True,
                **kwargs,
            )
        except Exception:
            pass  # refused, as intended


# --- completion ------------------------------------------------------------------------------


async def complete(model: ModelSpec, prompt: str) -> Completion:
    """Send `prompt` as one user message; retries, then fallbacks; raises LLMError."""
    await warm_up()
    return await with_policy(model, lambda spec: _complete_once(spec, prompt))


async def _complete_once(spec: ModelSpec, prompt: str) -> Completion:
    litellm = get_litellm()
    kwargs = spec.call_kwargs()
    if spec.temperature is not None:
        kwargs["temperature"] = spec.temperature
    started = time.perf_counter()
    response = await guarded(
        spec,
        litellm.acompletion(
            messages=[{"role": "user", "content": prompt}],
            timeout=spec.timeout,
            max_retries=0,
            drop_params=True,
            **kwargs,
        ),
    )
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        text = response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        raise LLMError("server", "the reply has no message", spec.model) from None
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        model=spec.model,
        latency_ms=latency_ms,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        cost=cost_of(litellm, response),
    )


def cost_of(litellm: ModuleType, response: object) -> float | None:
    """USD cost when litellm knows the model's price, else None (local/unknown models)."""
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:
        return None
    return float(cost) if cost else None


# --- embeddings ------------------------------------------------------------------------------


async def embed(model: ModelSpec, texts: Sequence[str]) -> list[list[float]]:
    """One vector per text, in order; same retry/fallback policy as `complete`."""
    if not texts:
        return []
    await warm_up()
    return await with_policy(model, lambda spec: _embed_once(spec, list(texts)))


async def _embed_once(spec: ModelSpec, texts: list[str]) -> list[list[float]]:
    litellm = get_litellm()
    kwargs = spec.call_kwargs()
    kwargs.pop("max_tokens", None)
    kwargs.pop("max_completion_tokens", None)
    response = await guarded(
        spec,
        litellm.aembedding(input=texts, timeout=spec.timeout, max_retries=0, **kwargs),
    )
    items = sorted(response.data, key=_index)
    # an item without a list of numbers raises TypeError, as the caller expects
    vectors = [
        list(map(float, cast(Iterable[SupportsFloat], _field(item, "embedding")))) for item in items
    ]
    if len(vectors) != len(texts):
        raise LLMError(
            "server", f"asked for {len(texts)} embeddings, got {len(vectors)}", spec.model
        )
    return vectors


def _index(item: object) -> int:
    index = _field(item, "index")
    return index if isinstance(index, int) else 0


def _field(item: object, name: str) -> JSONValue:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


# --- tokens ----------------------------------------------------------------------------------


def count_tokens(model: str, text: str) -> int:
    """Tokens of `text` for `model` (a litellm model string); len/4 if litellm cannot tell."""
    try:
        return int(get_litellm().token_counter(model=model, text=text))
    except Exception:
        return max(1, len(text) // 4) if text else 0


# --- the policy ------------------------------------------------------------------------------


async def with_policy(model: ModelSpec, call: Callable[[ModelSpec], Awaitable[T]]) -> T:
    failures: list[str] = []
    last: LLMError | None = None
    attempts = 0
    for index, spec in enumerate((model, *model.fallbacks)):
        if index > 0:
            missing = missing_credentials(spec)
            if missing:
                failures.append(f"{spec.model}: skipped, no {missing}")
                continue
        for attempt in range(spec.max_retries + 1):
            attempts += 1
            try:
                result = await call(spec)
            except LLMError as error:
                last = error
            except Exception as error:  # litellm/openai/httpx exceptions
                last = classify(error, spec)
            else:
                if isinstance(result, Completion) and attempts > 1:
                    # T is Completion here: the isinstance check above says so
                    result = cast(T, _with_attempts(result, attempts))
                return result
            if last.kind in RETRYABLE and attempt < spec.max_retries:
                await asyncio.sleep(backoff(attempt))
                continue
            break
        assert last is not None
        failures.append(f"{spec.model}: {last}")
    if last is None:  # every model was skipped
        raise LLMError("auth", "; ".join(failures) or "no model to call", model.model)
    if len(failures) > 1:
        raise LLMError(last.kind, f"{last.message} (tried {'; '.join(failures)})", last.model)
    raise last


def _with_attempts(result: Completion, attempts: int) -> Completion:
    return replace(result, attempts=attempts)


def backoff(attempt: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0**attempt)


async def guarded(spec: ModelSpec, awaitable: Awaitable[T]) -> T:
    """litellm's timeout, and asyncio's as a backstop."""
    deadline = spec.timeout * HARD_TIMEOUT_FACTOR + HARD_TIMEOUT_MARGIN_S
    try:
        return await asyncio.wait_for(awaitable, deadline)
    except asyncio.TimeoutError:
        raise LLMError("timeout", f"no answer within {spec.timeout:g} s", spec.model) from None


# --- errors ----------------------------------------------------------------------------------

_CLASS_KINDS: tuple[tuple[str, ErrorKind], ...] = (
    ("Timeout", "timeout"),
    ("APITimeoutError", "timeout"),
    ("TimeoutError", "timeout"),
    ("AuthenticationError", "auth"),
    ("PermissionDeniedError", "auth"),
    ("RateLimitError", "rate_limit"),
    ("RouterRateLimitError", "rate_limit"),
    ("ContextWindowExceededError", "bad_request"),
    ("ContentPolicyViolationError", "bad_request"),
    ("UnsupportedParamsError", "bad_request"),
    ("BadRequestError", "bad_request"),
    ("NotFoundError", "bad_request"),
    ("UnprocessableEntityError", "bad_request"),
    ("APIConnectionError", "connection"),
    ("ServiceUnavailableError", "server"),
    ("BadGatewayError", "server"),
    ("InternalServerError", "server"),
)
_CONNECTION_CAUSES = (
    "APIConnectionError",
    "ConnectError",
    "ConnectTimeout",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "RemoteProtocolError",
)
_LITELLM_PREFIXES = ("litellm.", "OpenAIException - ", "Exception - ")


def classify(error: BaseException, spec: ModelSpec) -> LLMError:
    """Map a litellm/openai/httpx exception to an LLMError kind with a short message."""
    names = [cls.__name__ for cls in type(error).__mro__]
    message = _short(error)
    lowered = message.lower()
    if "missing credentials" in lowered or ("api_key" in lowered and "missing" in lowered):
        return LLMError("auth", message, spec.model)
    kind: ErrorKind | None = None
    for name, candidate in _CLASS_KINDS:
        if name in names:
            kind = candidate
            break
    if kind in (None, "server") and _caused_by_connection(error):
        kind = "connection"
    if kind is None:
        kind = _kind_from_status(getattr(error, "status_code", None))
    if kind == "timeout":
        message = f"no answer within {spec.timeout:g} s"
    elif kind == "connection":
        message = f"cannot reach {spec.api_base or spec.model}: {message}"
    return LLMError(kind, message, spec.model)


def _kind_from_status(status: object) -> ErrorKind:
    if not isinstance(status, int):
        return "server"
    if status in (401, 403):
        return "auth"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limit"
    if 400 <= status < 500:
        return "bad_request"
    return "server"


def _caused_by_connection(error: BaseException) -> bool:
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 12:
        if isinstance(current, ConnectionError) or any(
            cls.__name__ in _CONNECTION_CAUSES for cls in type(current).__mro__
        ):
            return True
        if "Connection error" in str(current) or "Cannot connect to host" in str(current):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    changed = True
    while changed:
        changed = False
        for prefix in _LITELLM_PREFIXES:
            at = text.find(prefix)
            if 0 <= at < 60:
                text = text[at + len(prefix) :]
                changed = True
        head, sep, rest = text.partition(": ")
        if sep and head.replace("_", "").isalnum() and head.endswith("Error"):
            text = rest
            changed = True
    return text[:300]
