"""``ameide projector rebuild``: the rebuilt model equals the incrementally built one, row by row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_eventstore import ExpectedVersion, NewEvent, StreamAppend
from ameide_migrations import upgrade
from ameide_projector.feed.writer import append_feed_entries
from ameide_projector.rebuild import Rebuild
from ameide_projector.runner import ReadModelProjector
from ameide_readmodel.feed.names import chat_feed
from ameide_readmodel.schema import REBUILT_TABLES
from tests.integration.projector.seeding import Seeder
from tests.support import servers

pytestmark = pytest.mark.integration

TENANTS = ("tenant-r1", "tenant-r2")


@pytest.fixture(name="own_engine")
async def fixture_own_engine(postgres_server_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of this test's own: a rebuild replays (and swaps) everything in it."""
    with servers.fresh_database(postgres_server_url, f"ameide_rebuild_{uuid.uuid4().hex[:10]}") as url:
        upgrade(url)
        engine = create_async_engine(url)
        yield engine
        await engine.dispose()


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every read-model table, in primary-key order."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    async with engine.connect() as conn:
        for table in REBUILT_TABLES:
            keys = ", ".join(c.name for c in table.primary_key.columns)
            rows = await conn.execute(text(f"SELECT * FROM public.{table.name} ORDER BY {keys}"))  # noqa: S608
            tables[table.name] = [tuple(r) for r in rows]
    return tables


async def seed_history(seeder: Seeder) -> tuple[uuid.UUID, uuid.UUID]:
    """A varied history over two tenants: every event type, links from both sides, a poison and an unknown event."""
    chats: list[uuid.UUID] = []
    for tenant in TENANTS:
        for n, visibility in enumerate((types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM)):
            chat = await seeder.chat(
                user="alice",
                tenant=tenant,
                title=f"Chat {n}",
                visibility=visibility,
                tags=("x", f"t{n}"),
                description="about things",
            )
            chats.append(chat)
            for m in range(5):
                await seeder.message(chat, f"message {m} of {n}", user="bob", tenant=tenant)
    tenant = TENANTS[0]
    first, second = chats[0], chats[1]
    await seeder.rename(first, "Renamed", user="alice", tenant=tenant)
    await seeder.visibility(first, types.CHAT_VISIBILITY_PUBLIC, user="alice", tenant=tenant)
    artifact = await seeder.artifact(user="alice", tenant=tenant, primary_chat=first)
    await seeder.link(first, artifact, user="alice", tenant=tenant, relation=types.RELATION_TYPE_CREATED)
    await seeder.link(second, artifact, user="bob", tenant=tenant)
    await seeder.content(artifact, b"second body", user="bob", tenant=tenant)
    await seeder.artifact_event(
        artifact,
        art_ev.ArtifactMetadataUpdatedEvent(
            artifact_id=str(artifact), title="Renamed artifact", labels={"k": "v"}, old_title="Order process"
        ),
        user="bob",
        tenant=tenant,
    )
    await seeder.unlink(second, artifact, user="bob", tenant=tenant)
    await seeder.link(second, artifact, user="carol", tenant=tenant, relation=types.RELATION_TYPE_MODIFIED)
    await seeder.artifact_event(
        artifact,
        art_ev.ArtifactAnnotatedEvent(artifact_id=str(artifact), annotation_type="note", data={"text": "hi"}),
        user="bob",
        tenant=tenant,
    )
    doomed = await seeder.artifact(user="alice", tenant=tenant)
    await seeder.artifact_event(
        doomed, art_ev.ArtifactDeletedEvent(artifact_id=str(doomed)), user="alice", tenant=tenant
    )
    await seeder.delete_chat(chats[2], user="alice", tenant=TENANTS[1])
    future = NewEvent(event_id=uuid.uuid4(), event_type="ameide.future.v9.Thing", payload=b"\x01")
    await seeder.store.append([StreamAppend(first, "chat", tenant, ExpectedVersion.ANY, [future])])
    orphan = uuid.uuid4()
    poison = NewEvent(event_id=uuid.uuid4(), event_type="ameide_core_proto.threads.v1.ChatDeletedEvent", payload=b"")
    await seeder.store.append([StreamAppend(orphan, "chat", tenant, ExpectedVersion.ANY, [poison])])
    return first, artifact


class TestRebuild:
    async def test_rebuilt_model_equals_the_incremental_one(self, own_engine: AsyncEngine) -> None:
        """Replaying the whole log into fresh tables and swapping them in changes no row."""
        seeder = Seeder(own_engine)
        await seed_history(seeder)
        await seeder.project()
        before = await snapshot(own_engine)
        assert len(before["rm_messages"]) == 20
        report = await Rebuild(own_engine, seeder.store, batch_size=7).run()
        assert report.skipped == 1  # the poison event, parked by the live projector too
        assert await snapshot(own_engine) == before
        async with own_engine.connect() as conn:
            schemas = (await conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rm_%'"))).all()
        assert schemas == []

    async def test_writes_during_the_rebuild_are_reconciled_at_the_swap(self, own_engine: AsyncEngine) -> None:
        """Events the live model applied after the replay, and events only the replay saw, both end up right."""
        seeder = Seeder(own_engine)
        first, _ = await seed_history(seeder)
        await seeder.project()
        rebuild = Rebuild(own_engine, seeder.store, batch_size=50)
        await rebuild.create()
        await rebuild.replay()
        # Build ahead: replayed, not yet projected live (still in the outbox at the swap).
        late = await seeder.chat(user="alice", tenant=TENANTS[0], title="Late")
        await seeder.message(late, "late message", user="alice", tenant=TENANTS[0])
        await rebuild.replay()
        # Live ahead: applied to the live tables after the last replay (as a live batch would be).
        await seeder.message(first, "live only", user="alice", tenant=TENANTS[0])
        events = await seeder.store.read_stream(first)
        async with own_engine.begin() as conn:
            await ReadModelProjector(append_feed=append_feed_entries)(conn, events[-1:])
        await rebuild.swap()
        assert rebuild.report.reconciled_streams == 2
        await seeder.project()  # the outbox still holds the late events: the version guard skips them
        after_swap = await snapshot(own_engine)
        again = Rebuild(own_engine, seeder.store)
        await again.run()
        assert await snapshot(own_engine) == after_swap
        async with own_engine.connect() as conn:
            count = await conn.execute(text("SELECT message_count FROM rm_chats WHERE id = :id"), {"id": late})
            head = await conn.execute(
                text("SELECT seq FROM rm_feed_heads WHERE feed_key = :f"), {"f": chat_feed(str(late))}
            )
            assert count.scalar_one() == 1
            assert head.scalar_one() == 1  # the late message still reached the live-update feed
