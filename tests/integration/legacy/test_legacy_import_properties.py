"""Generated legacy databases (hypothesis), written as the JavaScript app writes them, imported by the real command.

Each example fills a real legacy PostgreSQL database (any code point in text as the app's driver stores it, any
JSON with lone surrogates and NUL as escapes in the JSON columns, odd roles and part types, now and then a
timestamp no event can carry) and runs ``ameide import-legacy`` twice into a real event store. The import never
raises; every row ends imported, skipped or failed with a reason; only the rows with such timestamps (and what
belongs to them) fail, which the exit status says; the verification finds no difference; the second run changes
nothing. Fewer examples than the in-memory properties (each is two real imports); derandomized, so every run
checks the same databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.legacy.conftest import libpq
from tests.integration.legacy.legacy_data import SCHEMA
from tests.integration.legacy.legacy_run import run_import, stored, tables
from tests.support import legacy_strategies as legacy
from tests.support import servers
from tests.support.legacy_js import js_text

pytestmark = pytest.mark.integration
LEGACY_TABLES = ("Suggestion", "Document", "Message_v2", "Message", "Chat", "User")
# What PostgreSQL stores and no event can carry.
OUT_OF_RANGE = ["infinity", "-infinity", "10000-01-01 00:00:00", "0044-03-15 00:00:00 BC"]


@dataclass
class Example:
    """A generated legacy database, with the rows given a timestamp no event can carry."""

    dataset: legacy.Dataset
    broken: dict[tuple[str, Any], str] = field(default_factory=dict)

    def at(self, table: str, key: Any, value: dt.datetime) -> Any:
        """The stored timestamp of a row: naive UTC, or its out-of-range text."""
        return self.broken.get((table, key), value.replace(tzinfo=None))

    def failures(self) -> int:
        """Rows that must fail.

        The broken ones, the messages of broken chats, the suggestions of documents no version of which can be read.
        """
        data = self.dataset
        chats = {key for table, key in self.broken if table == "Chat"}
        readable = {row.id for row in data.documents if ("Document", (row.id, row.created_at)) not in self.broken}
        lost = {row.id for row in data.documents} - readable
        orphans = sum(
            1 for row in data.messages if (row.table, row.id) not in self.broken and row.chat_id in chats
        ) + sum(1 for row in data.suggestions if ("Suggestion", row.id) not in self.broken and row.document_id in lost)
        return len(self.broken) + orphans


@st.composite
def examples(draw: st.DrawFn) -> Example:
    """A dataset, one row in eight given an out-of-range timestamp."""
    data = draw(legacy.datasets())
    keys: list[tuple[str, Any]] = [("Chat", row.id) for row in data.chats]
    keys += [(row.table, row.id) for row in data.messages]
    keys += [("Document", (row.id, row.created_at)) for row in data.documents]
    keys += [("Suggestion", row.id) for row in data.suggestions]
    broken: dict[tuple[str, Any], str] = {}
    for key in keys:
        if draw(st.integers(1, 8)) == 1:
            # Versions of one document keep distinct timestamps ((id, createdAt) is their key).
            taken = set()
            if key[0] == "Document":
                taken = {
                    value for (table, other), value in broken.items() if table == "Document" and other[0] == key[1][0]
                }
            broken[key] = draw(st.sampled_from([value for value in OUT_OF_RANGE if value not in taken]))
    return Example(data, broken)


def _fill(url: str, example: Example) -> None:
    """Empty the legacy tables and write the example as the app would have (text through its driver)."""
    data = example.dataset
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE {} CASCADE".format(", ".join(f'"{table}"' for table in LEGACY_TABLES)))
        for user in data.users:
            conn.execute('INSERT INTO "User" (id, email) VALUES (%s, %s)', [user, f"{user.hex[:8]}@example.com"])
        conn.execute("SET session_replication_role = replica")  # orphans: the app's keys were not always enforced
        for chat in data.chats:
            conn.execute(
                'INSERT INTO "Chat" VALUES (%s, %s, %s, %s, %s)',
                [chat.id, example.at("Chat", chat.id, chat.created_at), js_text(chat.title), chat.user_id,
                 js_text(chat.visibility)],
            )  # fmt: skip
        for message in data.messages:
            at = example.at(message.table, message.id, message.created_at)
            values = [message.id, message.chat_id, js_text(message.role), message.body]
            if message.table == "Message_v2":
                conn.execute(
                    'INSERT INTO "Message_v2" VALUES (%s, %s, %s, %s, %s, %s)', [*values, message.attachments, at]
                )
            else:
                conn.execute('INSERT INTO "Message" VALUES (%s, %s, %s, %s, %s)', [*values, at])
        for version in data.documents:
            conn.execute(
                'INSERT INTO "Document" VALUES (%s, %s, %s, %s, %s, %s)',
                [version.id, example.at("Document", (version.id, version.created_at), version.created_at),
                 js_text(version.title), None if version.content is None else js_text(version.content),
                 js_text(version.kind), version.user_id],
            )  # fmt: skip
        for suggestion in data.suggestions:
            conn.execute(
                'INSERT INTO "Suggestion" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)',
                [suggestion.id, suggestion.document_id, suggestion.document_created_at.replace(tzinfo=None),
                 js_text(suggestion.original_text), js_text(suggestion.suggested_text),
                 None if suggestion.description is None else js_text(suggestion.description), suggestion.is_resolved,
                 suggestion.user_id, example.at("Suggestion", suggestion.id, suggestion.created_at)],
            )  # fmt: skip


def _empty(url: str) -> None:
    """Empty every table of the event store (its schema stays migrated)."""
    with psycopg.connect(url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchall()
        conn.execute("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{name}"' for (name,) in names)))


@pytest.fixture(scope="module", name="databases")
def fixture_databases(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """A legacy database (the real schema) and a migrated event store, emptied by each example."""
    from ameide_migrations import upgrade  # noqa: PLC0415 - only database tests need Alembic

    suffix = uuid.uuid4().hex[:10]
    with (
        servers.fresh_database(postgres_server_url, f"legacy_prop_{suffix}") as legacy_url,
        servers.fresh_database(postgres_server_url, f"target_prop_{suffix}") as store_url,
    ):
        with psycopg.connect(libpq(legacy_url), autocommit=True) as conn:
            conn.execute(SCHEMA.read_text())
        upgrade(store_url)
        yield libpq(legacy_url), libpq(store_url)


@pytest.fixture(scope="module", name="reports")
def fixture_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the examples' reports go."""
    return tmp_path_factory.mktemp("legacy-properties")


def _accounted(report: dict[str, Any]) -> Callable[[str], int]:
    for name, stats in tables(report).items():
        assert stats["read"] == stats["imported"] + sum(stats["skipped"].values()) + sum(stats["failed"].values()), name
        assert all(reason for group in ("skipped", "failed", "normalised") for reason in stats[group]), name
    return lambda group: sum(sum(tables(report).get(t, {}).get(group, {}).values()) for t in LEGACY_TABLES)


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(example=examples())
def test_generated_legacy_databases_import_verify_clean_and_rerun_to_nothing(
    example: Example, databases: tuple[str, str], reports: Path
) -> None:
    """The properties of the module docstring."""
    legacy_url, store_url = databases
    _fill(legacy_url, example)
    _empty(store_url)
    status, report = run_import(legacy_url, store_url, reports)
    count = _accounted(report)
    assert (
        sum(stats["read"] for name, stats in tables(report).items() if name in LEGACY_TABLES[:-1])
        == example.dataset.rows
    )
    assert count("failed") == example.failures()
    assert status == (1 if example.failures() else 0)
    assert report["verification"]["differences"] == 0, report["verification"]
    first = stored(store_url)
    again_status, again = run_import(legacy_url, store_url, reports)
    assert again_status == status
    assert all(stats["appended"] == 0 for stats in tables(again).values())
    assert stored(store_url) == first
    assert again["verification"]["differences"] == 0
