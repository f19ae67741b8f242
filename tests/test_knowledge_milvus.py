"""A milvus vector store searched as Rasa searches it, with the official client against a
real Milvus Lite server that the tests start on 127.0.0.1. The collections are filled as
Rasa's ingestion fills one: the documents cut by the recursive splitter, each chunk embedded
with the policy's embeddings model (here the fake server's), stored as `text`, `vector`
and the metadata (`source`) beside them."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_llm import EMBEDDING_DIMENSIONS, FakeLLM, embed_text
from knowledge_helpers import write_project
from pymilvus import DataType, MilvusClient

from workbench.cli.main import main
from workbench.knowledge.base import open_knowledge_base
from workbench.knowledge.chunks import chunk_text
from workbench.knowledge.model import KnowledgeError
from workbench.knowledge.service import KnowledgeService
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.understanding.offline.generator import OfflineGenerator

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge"
FEES = "what are the fees for international payments?"
INTERNAL_ERROR = "Sorry, I am having trouble with that. Please try again in a few minutes."
SERVER_START_S = 60.0


@dataclass
class MilvusServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data: Path) -> MilvusServer:
    """`milvus-lite server` on a free port; returns once it accepts connections. Its output
    goes to a file beside the data (a pipe nobody reads could fill and stall it)."""
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = data.with_name(f"{data.name}.log")
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data)]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return MilvusServer(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("milvus-lite server did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    running = start_server(tmp_path_factory.mktemp("milvus"))
    yield running
    running.stop()


def ingest(
    uri: str,
    collection: str,
    docs: Path,
    *,
    metric: str = "COSINE",
    metadata_field: bool = False,
) -> int:
    """Fill `collection` from every .txt under `docs` as Rasa's ingestion does; the
    metadata goes into a `metadata` field instead with `metadata_field`. Returns the
    number of chunks."""
    client = MilvusClient(uri=uri)
    if client.has_collection(collection):
        client.drop_collection(collection)
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=EMBEDDING_DIMENSIONS)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type=metric)
    client.create_collection(collection, schema=schema, index_params=index)
    rows = []
    for path in sorted(docs.rglob("*.txt")):
        source = path.relative_to(docs.parent.parent).as_posix()
        for chunk in chunk_text(source, path.read_text(encoding="utf-8")):
            metadata = {"source": chunk.source, "line": chunk.line}
            row = {"text": chunk.text, "vector": embed_text(chunk.text)}
            rows.append({**row, "metadata": metadata} if metadata_field else {**row, **metadata})
    client.insert(collection, rows)
    client.close()
    return len(rows)


class Embedder:
    """The fake server's embeddings, counting the texts it embeds."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [embed_text(text) for text in texts]


def milvus_project(root: Path, endpoints: str, policy: str = "") -> Project:
    write_project(root, "- name: EnterpriseSearchPolicy\n  vector_store: {type: milvus}\n" + policy)
    (root / "endpoints.yml").write_text(endpoints)
    return load_project(root).project


def store_endpoints(uri: str, collection: str = "banking", **more: object) -> str:
    keys = {"type": "milvus", "uri": uri, "collection": collection, **more}
    return "vector_store:\n" + "".join(f"  {key}: {value}\n" for key, value in keys.items())


def open_store(project: Project, embedder: Embedder | None):
    assert project.config.search is not None
    return asyncio.run(
        open_knowledge_base(project, project.config.search, embedder=embedder, cache_dir=None)
    )


@pytest.fixture(scope="module")
def banking(server: MilvusServer) -> int:
    return ingest(server.uri, "banking", FIXTURE / "docs" / "banking")


def test_the_collection_is_searched_by_the_embedded_question(
    tmp_path: Path, server: MilvusServer, banking: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # host and port as Rasa reads them, through ${ENV} references
    monkeypatch.setenv("MILVUS_PORT", str(server.port))
    endpoints = (
        "vector_store:\n  type: milvus\n  host: 127.0.0.1\n  port: ${MILVUS_PORT}\n"
        "  user: ${MILVUS_USER:-root}\n  password: ${MILVUS_PASSWORD:-Milvus}\n"
        "  collection: banking\n"
    )
    embedder = Embedder()
    base = open_store(milvus_project(tmp_path, endpoints), embedder)
    assert base.method == (
        f"milvus at 127.0.0.1:{server.port}, collection banking (COSINE: higher is better)"
    )
    hits = asyncio.run(base.search(FEES, limit=3))
    assert banking >= 3 and [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].chunk.source == "docs/banking/fees.txt" and hits[0].chunk.line == 1
    assert "0.5% markup on exchange rates" in hits[0].chunk.text
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert embedder.texts == [FEES]  # the question alone: the collection is already filled
    assert "0.5% markup" in base.passage(FEES, hits[0])


def test_the_threshold_follows_the_metric_of_the_collections_index(
    tmp_path: Path, server: MilvusServer, banking: int
) -> None:
    cosine = open_store(milvus_project(tmp_path / "c", store_endpoints(server.uri)), Embedder())
    scores = [h.score for h in asyncio.run(cosine.search(FEES, limit=4))]
    cut = (scores[0] + scores[1]) / 2  # a similarity: only the best one reaches it
    assert len(asyncio.run(cosine.search(FEES, limit=4, threshold=cut))) == 1
    assert asyncio.run(cosine.search(FEES, limit=4, threshold=1.01)) == []

    ingest(server.uri, "banking_l2", FIXTURE / "docs" / "banking", metric="L2")
    project = milvus_project(tmp_path / "l", store_endpoints(server.uri, "banking_l2"))
    l2 = open_store(project, Embedder())
    assert l2.method.endswith("(L2: lower is better)")
    distances = [h.score for h in asyncio.run(l2.search(FEES, limit=4, threshold=10.0))]
    assert len(distances) == banking and distances == sorted(distances)
    cut = (distances[0] + distances[1]) / 2  # a distance: only the nearest one is within it
    hits = asyncio.run(l2.search(FEES, limit=4, threshold=cut))
    assert [h.chunk.source for h in hits] == ["docs/banking/fees.txt"]
    # Rasa's default threshold 0.0 is a distance of zero with L2: nothing but the very text
    assert asyncio.run(l2.search(FEES, limit=4)) == []


def test_metadata_from_a_metadata_field_or_else_the_collection(
    tmp_path: Path, server: MilvusServer
) -> None:
    ingest(server.uri, "nested", FIXTURE / "docs" / "banking", metadata_field=True)
    base = open_store(milvus_project(tmp_path / "n", store_endpoints(server.uri, "nested")), None)
    base.embedder = Embedder()
    [hit] = asyncio.run(base.search(FEES, limit=1))
    assert hit.chunk.location == "docs/banking/fees.txt:1"

    client = MilvusClient(uri=server.uri)
    client.create_collection("bare", dimension=EMBEDDING_DIMENSIONS, metric_type="COSINE")
    client.insert("bare", [{"id": 1, "vector": embed_text(FEES), "text": "Half a percent."}])
    client.close()
    base = open_store(milvus_project(tmp_path / "b", store_endpoints(server.uri, "bare")), None)
    base.embedder = Embedder()
    [hit] = asyncio.run(base.search(FEES, limit=1))
    assert hit.chunk.source == "milvus:bare" and hit.chunk.text == "Half a percent."


def test_wrong_settings_and_no_embeddings_are_clear_errors(
    tmp_path: Path, server: MilvusServer, banking: int
) -> None:
    project = milvus_project(tmp_path / "a", store_endpoints(server.uri, "missing"))
    with pytest.raises(KnowledgeError, match="has no collection 'missing'"):
        open_store(project, Embedder())

    project = milvus_project(
        tmp_path / "b", f"vector_store:\n  type: milvus\n  uri: {server.uri}\n"
    )
    with pytest.raises(KnowledgeError, match=r"needs `collection:` in endpoints\.yml"):
        open_store(project, Embedder())

    project = milvus_project(tmp_path / "c", store_endpoints(server.uri, db_name="nope"))
    with pytest.raises(KnowledgeError, match=r"cannot open milvus at .*nope"):
        open_store(project, Embedder())

    base = open_store(milvus_project(tmp_path / "d", store_endpoints(server.uri)), None)
    with pytest.raises(KnowledgeError, match="searched by embeddings"):
        asyncio.run(base.search(FEES))


def test_a_milvus_lite_file_opens_in_process(tmp_path: Path) -> None:
    root = tmp_path / "project"
    project = milvus_project(root, store_endpoints("./knowledge.db"))
    ingest(str(root / "knowledge.db"), "banking", FIXTURE / "docs" / "banking")
    base = open_store(project, Embedder())
    assert base.method.startswith("milvus (in process), collection banking")
    assert asyncio.run(base.search(FEES, limit=1))[0].chunk.source == "docs/banking/fees.txt"


# --- through the session and the validate verb -----------------------------------------------


def conversation_project(root: Path, uri: str, url: str) -> Project:
    """The knowledge fixture with its vector store in milvus and its models at `url`."""
    shutil.copytree(FIXTURE, root)
    config = (root / "config.yml").read_text(encoding="utf-8")
    config = config.replace("type: faiss\n      source: ./docs", "type: milvus")
    (root / "config.yml").write_text(config, encoding="utf-8")
    (root / "endpoints.yml").write_text(
        store_endpoints(uri)
        + "model_groups:\n"
        + "  - id: main_llm\n    models:\n"
        + f"      - provider: openai\n        model: fake-chat\n        api_base: {url}\n"
        + "  - id: embeddings\n    models:\n"
        + f"      - provider: openai\n        model: fake-embed\n        api_base: {url}\n",
        encoding="utf-8",
    )
    return load_project(root).project


def test_a_knowledge_question_is_answered_from_the_collection_until_the_server_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    own = start_server(tmp_path / "data")
    try:
        ingest(own.uri, "banking", FIXTURE / "docs" / "banking")
        with FakeLLM() as model:
            project = conversation_project(tmp_path / "project", own.uri, model.url)
            session = Session(project, OfflineGenerator(), knowledge=KnowledgeService())
            model.queue("Half a percent, plus a small fixed fee.")
            trace = asyncio.run(session.handle(FEES))
            own.stop()
            after = asyncio.run(session.handle(FEES))
    finally:
        if own.process.poll() is None:
            own.stop()
    assert trace.bot_texts == ["Half a percent, plus a small fixed fee."]
    [record] = trace.knowledge
    assert record.method.startswith(f"milvus at 127.0.0.1:{own.port}, collection banking")
    assert record.hits[0].location == "docs/banking/fees.txt:1"
    [chat] = model.chat_requests()
    assert "0.5% markup on exchange rates" in chat["body"]["messages"][0]["content"]
    # one query per question and nothing else: the documents are in the collection
    first, second = (r["body"]["input"] for r in model.embedding_requests())
    assert first == [FEES] and second[0].startswith(FEES)

    # the server is gone: the internal-error response, the reason in the trace, and the
    # conversation goes on
    assert after.bot_texts == [INTERNAL_ERROR]
    assert after.knowledge[0].outcome == "error"
    assert "searching milvus collection 'banking'" in after.knowledge[0].reason
    assert after.stack_after == []


def test_validate_says_when_the_milvus_server_cannot_be_reached(
    tmp_path: Path, server: MilvusServer, banking: int, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ok"
    milvus_project(root, store_endpoints(server.uri))
    assert main(["validate", str(root)]) == 0
    assert "vector store" not in capsys.readouterr().out

    port = free_port()  # nothing listens there
    root = tmp_path / "down"
    milvus_project(root, store_endpoints(f"http://127.0.0.1:{port}"))
    assert main(["validate", str(root)]) == 0  # a warning: the project itself is fine
    out = capsys.readouterr().out
    assert "EnterpriseSearchPolicy cannot search its milvus vector store" in out
    assert f"cannot reach milvus at 127.0.0.1:{port}" in out
