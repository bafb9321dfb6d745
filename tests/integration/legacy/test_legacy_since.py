"""``--since``: the parallel-operation phase imports only what changed, and agrees with a full run."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ameide_cli.legacy.cli import main
from tests.integration.legacy import legacy_scenarios
from tests.integration.legacy.conftest import libpq
from tests.integration.legacy.legacy_data import SCHEMA, Generator
from tests.support import servers

pytestmark = pytest.mark.integration
TENANT = "tenant-since"


@pytest.fixture(name="legacy_url")
def fixture_legacy_url(postgres_server_url: str) -> Iterator[str]:
    """An empty legacy database of this test's own (the test adds rows to it)."""
    with servers.fresh_database(postgres_server_url, f"legacy_since_{uuid.uuid4().hex[:10]}") as url:
        yield libpq(url)


def run(source: str, target: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """Import; assert success; return the report."""
    report = tmp_path / f"{uuid.uuid4().hex[:6]}.json"
    argv = ["--source", source, "--tenant", TENANT, "--database-url", target, "--quiet", "--report", str(report)]
    assert main([*argv, *extra]) == 0
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def appended(report: dict[str, Any], table: str) -> int:
    """Events appended for ``table`` by that run."""
    return int(report["tables"].get(table, {}).get("appended", 0))


def test_since_imports_only_newer_rows(legacy_url: str, fresh_store: Callable[[], str], tmp_path: Path) -> None:
    """Only rows after the cut-off are appended, and a full run afterwards finds nothing missing.

    New rows: a chat, a message in an old chat, a new version of an old document with its relation.
    """
    target = fresh_store()
    with psycopg.connect(legacy_url, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        generator = Generator(conn, seed=99)
        legacy_scenarios.fill(generator, chats=25)
        run(legacy_url, target, tmp_path)
        cutoff = generator.clock + dt.timedelta(seconds=1)
        generator.clock = cutoff + dt.timedelta(seconds=1)
        old_chat, facts = next((k, v) for k, v in generator.expected.chats.items() if v["visibility"] == "private")
        owner = facts["owner"]
        old_document = next(iter(generator.expected.documents))
        generator.message(old_chat, "user", [{"type": "text", "text": "back again"}])
        legacy_scenarios._update_document(generator, old_chat, owner, old_document)
        new_chat = generator.chat(owner)
        generator.message(new_chat, "user", [{"type": "text", "text": "a new chat"}])
    since = run(legacy_url, target, tmp_path, "--since", cutoff.replace(tzinfo=dt.UTC).isoformat())
    assert appended(since, "Chat") == 1
    assert appended(since, "Message_v2") == 3
    assert appended(since, "Document") == 1
    assert appended(since, "links (chat side)") == appended(since, "links (artifact side)")
    assert since["verification"]["differences"] == 0
    full = run(legacy_url, target, tmp_path)
    assert all(stats["appended"] == 0 for stats in full["tables"].values())
    assert full["verification"]["differences"] == 0
