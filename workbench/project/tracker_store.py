"""Where a project's production conversations are: Rasa's `tracker_store:` endpoint, or a
URL given on the command line (`postgresql://user:pw@host:5432/rasa`, `sqlite:///rasa.db`).

Only SQL tracker stores are read (Rasa's `type: sql`); `${ENV}` references were
substituted by the endpoints loader before this sees the values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

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


class TrackerStoreConfigError(WorkbenchError, ValueError):
    """The tracker store cannot be read from what the project or the URL says."""


@dataclass(frozen=True)
class TrackerStoreConfig:
    """A SQL tracker store: `dialect` is `sqlite` (then `db` is the file's path) or
    `postgresql`. `label` names it without secrets, for titles and messages."""

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


def from_url(url: str) -> TrackerStoreConfig:
    """`--tracker-store URL`, in SQLAlchemy's form."""
    scheme, sep, rest = url.partition("://")
    dialect = _DIALECTS.get(scheme.lower()) if sep else None
    if dialect is None:
        raise TrackerStoreConfigError(
            f"cannot read the tracker store '{_without_password(url)}': give a URL such as "
            "postgresql://user:password@host:5432/rasa or sqlite:///path/to/rasa.db"
        )
    if dialect == SQLITE:
        path = unquote(rest[1:] if rest.startswith("/") else rest).split("?", 1)[0]
        if not path:
            raise TrackerStoreConfigError("sqlite:/// needs a file: sqlite:///path/to/rasa.db")
        return TrackerStoreConfig(SQLITE, path)
    parts = urlsplit(f"//{rest}")
    try:
        port = parts.port
    except ValueError as exc:
        raise TrackerStoreConfigError(f"the tracker store URL has a bad port: {exc}") from exc
    db = unquote(parts.path.lstrip("/"))
    if not db:
        raise TrackerStoreConfigError(
            f"the tracker store URL '{_without_password(url)}' names no database: "
            "add it after the host, as in postgresql://host:5432/rasa"
        )
    return TrackerStoreConfig(
        POSTGRESQL,
        db,
        host=parts.hostname or None,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        query=tuple(parse_qsl(parts.query)),
    )


def from_endpoints(raw: Mapping[str, JSONValue], file: str = "endpoints.yml") -> TrackerStoreConfig:
    """endpoints.yml's `tracker_store:` section (keys as Rasa's SQLTrackerStore takes them:
    `dialect`, `url` (the host), `port`, `db`, `username`, `password`, `query`)."""
    section = raw.get("tracker_store")
    if section is None:
        raise TrackerStoreConfigError(
            f"{file} has no `tracker_store:` section: pass --tracker-store URL"
        )
    if not isinstance(section, Mapping):
        raise TrackerStoreConfigError(f"{file}: `tracker_store` must be a mapping")
    kind = str(section.get("type") or "")
    if kind.lower() != "sql":
        raise TrackerStoreConfigError(
            f"{file}: the tracker store is of type '{kind or '(none)'}'; only `type: sql` "
            "(SQLite, PostgreSQL) can be imported from"
        )
    given = str(section.get("dialect") or SQLITE)
    dialect = _DIALECTS.get(given.lower())
    if dialect is None:
        raise TrackerStoreConfigError(
            f"{file}: tracker store dialect '{given}' is not supported: sqlite or postgresql"
        )
    port = section.get("port")
    try:
        number = int(str(port)) if port not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise TrackerStoreConfigError(f"{file}: tracker store port '{port}' is no number") from exc
    query = section.get("query")
    return TrackerStoreConfig(
        dialect,
        str(section.get("db") or DEFAULT_SQLITE_DB),
        host=_text(section.get("url")),
        port=number,
        username=_text(section.get("username")),
        password=_text(section.get("password")),
        query=tuple((str(k), str(v)) for k, v in query.items())
        if isinstance(query, Mapping)
        else (),
    )


def _text(value: JSONValue) -> str | None:
    return None if value is None or value == "" else str(value)


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    who, at, where = rest.rpartition("@")
    if not at or ":" not in who:
        return url
    return f"{scheme}{sep}{quote(who.split(':', 1)[0])}:***@{where}"
