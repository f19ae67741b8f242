"""A Milvus collection as Rasa's `Milvus_Store` searches it: the nearest entities of
`collection` by the vector field `vector`, the metric the collection's index was built with
(L2 when it names none), each entity's text from its `text` field and its metadata from a
`metadata` field or, when it has none, from its other fields (the layout a LangChain-style
ingestion writes: `text`, `vector`, `source`, ...).

The metric decides what `threshold` means: a similarity for `COSINE` and `IP` (a hit needs
a score of at least `threshold`), a distance for the others (at most `threshold`), as in
Rasa. The connection keys are Rasa's: `uri`, or `host` and `port`; `user`, `password`,
`token`, `db_name`. A `uri` naming a local `.db` file opens Milvus Lite in this process,
as the official client does. The client is `pip install calm-workbench[milvus]`; what
every collection store shares is `workbench.knowledge.collection`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from workbench.calm.values import JSONObject
from workbench.knowledge.collection import (
    CollectionBase,
    Row,
    StoreSettings,
    as_object,
    connect,
    store_settings,
)
from workbench.knowledge.model import Embedder
from workbench.knowledge.stores import milvus_lite_file
from workbench.project.model import Project

CONTENT_FIELD = "text"
VECTOR_FIELD = "vector"
METADATA_FIELD = "metadata"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 19530
DEFAULT_METRIC = "L2"
# metrics whose score is a similarity (higher is better); the others are distances
SIMILARITIES = frozenset({"IP", "COSINE"})
CONNECT_TIMEOUT_S = 5.0
# the client installs stderr handlers of its own, which would write over the TUI; every
# failure reaches the trace as a KnowledgeError instead
CLIENT_LOGGERS = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer")


def passes_threshold(score: float, threshold: float, metric: str) -> bool:
    if metric.upper() in SIMILARITIES:
        return score >= threshold
    return score <= threshold


class MilvusBase(CollectionBase):
    kind = "milvus"
    content_hint = ": Rasa reads a milvus entity's text from its `text` field"

    def __init__(
        self, client: object, collection: str, metric: str, embedder: Embedder | None, where: str
    ) -> None:
        super().__init__(client, collection, CONTENT_FIELD, embedder, where)
        self.metric = metric
        better = "higher" if metric.upper() in SIMILARITIES else "lower"
        self.method += f" ({metric}: {better} is better)"

    def _nearest(self, vector: list[float], limit: int, threshold: float) -> list[Row]:
        search = getattr(self.client, "search")  # noqa: B009 - the untyped client
        results = search(
            collection_name=self.collection,
            data=[vector],
            limit=limit,
            search_params={"metric_type": self.metric},
            output_fields=["*"],
        )
        rows: list[Row] = []
        for hit in results[0] if results else []:  # one list per question vector
            score = float(hit.get("distance", 0.0))
            if passes_threshold(score, threshold, self.metric):
                rows.append((as_object(hit.get("entity")), score))
        return rows

    def _metadata(self, entry: JSONObject) -> JSONObject:
        metadata = entry.get(METADATA_FIELD)
        if metadata is None:
            return {k: v for k, v in entry.items() if k not in (CONTENT_FIELD, VECTOR_FIELD)}
        return as_object(metadata)


def open_milvus(project: Project, embedder: Embedder | None, where: str) -> MilvusBase:
    """The client for endpoints.yml's `vector_store:` and the collection's metric; raises
    KnowledgeError when the section names no collection, the server refuses the
    connection or the collection is missing."""
    settings = store_settings(project, "milvus")
    from pymilvus import MilvusClient

    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)

    def opened() -> tuple[tuple[MilvusClient, str], bool]:
        client = MilvusClient(**client_options(project, settings))
        if not client.has_collection(settings.collection):
            return (client, DEFAULT_METRIC), False
        return (client, index_metric(client, settings.collection)), True

    client, metric = connect(where, settings.collection, opened)
    return MilvusBase(client, settings.collection, metric, embedder, where)


def client_options(project: Project, settings: StoreSettings) -> dict[str, object]:
    host = settings.text("host") or DEFAULT_HOST
    port = settings.number("port", DEFAULT_PORT)
    uri = settings.text("uri") or f"http://{host}:{port}"
    if milvus_lite_file(uri) and not Path(uri).is_absolute():
        uri = str(project.root / uri)
    options: dict[str, object] = {"uri": uri, "timeout": CONNECT_TIMEOUT_S}
    for key in ("user", "password", "token", "db_name"):
        value = settings.text(key)
        if value is not None:
            options[key] = value
    return options


def index_metric(client: object, collection: str) -> str:
    """The metric the vector field's index was built with, L2 when there is none or the
    server cannot say (Rasa reads it the same way, on a best-effort basis)."""
    try:
        names = getattr(client, "list_indexes")(collection, field_name=VECTOR_FIELD)  # noqa: B009
        if not names:
            return DEFAULT_METRIC
        info = getattr(client, "describe_index")(collection, names[0]) or {}  # noqa: B009
    except Exception:  # an older server, an index being built
        return DEFAULT_METRIC
    return str(info.get("metric_type") or DEFAULT_METRIC)
