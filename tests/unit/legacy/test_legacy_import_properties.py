"""Generated legacy rows (any text, any JSON, odd roles and part types) through the whole import, in memory.

The importer never raises; every row ends imported, skipped or failed with a reason (normalised rows are imported
and say why); every string of every stored event is valid UTF-8 without NUL; the verification finds nothing
different; and a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ameide_cli.legacy import canonical, importer
from ameide_cli.legacy.jsontext import canonical as canonical_json
from ameide_cli.legacy.parts import map_message
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import MessageRow
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


@settings(max_examples=1000, derandomize=True, deadline=None)
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


async def _import(store: InMemoryEventStore, dataset: legacy.Dataset) -> Report:
    """One run: import, then verify against the store (the same steps as the command)."""
    source = MemorySource(dataset.chats, dataset.messages, dataset.documents, dataset.suggestions).source()
    report = Report()
    writer = StreamWriter(store, tenant_id=TENANT, report=report)
    await importer.run(importer.Context(source, writer, TENANT, report, lambda _task, _count: None))
    verifier = Verifier(StoreView(store), store, wait_seconds=0)
    refs = await verifier.chats(source)
    await verifier.documents(source, refs)
    report.verification = verifier.checks.summary("the in-memory store")
    return report


async def _stored(store: InMemoryEventStore) -> list[tuple[Any, ...]]:
    return [
        (event.stream_id, event.version, event.event_id, event.event_type, event.payload)
        for event in await store.read_all(limit=100_000)
    ]


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legacy.datasets())
def test_generated_legacy_rows_import_account_for_every_row_verify_clean_and_rerun_to_nothing(
    dataset: legacy.Dataset,
) -> None:
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
