"""One bad value never stops an import: legacy text, encodings and timestamps against real PostgreSQL databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from ameide_cli.legacy import bodies
from ameide_cli.legacy.importer import OUT_OF_RANGE, PARENT_FAILED
from ameide_cli.legacy.parts import WHOLE_BODY
from ameide_cli.legacy.text import NULS, SURROGATES
from ameide_command.domain import events
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from tests.integration.legacy.conftest import libpq
from tests.integration.legacy.legacy_data import SCHEMA, Expected
from tests.integration.legacy.legacy_run import TENANT, run_import, stored, tables
from tests.support import servers

pytestmark = pytest.mark.integration
USER = uuid.UUID("0b0b0b0b-0000-4000-8000-000000000001")


def _messages(target: str, chat_id: uuid.UUID) -> list[chat_events.MessageSentEvent]:
    found = []
    for stream_id, _, _, _, event_type, payload, _, _ in stored(target):
        decoded = events.decode(event_type, bytes(payload))
        if stream_id == chat_id and isinstance(decoded, chat_events.MessageSentEvent):
            found.append(decoded)
    return found


def test_text_a_javascript_app_left_behind_imports_normalised_and_verifies_clean(
    legacy: tuple[str, Expected], fresh_store: Callable[[], str], tmp_path: Path
) -> None:
    """Cut emoji, NUL and recovered shapes: imported as text, originals kept, each normalisation counted."""
    target = fresh_store()
    status, report = run_import(legacy[0], target, tmp_path)
    assert status == 0
    assert report["verification"]["differences"] == 0
    normalised = tables(report)["Message_v2"]["normalised"]
    for reason in (
        f"parts: {SURROGATES}",
        f"parts: {NULS}",
        f"parts: {bodies.ONE_PART}",
        f"parts: {bodies.TWICE}",
        f"parts: {bodies.BARE}",
        f"parts: {bodies.RETYPED}",
        f"parts: {bodies.WHOLE_MESSAGE}",
        f"attachments: {SURROGATES}",
        f"attachments: {bodies.ONE_ENTRY}",
    ):
        assert normalised.get(reason, 0) >= 1, reason
    chat_id = legacy[1].javascript_chat
    assert chat_id is not None
    sent = [event.message for event in _messages(target, chat_id)]
    texts = [part.text.text for message in sent for part in message.parts if part.WhichOneof("kind") == "text"]
    for text in ("Hello \ufffd", "ab", "one part object", "encoded twice \ufffd", "a bare string", "no type"):
        assert text in texts
    originals = [p.structured.json for m in sent for p in m.parts if p.structured.type == WHOLE_BODY]
    assert '[{"type": "text", "text": "Hello \\ud83d"}]' in originals


@pytest.fixture(name="sql_ascii_url")
def fixture_sql_ascii_url(postgres_server_url: str) -> Iterator[str]:
    """An empty legacy database whose encoding is SQL_ASCII (text comes back as the bytes stored)."""
    admin = libpq(postgres_server_url)
    name = f"legacy_ascii_{uuid.uuid4().hex[:10]}"
    create = "CREATE DATABASE {} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL(create).format(sql.Identifier(name)))
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _bytes_row(conn: psycopg.Connection[Any], table: str, row: dict[str, Any]) -> None:
    """Insert ``row``; bytes values are stored as they are (no encoding check in a SQL_ASCII database)."""
    values = []
    for column, value in row.items():
        stored_as = sql.SQL("json" if column in {"parts", "attachments"} else "text")
        raw = sql.SQL("convert_from({}, 'SQL_ASCII')::{}").format(sql.Placeholder(), stored_as)
        values.append(raw if isinstance(value, bytes) else sql.Placeholder())
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(values)
    )
    conn.execute(statement, list(row.values()))


def test_a_sql_ascii_database_with_bytes_that_are_not_utf8_imports_with_replacement_characters(
    sql_ascii_url: str, fresh_store: Callable[[], str], tmp_path: Path
) -> None:
    """Latin-1 bytes in text and JSON columns become U+FFFD, counted; valid UTF-8 is kept; verification is clean."""
    chat_id, message_id, document_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = "2024-03-01 09:00:00"
    with psycopg.connect(sql_ascii_url, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        _bytes_row(conn, "User", {"id": USER, "email": "u@example.com"})
        title = "Café crème ✓ ".encode() + b"caf\xe9"
        chat = {"id": chat_id, "createdAt": at, "title": title, "userId": USER, "visibility": b"private"}
        _bytes_row(conn, "Chat", chat)
        parts = b'[{"type":"text","text":"na\xefve"}]'
        attachments = b'[{"name":"r\xe9sum\xe9.pdf","url":"https://b.example/r.pdf","contentType":"application/pdf"}]'
        message = {"id": message_id, "chatId": chat_id, "role": b"user", "createdAt": at}
        _bytes_row(conn, "Message_v2", {**message, "parts": parts, "attachments": attachments})
        document = {"id": document_id, "createdAt": at, "text": b"text", "userId": USER}
        _bytes_row(conn, "Document", {**document, "title": b"Men\xfa", "content": b"Se\xf1or"})
        suggestion = {"id": uuid.uuid4(), "documentId": document_id, "documentCreatedAt": at, "userId": USER}
        texts = {"originalText": b"Se\xf1or", "suggestedText": b"Sir", "description": None, "createdAt": at}
        _bytes_row(conn, "Suggestion", {**suggestion, **texts})
    target = fresh_store()
    status, report = run_import(sql_ascii_url, target, tmp_path)
    assert status == 0
    assert report["verification"]["differences"] == 0
    got = tables(report)
    assert got["Chat"]["normalised"] == {f"title: {SURROGATES}": 1}
    assert got["Message_v2"]["normalised"] == {f"parts: {SURROGATES}": 1, f"attachments: {SURROGATES}": 1}
    assert got["Document"]["normalised"] == {f"title: {SURROGATES}": 1, f"content: {SURROGATES}": 1}
    assert got["Suggestion"]["normalised"] == {f"originalText: {SURROGATES}": 1}
    (sent,) = _messages(target, chat_id)
    assert sent.message.parts[0].text.text == "na\ufffdve"
    assert sent.message.attachments[0].name == "r\ufffdsum\ufffd.pdf"
    created = next(
        events.decode(event_type, bytes(payload))
        for stream_id, _, _, _, event_type, payload, _, _ in stored(target)
        if stream_id == chat_id and event_type.endswith("ChatCreatedEvent")
    )
    assert created.title == "Café crème ✓ caf\ufffd"  # type: ignore[union-attr]


def test_rows_with_timestamps_no_event_can_carry_fail_alone_and_the_exit_status_says_so(
    postgres_server_url: str, fresh_store: Callable[[], str], tmp_path: Path
) -> None:
    """'infinity', BC and year-10000 rows fail with their reason, their messages and suggestions with them.

    The rest imports and verifies clean; a re-run appends nothing and reports the same failures.
    """
    fine, broken = uuid.uuid4(), uuid.uuid4()
    complete, lost = uuid.uuid4(), uuid.uuid4()
    at = "2024-03-01 09:00:00"
    with servers.fresh_database(postgres_server_url, f"legacy_times_{uuid.uuid4().hex[:10]}") as url:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute(SCHEMA.read_text())
            conn.execute('INSERT INTO "User" (id, email) VALUES (%s, %s)', [USER, "u@example.com"])
            conn.execute("SET session_replication_role = replica")  # the legacy app's keys were not always enforced
            chat = 'INSERT INTO "Chat" (id, "createdAt", title, "userId") VALUES (%s, %s, %s, %s)'
            conn.execute(chat, [fine, at, "fine", USER])
            conn.execute(chat, [broken, "infinity", "broken", USER])
            message = 'INSERT INTO "Message_v2" VALUES (%s, %s, %s, %s, %s, %s)'
            for chat_id, created in ((fine, at), (fine, "0044-03-15 BC"), (broken, at), (broken, at)):
                conn.execute(message, [uuid.uuid4(), chat_id, "user", '[{"type":"text","text":"hi"}]', "[]", created])
            document = 'INSERT INTO "Document" (id, "createdAt", title, content, "userId") VALUES (%s, %s, %s, %s, %s)'
            conn.execute(document, [complete, at, "v1", "one", USER])
            conn.execute(document, [complete, "-infinity", "v0", "zero", USER])
            conn.execute(document, [lost, "10000-01-01", "only", "gone", USER])
            conn.execute(
                'INSERT INTO "Suggestion" (id, "documentId", "documentCreatedAt", "originalText", "suggestedText",'
                ' "userId", "createdAt") VALUES (%s, %s, %s, %s, %s, %s, %s)',
                [uuid.uuid4(), lost, at, "a", "b", USER, at],
            )
        target = fresh_store()
        status, report = run_import(libpq(url), target, tmp_path)
        again_status, again = run_import(libpq(url), target, tmp_path)
    assert status == 1
    failed = {name: stats["failed"] for name, stats in tables(report).items() if stats["failed"]}
    assert failed == {
        "Chat": {OUT_OF_RANGE: 1},
        "Message_v2": {OUT_OF_RANGE: 1, PARENT_FAILED["Chat"]: 2},
        "Document": {OUT_OF_RANGE: 2},
        "Suggestion": {PARENT_FAILED["Document"]: 1},
    }
    assert str(broken) in tables(report)["Chat"]["listed"][f"failed: {OUT_OF_RANGE}"][0]
    assert (tables(report)["Chat"]["imported"], tables(report)["Message_v2"]["imported"]) == (1, 1)
    assert tables(report)["Document"]["imported"] == 1
    assert report["verification"]["differences"] == 0
    for stats in tables(report).values():
        assert stats["read"] == stats["imported"] + sum(stats["skipped"].values()) + sum(stats["failed"].values())
    assert again_status == 1
    assert all(stats["appended"] == 0 for stats in tables(again).values())
    assert {name: stats["failed"] for name, stats in tables(again).items() if stats["failed"]} == failed


@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_the_console_shows_legacy_text_on_any_terminal(
    legacy: tuple[str, Expected], fresh_store: Callable[[], str], encoding: str
) -> None:
    """The real command, progress bars and all, prints reasons quoting odd legacy roles to an ASCII terminal too."""
    command = [
        sys.executable, "-m", "ameide_cli", "import-legacy", "--source", legacy[0], "--tenant", TENANT,
        "--database-url", fresh_store(), "--dry-run",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "400"}
    done = subprocess.run(command, env=env, capture_output=True, check=False, timeout=600)  # noqa: S603 - our own command
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    shown = done.stdout.decode(encoding)
    assert ("\\xdcser [/x]" if encoding == "ascii" else "Üser [/x]") in shown
    assert "checked (dry run)" in shown
