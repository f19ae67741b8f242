"""A fake OpenAI-compatible server on 127.0.0.1 for the LLM tests (no network).

    with FakeLLM() as server:
        server.queue(status=429)                 # the next chat call gets a 429 ...
        server.queue(text="start flow x")        # ... the one after that a reply
        server.queue(text="", tool_calls=[{"name": "get_order", "arguments": {"id": 7}}])
        spec = ModelSpec("openai/fake", api_base=server.url)

Chat calls take queued replies in order (per model name when `model=` is given), then the
default reply. `server.vary("send money", "start flow a", "start flow b")` answers the
requests about a message with those replies in turn, cycled (a model that is not sure):
the request is about the `vary` message that comes last in its prompt. Embeddings are a
deterministic bag of hashed words, so texts that share words are close. Every request is
kept in `server.requests`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EMBEDDING_DIMENSIONS = 64


@dataclass
class Reply:
    text: str = "offtopic reply"
    status: int = 200
    delay: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 3
    model: str | None = None  # only for requests naming this model
    # function calls, OpenAI-style: [{"name": ..., "arguments": {...} or a raw string}]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def embed_text(text: str) -> list[float]:
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"[a-z]+", text.lower()):
        word = word[:5]  # a crude stem: "orders"/"ordered" share "order"
        index = int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBEDDING_DIMENSIONS
        vector[index] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[Reply] = []
        self.default = Reply()
        self.embedding_status = 200
        self.varied: dict[str, list[Reply]] = {}
        self._varied_count: dict[str, int] = {}
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting --------------------------------------------------------------------------

    def queue(self, text: str = "offtopic reply", **kwargs: Any) -> FakeLLM:
        self.replies.append(Reply(text=text, **kwargs))
        return self

    def vary(self, message: str, *texts: str, **kwargs: Any) -> FakeLLM:
        """Requests about `message` get `texts` in turn, then the first again; these come
        before queued replies."""
        self.varied[message] = [Reply(text=text, **kwargs) for text in texts]
        return self

    def _varied_reply(self, body: dict[str, Any]) -> Reply | None:
        prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])
        found = [(prompt.rfind(message), message) for message in self.varied]
        position, message = max(found, default=(-1, ""))
        if position < 0:
            return None
        count = self._varied_count.get(message, 0)
        self._varied_count[message] = count + 1
        replies = self.varied[message]
        return replies[count % len(replies)]

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def embedding_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/embeddings")]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, delay = fake._answer(self.path, body)
                if delay:
                    fake._released.wait(delay)
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (timeout tests)
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- answering --------------------------------------------------------------------------

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            self.requests.append({"path": path, "body": body})
            if path.endswith("/embeddings"):
                return self._embeddings(body)
            reply = self._varied_reply(body) or self._next_reply(str(body.get("model")))
        if reply.status != 200:
            error = {"message": f"fake error {reply.status}", "type": "fake", "code": reply.status}
            return reply.status, {"error": error}, reply.delay
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": self._message(reply),
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }
        return 200, payload, reply.delay

    def _message(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["content"] = reply.text or None
            message["tool_calls"] = [
                {
                    "id": call.get("id", f"call_{len(self.requests)}_{index}"),
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": call["arguments"]
                        if isinstance(call.get("arguments"), str)
                        else json.dumps(call.get("arguments", {})),
                    },
                }
                for index, call in enumerate(reply.tool_calls)
            ]
        return message

    def _next_reply(self, model: str) -> Reply:
        for index, reply in enumerate(self.replies):
            if reply.model is None or reply.model == model:
                return self.replies.pop(index)
        return self.default

    def _embeddings(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        if self.embedding_status != 200:
            error = {"message": "fake embeddings error", "type": "fake"}
            return self.embedding_status, {"error": error}, 0.0
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        data = [
            {"object": "embedding", "index": i, "embedding": embed_text(str(t))}
            for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return (
            200,
            {"object": "list", "data": data, "model": body.get("model"), "usage": usage},
            0.0,
        )
