"""The data directory of ``ameide dev``: its lock, its persisted secrets, and the databases it provides.

Everything lives under one directory (``./.ameide-dev/`` by default): ``dev.lock`` (holds the pid of the running
``ameide dev``; an OS lock, so a crashed run never leaves it stale), ``secrets.json`` (the JWT and token secrets,
so tokens stay valid across restarts), ``postgres/`` and ``redis/`` (embedded server data).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import psycopg
import redis as redis_sync
from psycopg import sql

from ameide_cli.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedServerError
from ameide_cli.errors import CliError

LOCK_FILE = "dev.lock"
DATABASE = "ameide"
PREFERRED_POSTGRES_PORT = 55432
PREFERRED_REDIS_PORT = 56379

ServerT = TypeVar("ServerT", EmbeddedPostgres, EmbeddedRedis)


@dataclass(frozen=True, slots=True)
class DevSecrets:
    """Secrets persisted in the data directory."""

    jwt_secret: str
    token_secret: str


@dataclass(frozen=True, slots=True)
class Stores:
    """Where the services find PostgreSQL and Redis, and whether they are embedded."""

    database_url: str
    redis_url: str
    embedded_postgres: bool
    embedded_redis: bool


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on now (for the children only ``ameide dev`` talks to)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock for this process; a clear error when another ``ameide dev`` holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (data_dir / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            raise CliError(
                f"ameide dev is already running on {data_dir} (pid {pid}); stop it (Ctrl-C) or pass --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def reset(data_dir: Path) -> None:
    """Delete everything in the data directory except its lock."""
    for entry in data_dir.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def load_secrets(data_dir: Path) -> DevSecrets:
    """The persisted secrets, created on first use (file mode 0600)."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        return DevSecrets(jwt_secret=stored["jwt_secret"], token_secret=stored["token_secret"])
    created = DevSecrets(jwt_secret=secrets.token_urlsafe(32), token_secret=secrets.token_urlsafe(32))
    path.touch(mode=0o600)
    path.write_text(json.dumps({"jwt_secret": created.jwt_secret, "token_secret": created.token_secret}))
    return created


def _start(stack: contextlib.ExitStack, server: Callable[[int | None], ServerT], preferred: int) -> ServerT:
    """Start an embedded server on its preferred port, or on any free one when that is (or just became) taken."""
    if port_free(preferred):
        try:
            return stack.enter_context(server(preferred))
        except EmbeddedServerError:
            # Another process took the port between the check and the bind: any free port will do.
            pass
    return stack.enter_context(server(None))


def _ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _check_redis(url: str) -> None:
    # Fail before starting the services: they would otherwise run on, degraded, with Redis unreachable.
    client = redis_sync.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    finally:
        client.close()


@contextlib.contextmanager
def stores(data_dir: Path, environ: Mapping[str, str]) -> Iterator[Stores]:
    """PostgreSQL and Redis for the services: from AMEIDE_DATABASE_URL / AMEIDE_REDIS_URL, else embedded."""
    with contextlib.ExitStack() as stack:
        database_url = environ.get("AMEIDE_DATABASE_URL", "")
        if not database_url:
            postgres = _start(
                stack, lambda port: EmbeddedPostgres(data_dir / "postgres", port=port), PREFERRED_POSTGRES_PORT
            )
            _ensure_database(postgres.url("postgres"), DATABASE)
            database_url = postgres.url(DATABASE)
        redis_url = environ.get("AMEIDE_REDIS_URL", "")
        if redis_url:
            _check_redis(redis_url)
        else:
            redis = _start(stack, lambda port: EmbeddedRedis(data_dir / "redis", port=port), PREFERRED_REDIS_PORT)
            redis_url = redis.url
        yield Stores(
            database_url=database_url,
            redis_url=redis_url,
            embedded_postgres="AMEIDE_DATABASE_URL" not in environ or not environ["AMEIDE_DATABASE_URL"],
            embedded_redis="AMEIDE_REDIS_URL" not in environ or not environ["AMEIDE_REDIS_URL"],
        )
