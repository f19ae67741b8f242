"""Where a project's production conversations are: Rasa's `tracker_store:` endpoint, or a
URL given on the command line.

Three kinds are read, as Rasa keeps them: SQL (`type: sql`, SQLite or PostgreSQL), Redis
(`type: redis`) and MongoDB (`type: mongod`). `${ENV}` references were substituted by the
endpoints loader before this sees the values. Passwords stay out of `repr` and of every
`label`, the name a store is shown and recorded by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

from workbench.calm.values import JSONValue
from workbench.errors import WorkbenchError

SQLITE, POSTGRESQL = "sqlite", "postgresql"
# what Rasa's `dialect` may say for the two kinds we read (SQLAlchemy's driver suffixes)
_DIALECTS = {
    "sqlite": SQLITE,
    "postgresql": POSTGRESQL,
    "postgres": POSTGRESQL,
    "postgresql+psycopg2": POSTGRESQL,
    "postgresql+psycopg": POSTGRESQL,
}
DEFAULT_SQLITE_DB = "rasa.db"  # Rasa's default for `type: sql` without a `db`
# Rasa's RedisTrackerStore: a tracker is the string under `tracker:<sender_id>`, or under
# `<key_prefix>:tracker:<sender_id>` when the prefix is alphanumeric (any other prefix
# is ignored with a warning)
REDIS_TRACKER_PREFIX = "tracker:"
DEFAULT_REDIS_PORT = 6379
# Rasa's MongoTrackerStore defaults
DEFAULT_MONGO_DB, DEFAULT_MONGO_COLLECTION, DEFAULT_AUTH_SOURCE = "rasa", "conversations", "admin"
_URL_FORMS = (
    "postgresql://user:password@host:5432/rasa, sqlite:///path/to/rasa.db, "
    "redis://:password@host:6379/0, or mongodb://user:password@host:27017/rasa"
)


class TrackerStoreConfigError(WorkbenchError, ValueError):
    """The tracker store cannot be read from what the project or the URL says."""


@dataclass(frozen=True)
class SqlStoreConfig:
    """A SQL tracker store: `dialect` is `sqlite` (then `db` is the file's path) or
    `postgresql`."""

    dialect: str
    db: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    query: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        if self.dialect == SQLITE:
            return f"sqlite:///{self.db}"
        where = self.host or "localhost"
        if self.port is not None:
            where += f":{self.port}"
        return f"postgresql://{where}/{self.db}"


@dataclass(frozen=True)
class RedisStoreConfig:
    """A Redis tracker store (a standalone server, by TCP or by `socket` path)."""

    host: str = "localhost"
    port: int = DEFAULT_REDIS_PORT
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_prefix: str | None = None  # as written in endpoints.yml; see `tracker_prefix`
    use_ssl: bool = False
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    ssl_ca_certs: str | None = None
    socket: str | None = None

    @property
    def tracker_prefix(self) -> str:
        """What every tracker's key starts with, as Rasa makes it."""
        if self.key_prefix and self.key_prefix.isalnum():
            return f"{self.key_prefix}:{REDIS_TRACKER_PREFIX}"
        return REDIS_TRACKER_PREFIX

    @property
    def label(self) -> str:
        if self.socket is not None:
            where = f"unix://{self.socket}?db={self.db}"
        else:
            scheme = "rediss" if self.use_ssl else "redis"
            where = f"{scheme}://{_host_port(self.host, self.port)}/{self.db}"
        if self.tracker_prefix != REDIS_TRACKER_PREFIX:
            where += ("&" if "?" in where else "?") + urlencode({"key_prefix": self.key_prefix})
        return where


@dataclass(frozen=True)
class MongoStoreConfig:
    """A MongoDB tracker store: `hosts` as a MongoDB URI lists them (`h1:27017,h2`),
    `options` the URI's own options; the credentials are kept apart from them."""

    hosts: str = "localhost:27017"
    db: str = DEFAULT_MONGO_DB
    collection: str = DEFAULT_MONGO_COLLECTION
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth_source: str = DEFAULT_AUTH_SOURCE
    srv: bool = False  # mongodb+srv://: the hosts are found in DNS
    options: tuple[tuple[str, str], ...] = ()

    @property
    def uri(self) -> str:
        """The URI the client connects to: without credentials (they are passed apart)."""
        scheme = "mongodb+srv" if self.srv else "mongodb"
        query = f"?{urlencode(self.options)}" if self.options else ""
        return f"{scheme}://{self.hosts}/{query}"

    @property
    def label(self) -> str:
        scheme = "mongodb+srv" if self.srv else "mongodb"
        where = f"{scheme}://{self.hosts}/{self.db}"
        if self.collection != DEFAULT_MONGO_COLLECTION:
            where += "?" + urlencode({"collection": self.collection})
        return where


TrackerStoreConfig = SqlStoreConfig | RedisStoreConfig | MongoStoreConfig


# -- --tracker-store URL --------------------------------------------------------------------


def from_url(url: str) -> TrackerStoreConfig:
    """`--tracker-store URL`: SQLAlchemy's form for SQL stores, redis:// / rediss:// /
    unix:// for Redis, mongodb:// / mongodb+srv:// for MongoDB."""
    scheme, sep, rest = url.partition("://")
    kind = scheme.lower() if sep else ""
    if kind in ("redis", "rediss", "unix"):
        return _redis_url(kind, rest, url)
    if kind in ("mongodb", "mongodb+srv"):
        return _mongo_url(kind, rest, url)
    dialect = _DIALECTS.get(kind)
    if dialect is None:
        raise TrackerStoreConfigError(
            f"cannot read the tracker store '{_without_password(url)}': give a URL such as "
            + _URL_FORMS
        )
    if dialect == SQLITE:
        path = unquote(rest[1:] if rest.startswith("/") else rest).split("?", 1)[0]
        if not path:
            raise TrackerStoreConfigError("sqlite:/// needs a file: sqlite:///path/to/rasa.db")
        return SqlStoreConfig(SQLITE, path)
    parts = urlsplit(f"//{rest}")
    db = unquote(parts.path.lstrip("/"))
    if not db:
        raise TrackerStoreConfigError(
            f"the tracker store URL '{_without_password(url)}' names no database: "
            "add it after the host, as in postgresql://host:5432/rasa"
        )
    return SqlStoreConfig(
        POSTGRESQL,
        db,
        host=parts.hostname or None,
        port=_url_port(parts),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        query=tuple(parse_qsl(parts.query)),
    )


def _redis_url(kind: str, rest: str, url: str) -> RedisStoreConfig:
    """redis://[[user]:password@]host[:port][/db][?key_prefix=P], rediss:// for TLS,
    unix://[[user]:password@]/path/to/socket[?db=N&key_prefix=P]."""
    parts = urlsplit(f"//{rest}")
    query = dict(parse_qsl(parts.query))
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    prefix = query.get("key_prefix")
    _check_key_prefix(prefix, f"the tracker store URL '{_without_password(url)}'")
    if kind == "unix":
        if not parts.path:
            raise TrackerStoreConfigError(
                "unix:// needs the socket's path: unix:///path/to/redis.sock?db=0"
            )
        return RedisStoreConfig(
            db=_number(query.get("db", "0"), "db", url),
            username=username,
            password=password,
            key_prefix=prefix,
            socket=unquote(parts.path),
        )
    path = parts.path.strip("/")
    return RedisStoreConfig(
        host=parts.hostname or "localhost",
        port=_url_port(parts) or DEFAULT_REDIS_PORT,
        db=_number(path or query.get("db", "0"), "db", url),
        username=username,
        password=password,
        key_prefix=prefix,
        use_ssl=kind == "rediss",
    )


def _mongo_url(kind: str, rest: str, url: str) -> MongoStoreConfig:
    """mongodb://[user:password@]host[:port][,host...][/db][?options], where the
    options may also say `collection` (the workbench's own: Rasa's `collection` key)."""
    who, at, where = rest.rpartition("@") if "@" in rest.split("/", 1)[0] else ("", "", rest)
    hosts, _, tail = where.partition("/")
    path, _, query_text = tail.partition("?")
    if "?" in hosts:  # mongodb://host?opts with no slash
        hosts, _, query_text = hosts.partition("?")
    if not hosts:
        raise TrackerStoreConfigError(
            f"the tracker store URL '{_without_password(url)}' names no host: "
            "mongodb://host:27017/rasa"
        )
    options = parse_qsl(query_text)
    collection = next((v for k, v in options if k == "collection"), DEFAULT_MONGO_COLLECTION)
    auth_source = next((v for k, v in options if k.lower() == "authsource"), DEFAULT_AUTH_SOURCE)
    username, _, password = who.partition(":") if at else ("", "", "")
    return MongoStoreConfig(
        hosts=hosts,
        db=unquote(path) or DEFAULT_MONGO_DB,
        collection=collection,
        username=unquote(username) or None,
        password=unquote(password) if password else None,
        auth_source=auth_source,
        srv=kind == "mongodb+srv",
        options=tuple(
            (k, v) for k, v in options if k != "collection" and k.lower() != "authsource"
        ),
    )


# -- endpoints.yml --------------------------------------------------------------------------


def from_endpoints(raw: Mapping[str, JSONValue], file: str = "endpoints.yml") -> TrackerStoreConfig:
    """endpoints.yml's `tracker_store:` section, with the keys Rasa's tracker stores take."""
    section = raw.get("tracker_store")
    if section is None:
        raise TrackerStoreConfigError(
            f"{file} has no `tracker_store:` section: pass --tracker-store URL"
        )
    if not isinstance(section, Mapping):
        raise TrackerStoreConfigError(f"{file}: `tracker_store` must be a mapping")
    kind = str(section.get("type") or "").lower()
    if kind == "sql":
        return _sql_section(section, file)
    if kind == "redis":
        return _redis_section(section, file)
    if kind == "mongod":
        return _mongo_section(section, file)
    raise TrackerStoreConfigError(
        f"{file}: the tracker store is of type '{section.get('type') or '(none)'}'; "
        "`type: sql` (SQLite, PostgreSQL), `redis` and `mongod` can be imported from"
    )


def _sql_section(section: Mapping[str, JSONValue], file: str) -> SqlStoreConfig:
    """Rasa's SQLTrackerStore keys: `dialect`, `url` (the host), `port`, `db`,
    `username`, `password`, `query`."""
    given = str(section.get("dialect") or SQLITE)
    dialect = _DIALECTS.get(given.lower())
    if dialect is None:
        raise TrackerStoreConfigError(
            f"{file}: tracker store dialect '{given}' is not supported: sqlite or postgresql"
        )
    query = section.get("query")
    return SqlStoreConfig(
        dialect,
        str(section.get("db") or DEFAULT_SQLITE_DB),
        host=_text(section.get("url")),
        port=_port(section.get("port"), file),
        username=_text(section.get("username")),
        password=_text(section.get("password")),
        query=tuple((str(k), str(v)) for k, v in query.items())
        if isinstance(query, Mapping)
        else (),
    )


def _redis_section(section: Mapping[str, JSONValue], file: str) -> RedisStoreConfig:
    """Rasa's RedisTrackerStore keys: `url` (the host), `port`, `db`, `username`,
    `password`, `key_prefix`, `use_ssl` and the `ssl_*` files; `deployment_mode` other
    than `standard` (cluster, sentinel) is not read."""
    mode = str(section.get("deployment_mode") or "standard").lower()
    if mode != "standard":
        raise TrackerStoreConfigError(
            f"{file}: a Redis tracker store with `deployment_mode: {mode}` cannot be imported "
            "from (only a standalone server): pass --tracker-store redis://host:port/db for "
            "one of its nodes"
        )
    prefix = _text(section.get("key_prefix"))
    _check_key_prefix(prefix, file)
    return RedisStoreConfig(
        host=_text(section.get("url")) or "localhost",
        port=_port(section.get("port"), file) or DEFAULT_REDIS_PORT,
        db=_number(section.get("db") or 0, "db", file),
        username=_text(section.get("username")),
        password=_text(section.get("password")),
        key_prefix=prefix,
        use_ssl=_flag(section.get("use_ssl"), "use_ssl", file),
        ssl_keyfile=_text(section.get("ssl_keyfile")),
        ssl_certfile=_text(section.get("ssl_certfile")),
        ssl_ca_certs=_text(section.get("ssl_ca_certs")),
    )


def _mongo_section(section: Mapping[str, JSONValue], file: str) -> MongoStoreConfig:
    """Rasa's MongoTrackerStore keys: `url` (a host or a mongodb:// URI), `db`,
    `username`, `password`, `auth_source`, `collection`."""
    url = _text(section.get("url")) or "mongodb://localhost:27017"
    base = from_url(url if "://" in url else f"mongodb://{url}")
    if not isinstance(base, MongoStoreConfig):
        raise TrackerStoreConfigError(
            f"{file}: the MongoDB tracker store's url '{_without_password(url)}' is no "
            "mongodb:// URI or host"
        )
    return MongoStoreConfig(
        hosts=base.hosts,
        db=_text(section.get("db")) or DEFAULT_MONGO_DB,
        collection=_text(section.get("collection")) or DEFAULT_MONGO_COLLECTION,
        username=_text(section.get("username")) or base.username,
        password=_text(section.get("password")) or base.password,
        auth_source=_text(section.get("auth_source")) or base.auth_source,
        srv=base.srv,
        options=base.options,
    )


# -- values ---------------------------------------------------------------------------------


def _check_key_prefix(prefix: str | None, where: str) -> None:
    # Rasa ignores a prefix that is not alphanumeric and uses `tracker:`: reading with the
    # prefix as written would find nothing, reading without it would read another store
    if prefix and not prefix.isalnum():
        raise TrackerStoreConfigError(
            f"{where}: the Redis key_prefix '{prefix}' is not alphanumeric; Rasa ignores such "
            "a prefix and keeps trackers under `tracker:`: leave it out to read those"
        )


def _text(value: JSONValue) -> str | None:
    return None if value is None or value == "" else str(value)


def _port(value: JSONValue, where: str) -> int | None:
    if value in (None, ""):
        return None
    return _number(value, "port", where)


def _number(value: JSONValue, what: str, where: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        shown = _without_password(where) if "://" in where else where
        raise TrackerStoreConfigError(
            f"{shown}: tracker store {what} '{value}' is no number"
        ) from exc


def _flag(value: JSONValue, what: str, file: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise TrackerStoreConfigError(f"{file}: tracker store {what} '{value}' is no true/false")


def _url_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError as exc:
        raise TrackerStoreConfigError(f"the tracker store URL has a bad port: {exc}") from exc


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    who, at, where = rest.rpartition("@")
    if not at or ":" not in who:
        return url
    return f"{scheme}{sep}{quote(who.split(':', 1)[0])}:***@{where}"
