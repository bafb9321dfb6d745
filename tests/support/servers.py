"""Provision real PostgreSQL and Redis servers for tests (environment, then testcontainers, then embedded)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql


def docker_engine_answers() -> bool:
    """True when a Docker engine responds (the docker client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)  # noqa: S607
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.contextmanager
def postgres_server(env_url: str) -> Iterator[str]:
    """Yield a server URL: the environment's, else a testcontainer, else an embedded server."""
    if env_url:
        yield env_url
        return
    if docker_engine_answers():
        from testcontainers.postgres import PostgresContainer  # noqa: PLC0415 - optional path

        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    from ameide_cli.embedded import EmbeddedPostgres  # noqa: PLC0415 - the last resort

    with (
        tempfile.TemporaryDirectory(prefix="ameide-test-pg-") as data_dir,
        EmbeddedPostgres(Path(data_dir)) as pg,
    ):
        yield pg.url("postgres")


@contextlib.contextmanager
def redis_server(env_url: str) -> Iterator[str]:
    """Yield a Redis URL: the environment's, else a testcontainer, else an embedded server."""
    if env_url:
        yield env_url
        return
    if docker_engine_answers():
        from testcontainers.redis import RedisContainer  # noqa: PLC0415 - optional path

        with RedisContainer("redis:7") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    from ameide_cli.embedded import EmbeddedRedis  # noqa: PLC0415 - the last resort

    with (
        tempfile.TemporaryDirectory(prefix="ameide-test-redis-") as data_dir,
        EmbeddedRedis(Path(data_dir)) as redis,
    ):
        yield redis.url


@contextlib.contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the server, yield its URL, drop it afterwards."""
    admin = _libpq(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = server_url.rpartition("/")
    query = ""
    if "?" in server_url:
        query = "?" + server_url.split("?", 1)[1]
    try:
        yield f"{base}/{name}{query}"
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")
