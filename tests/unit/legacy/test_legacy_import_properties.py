"""Generated legacy rows (any text, any JSON, odd roles and part types) through the whole import, in memory.

The importer never raises; every row ends imported, skipped or failed with a reason (normalised rows are imported
and say why); every string of every stored event is valid UTF-8 without NUL; the verification finds nothing
different; and a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ameide_cli.legacy import canonical, importer
from ameide_cli.legacy.jsontext import canonical as canonical_json
from ameide_cli.legacy.parts import map_message
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import ChatRow, DocumentRow, MessageRow, SuggestionRow
from ameide_cli.legacy.store_view import StoreView
from ameide_cli.legacy.verify import Verifier
from ameide_cli.legacy.writer import StreamWriter
from ameide_command.domain import events
from ameide_eventstore.memory import InMemoryEventStore
from tests.support import legacy_strategies as legacy
from tests.unit.legacy.legacy_rows import AT, imported, strings
from tests.unit.legacy.memory_source import MemorySource

pytestmark = pytest.mark.unit
TENANT = "tenant-legacy"
TIMES = st.integers(0, 10**9).map(lambda micros: AT + dt.timedelta(microseconds=micros))


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(
    st.sampled_from(["Message_v2", "Message"]),
    legacy.ROLES,
    st.one_of(legacy.bodies(), legacy.TEXT),  # a SQL_ASCII database may hand back text that is not JSON at all
    legacy.attachments(),
)
def test_any_message_maps_to_valid_parts_and_verifies_against_its_normalised_form(
    table: Any, role: str, body: str, attachments: str
) -> None:
    """Mapping never raises, every string fits the contract, and the verification's two forms are equal."""
    row = MessageRow(table, uuid.uuid4(), uuid.uuid4(), role, body, attachments if table == "Message_v2" else None, AT)
    message = imported(row)
    for text in strings(message):
        text.encode()
        assert "\x00" not in text
    assert all(reason for reason in map_message(row).normalised)
    assert canonical_json(canonical.legacy_message(row)) == canonical_json(canonical.imported_message(message, table))
    assert map_message(row).parts == map_message(row).parts  # deterministic: a re-run plans the same events


@dataclass
class Dataset:
    """Generated legacy rows."""

    source: MemorySource
    rows: int


def _one_in(draw: st.DrawFn, times: int) -> bool:
    return draw(st.integers(1, times)) == 1


def _mostly(draw: st.DrawFn, known: list[uuid.UUID]) -> uuid.UUID:
    """One of ``known`` nine times in ten (when there are any), else an id nothing has."""
    if known and not _one_in(draw, 10):
        return draw(st.sampled_from(known))
    return draw(st.uuids(version=4))


def _messages(draw: st.DrawFn, chat_ids: list[uuid.UUID], document_ids: list[uuid.UUID]) -> list[MessageRow]:
    messages = []
    for table in ("Message_v2", "Message"):
        for message_id in draw(st.lists(st.uuids(version=4), max_size=4, unique=True)):
            body = draw(legacy.bodies(document_ids))
            attachments = draw(legacy.attachments()) if table == "Message_v2" else None
            chat_id = _mostly(draw, chat_ids)
            messages.append(MessageRow(table, message_id, chat_id, draw(legacy.ROLES), body, attachments, draw(TIMES)))
    return messages


def _documents(draw: st.DrawFn, document_ids: list[uuid.UUID], users: list[uuid.UUID]) -> list[DocumentRow]:
    documents = []
    for document_id in document_ids:
        kind = draw(st.one_of(st.sampled_from(["text", "code", "sheet", "image"]), legacy.TEXT))
        for at in draw(st.lists(TIMES, min_size=1, max_size=3, unique=True)):
            content = draw(st.one_of(st.none(), legacy.TEXT, st.just("aGVsbG8=")))
            title = draw(legacy.TEXT)
            # A later version is now and then of another kind (the first one's is kept).
            version_kind = draw(legacy.TEXT) if _one_in(draw, 5) else kind
            documents.append(DocumentRow(document_id, at, title, content, version_kind, draw(st.sampled_from(users))))
    return documents


def _suggestions(draw: st.DrawFn, documents: list[DocumentRow], users: list[uuid.UUID]) -> list[SuggestionRow]:
    suggestions = []
    for _ in range(draw(st.integers(0, 3))):
        document_id = _mostly(draw, sorted({row.id for row in documents}))
        versions = [row.created_at for row in documents if row.id == document_id]
        names = draw(st.sampled_from(versions)) if versions and not _one_in(draw, 4) else draw(TIMES)
        texts = draw(st.tuples(legacy.TEXT, legacy.TEXT, st.one_of(st.none(), legacy.TEXT)))
        author = draw(st.sampled_from(users))
        suggestion_id = draw(st.uuids(version=4))
        suggestions.append(
            SuggestionRow(suggestion_id, document_id, names, *texts, draw(st.booleans()), author, draw(TIMES))
        )
    return suggestions


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A few users' chats, messages (both tables, some orphaned), documents with versions, and suggestions."""
    users = draw(st.lists(st.uuids(version=4), min_size=1, max_size=2, unique=True))
    chat_ids = draw(st.lists(st.uuids(version=4), min_size=1, max_size=3, unique=True))
    # A document id is now and then also a chat's id (one stream per id: skipped).
    document_ids: list[uuid.UUID] = []
    for _ in range(draw(st.integers(0, 2))):
        document_id = _mostly(draw, chat_ids if _one_in(draw, 10) else [])
        if document_id not in document_ids:
            document_ids.append(document_id)
    visibility = st.one_of(st.sampled_from(["private", "public", "shared"]), legacy.TEXT)
    chats = [
        ChatRow(chat_id, draw(TIMES), draw(legacy.TEXT), draw(st.sampled_from(users)), draw(visibility))
        for chat_id in chat_ids
    ]
    messages = _messages(draw, chat_ids, document_ids)
    documents = _documents(draw, document_ids, users)
    suggestions = _suggestions(draw, documents, users)
    source = MemorySource(chats, messages, documents, suggestions)
    return Dataset(source, len(chats) + len(messages) + len(documents) + len(suggestions))


async def _import(store: InMemoryEventStore, dataset: Dataset) -> Report:
    """One run: import, then verify against the store (the same steps as the command)."""
    report = Report()
    writer = StreamWriter(store, tenant_id=TENANT, report=report)
    await importer.run(importer.Context(dataset.source.source(), writer, TENANT, report, lambda _task, _count: None))
    verifier = Verifier(StoreView(store), store, wait_seconds=0)
    refs = await verifier.chats(dataset.source.source())
    await verifier.documents(dataset.source.source(), refs)
    report.verification = verifier.checks.summary("the in-memory store")
    return report


async def _stored(store: InMemoryEventStore) -> list[tuple[Any, ...]]:
    return [
        (event.stream_id, event.version, event.event_id, event.event_type, event.payload)
        for event in await store.read_all(limit=100_000)
    ]


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_generated_legacy_rows_import_account_for_every_row_verify_clean_and_rerun_to_nothing(dataset: Dataset) -> None:
    """The properties of the module docstring, over whole generated databases."""

    async def scenario() -> None:
        store = InMemoryEventStore()
        first = await _import(store, dataset)
        legacy_tables = {
            name: stats
            for name, stats in first.tables.items()
            if name in {"Chat", "Message_v2", "Message", "Document", "Suggestion"}
        }
        assert sum(stats.read for stats in legacy_tables.values()) == dataset.rows
        for name, stats in first.tables.items():
            assert stats.unaccounted == 0, name
            assert all(reason for reason in [*stats.skipped, *stats.failed, *stats.normalised]), name
            assert not stats.failed, name
        assert first.verification["differences"] == 0, first.verification
        stored = await _stored(store)
        for _, _, _, event_type, payload in stored:
            decoded = events.decode(event_type, payload)
            assert decoded is not None
            for text in strings(decoded):
                assert "\x00" not in text
        second = await _import(store, dataset)
        assert all(stats.appended == 0 for stats in second.tables.values())
        assert await _stored(store) == stored
        assert second.verification["differences"] == 0

    asyncio.run(scenario())
