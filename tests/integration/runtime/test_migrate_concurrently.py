"""``ameide migrate`` is idempotent and safe when several processes run it at once (advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ameide_migrations import current_heads
from tests.support import servers

pytestmark = pytest.mark.integration


@pytest.fixture(name="empty_database")
def fixture_empty_database(postgres_server_url: str) -> Iterator[str]:
    """A new database with no tables."""
    with servers.fresh_database(postgres_server_url, f"ameide_migrate_{uuid.uuid4().hex[:12]}") as url:
        yield url


def _migrate(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AMEIDE_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "ameide_cli", "migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_concurrent_migrations_then_a_third(empty_database: str) -> None:
    """Two migrations started together both succeed; a third changes nothing; the schema is at head."""
    first, second = _migrate(empty_database), _migrate(empty_database)
    outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    third = _migrate(empty_database)
    assert third.communicate(timeout=120)[0].strip() == "database migrated to head"
    with psycopg.connect(empty_database.replace("postgresql+psycopg://", "postgresql://")) as conn:
        versions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    assert versions == list(current_heads())


def test_unreachable_database_is_one_line(postgres_server_url: str) -> None:
    """An unreachable database gives one clear line and a non-zero exit, not a traceback."""
    port = servers.free_port()
    result = _migrate(f"postgresql://postgres@127.0.0.1:{port}/none")
    output = result.communicate(timeout=60)[0]
    assert result.returncode == 1
    assert output.startswith("ameide: cannot reach PostgreSQL")
    assert len(output.strip().splitlines()) == 1
