"""One model step of an agent: a chat completion with tools offered.

The loop (`loop.py`) takes the call as a `ChatCall`, so a recorded step (`tape.py`)
answers in place of the model; `litellm_chat` is the real one. It goes through the
same retry, fallback and timeout policy as every other model call (`understanding/llm.py`)
and reports failures as an `LLMError`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from workbench.calm.values import JSONObject, JSONValue
from workbench.understanding.llm import (
    LLMError,
    cost_of,
    get_litellm,
    guarded,
    warm_up,
    with_policy,
)
from workbench.understanding.models import ModelSpec


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for. `error` says why its arguments could not be
    read (not a JSON object); such a call is answered with that error, never run."""

    id: str
    name: str
    arguments: JSONObject
    error: str | None = None

    def as_dict(self) -> JSONObject:
        data: JSONObject = {"id": self.id, "name": self.name, "arguments": self.arguments}
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: JSONObject) -> ToolCall:
        arguments, error = data.get("arguments"), data.get("error")
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            arguments=dict(arguments) if isinstance(arguments, dict) else {},
            error=str(error) if error is not None else None,
        )


@dataclass(frozen=True)
class ChatReply:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    latency_ms: float = 0.0
    model: str = ""

    def as_dict(self) -> JSONObject:
        return {
            "text": self.text,
            "tool_calls": [call.as_dict() for call in self.tool_calls],
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, data: JSONObject) -> ChatReply:
        calls = data.get("tool_calls")
        cost = data.get("cost")
        return cls(
            text=str(data.get("text") or ""),
            tool_calls=tuple(ToolCall.from_dict(c) for c in calls if isinstance(c, dict))
            if isinstance(calls, list)
            else (),
            prompt_tokens=_int(data.get("prompt_tokens")),
            completion_tokens=_int(data.get("completion_tokens")),
            cost=float(cost) if isinstance(cost, (int, float)) else None,
            model=str(data.get("model") or ""),
        )


# (messages, tools in OpenAI's function format) -> the reply; raises LLMError
ChatCall = Callable[[list[JSONObject], list[JSONObject]], Awaitable[ChatReply]]


def litellm_chat(model: ModelSpec) -> ChatCall:
    """The model behind `model`, called through litellm (imported on the first call)."""

    async def chat(messages: list[JSONObject], tools: list[JSONObject]) -> ChatReply:
        await warm_up()
        return await with_policy(model, lambda spec: _chat_once(spec, messages, tools))

    return chat


async def _chat_once(
    spec: ModelSpec, messages: list[JSONObject], tools: list[JSONObject]
) -> ChatReply:
    litellm = get_litellm()
    kwargs = spec.call_kwargs()
    if spec.temperature is not None:
        kwargs["temperature"] = spec.temperature
    if tools:
        kwargs["tools"] = tools
    started = time.perf_counter()
    response = await guarded(
        spec,
        litellm.acompletion(
            messages=messages, timeout=spec.timeout, max_retries=0, drop_params=True, **kwargs
        ),
    )
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        message = response.choices[0].message
    except (AttributeError, IndexError, TypeError):
        raise LLMError("server", "the reply has no message", spec.model) from None
    usage = getattr(response, "usage", None)
    return ChatReply(
        text=(getattr(message, "content", None) or "").strip(),
        tool_calls=tuple(
            _tool_call(call, index)
            for index, call in enumerate(getattr(message, "tool_calls", None) or ())
        ),
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        cost=cost_of(litellm, response),
        latency_ms=latency_ms,
        model=spec.model,
    )


def _tool_call(call: object, index: int) -> ToolCall:
    function = getattr(call, "function", None)
    name = str(getattr(function, "name", None) or "")
    raw = getattr(function, "arguments", None) or "{}"
    call_id = str(getattr(call, "id", None) or f"call_{index}")
    try:
        arguments: JSONValue = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        return ToolCall(call_id, name, {}, f"the arguments are not valid JSON: {error}")
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, {}, "the arguments must be a JSON object")
    return ToolCall(call_id, name, arguments)


def _int(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
