"""Embedded PostgreSQL and Redis really start, answer on 127.0.0.1 and keep their data across restarts."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from ameide_cli.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedServerError

pytestmark = pytest.mark.integration


@pytest.fixture(name="data_dir")
def fixture_data_dir() -> Iterator[Path]:
    """A directory directly under the system temp dir.

    Not pytest's tmp_path: as root the server runs as another user, and every pytest session resets
    /tmp/pytest-of-<user> to mode 0700, which would lock that user out mid-test.
    """
    with tempfile.TemporaryDirectory(prefix="ameide-embedded-test-") as path:
        yield Path(path)


def test_postgres_starts_and_keeps_data(data_dir: Path) -> None:
    """A table created in one run is there in the next run on the same data directory."""
    with EmbeddedPostgres(data_dir / "pg") as server, psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")
        assert server.url().startswith("postgresql://postgres@127.0.0.1:")
    with EmbeddedPostgres(data_dir / "pg") as server, psycopg.connect(server.url()) as conn:
        row = conn.execute("SELECT n FROM kept").fetchone()
    assert row == (42,)


def test_a_replica_follows_its_primary(data_dir: Path) -> None:
    """A replica started from a running server answers reads, refuses writes and shows what is written later."""
    with EmbeddedPostgres(data_dir / "primary") as primary, psycopg.connect(primary.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE followed (n int)")
        with primary.replica(data_dir / "replica") as replica, psycopg.connect(replica.url(), autocommit=True) as ro:
            assert (True,) == ro.execute("SELECT pg_is_in_recovery()").fetchone()
            conn.execute("INSERT INTO followed VALUES (7)")
            lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
            while not ro.execute("SELECT pg_last_wal_replay_lsn() >= %s", lsn).fetchone()[0]:  # type: ignore[index]
                ro.execute("SELECT pg_sleep(0.01)")
            assert [(7,)] == ro.execute("SELECT n FROM followed").fetchall()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                ro.execute("INSERT INTO followed VALUES (8)")


def test_redis_starts_and_keeps_data(data_dir: Path) -> None:
    """A key written in one run is there in the next run on the same data directory."""
    with EmbeddedRedis(data_dir / "redis") as server:
        redis.Redis.from_url(server.url).set("kept", "yes")
    with EmbeddedRedis(data_dir / "redis") as server:
        assert redis.Redis.from_url(server.url).get("kept") == b"yes"


def test_port_in_use_is_one_clear_line(data_dir: Path) -> None:
    """A port already taken fails with one line saying why, not a server log dump."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmbeddedServerError) as caught:
            EmbeddedPostgres(data_dir / "pg", port=port).start()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "could not" in message
