"""Remote vector stores (`vector_store: {type: qdrant}` or `milvus`): Rasa reads their
connection from endpoints.yml's `vector_store:` section and searches a collection someone
else filled. The workbench checks what it can before the first question: that the
official client is installed (an optional extra) and that the server answers.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from urllib.parse import urlsplit

from workbench.calm.values import JSONObject
from workbench.knowledge.model import KnowledgeError
from workbench.project.model import Project

CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class RemoteStore:
    kind: str  # "qdrant" | "milvus"
    module: str  # the client's import name
    extra: str  # calm-workbench[extra]
    default_port: int


REMOTE_STORES = {
    "qdrant": RemoteStore("qdrant", "qdrant_client", "qdrant", 6333),
    "milvus": RemoteStore("milvus", "pymilvus", "milvus", 19530),
}


def client_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def store_address(project: Project, store: RemoteStore) -> tuple[str, int] | None:
    """host and port from endpoints.yml's `vector_store:`; None when the store runs in
    this process (qdrant's `location: ":memory:"` or `path:`, a Milvus Lite file)."""
    settings = project.endpoints.raw.get("vector_store")
    if not isinstance(settings, dict):
        raise KnowledgeError(
            f"the {store.kind} vector store needs a `vector_store:` section in endpoints.yml "
            f"(type: {store.kind}, host, port, collection)"
        )
    if store.kind == "qdrant" and (settings.get("location") or settings.get("path")):
        return None
    if store.kind == "milvus" and milvus_lite_file(str(settings.get("uri") or "")):
        return None
    return _address(settings, store)


def milvus_lite_file(uri: str) -> bool:
    """A milvus `uri` naming a Milvus Lite database file rather than a server."""
    return "://" not in uri and uri.endswith(".db")


def _address(settings: JSONObject, store: RemoteStore) -> tuple[str, int]:
    url = settings.get("url") or settings.get("uri")
    port = settings.get("port")
    if isinstance(url, str) and url:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        return parts.hostname or "localhost", _port(port) or parts.port or store.default_port
    host = settings.get("host")
    return (str(host) if host else "localhost"), _port(port) or store.default_port


def _port(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


async def check_remote_store(project: Project, kind: str) -> str:
    """Raise KnowledgeError unless the client is installed and the server answers;
    return where it is (for the method text)."""
    store = REMOTE_STORES[kind]
    if not client_installed(store.module):
        raise KnowledgeError(
            f"{kind} vector store needs `pip install calm-workbench[{store.extra}]` "
            f"(the official {store.module} client)"
        )
    address = store_address(project, store)
    if address is None:
        return f"{kind} (in process)"
    host, port = address
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=CONNECT_TIMEOUT_S
        )
    except (OSError, asyncio.TimeoutError) as error:
        reason = "timed out" if isinstance(error, asyncio.TimeoutError) else str(error)
        raise KnowledgeError(
            f"cannot reach {kind} at {host}:{port} ({reason}); start the server or fix "
            "`vector_store:` in endpoints.yml"
        ) from error
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return f"{kind} at {host}:{port}"
