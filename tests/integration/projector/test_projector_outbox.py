"""The projector applied through the real event store and outbox consumer on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_eventstore import ExpectedVersion, NewEvent, StreamAppend
from ameide_projector.runner import ReadModelProjector
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from tests.integration.projector.seeding import ALL_SHARDS, Seeder

pytestmark = pytest.mark.integration


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def _one(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


class TestProjection:
    async def test_chat_messages_links_and_feeds_are_projected(self, engine: AsyncEngine) -> None:
        """Events written by the store reach the read model and the feeds through the outbox."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="alice", tenant=tenant, title="Roadmap", tags=("plan",))
        artifact = await seeder.artifact(user="alice", tenant=tenant)
        await seeder.link(chat, artifact, user="alice", tenant=tenant)
        for n in range(3):
            await seeder.message(chat, f"message {n}", user="bob", tenant=tenant)
        await seeder.project()
        row = await _one(engine, "SELECT message_count, version, title FROM rm_chats WHERE id = :id", id=chat)
        assert tuple(row) == (3, 5, "Roadmap")  # type: ignore[arg-type]
        seqs = await _one(engine, "SELECT array_agg(seq ORDER BY seq) FROM rm_messages WHERE chat_id = :id", id=chat)
        assert seqs[0] == [1, 2, 3]  # type: ignore[index]
        link = await _one(engine, "SELECT count(*) FROM rm_chat_artifacts WHERE chat_id = :c", c=chat)
        assert link[0] == 1  # type: ignore[index]
        head = await _one(engine, "SELECT seq FROM rm_feed_heads WHERE feed_key = :f", f=chat_feed(str(chat)))
        assert head[0] == 4  # type: ignore[index]  # one relation + three messages
        async with engine.connect() as conn:
            payloads = (
                await conn.execute(
                    text("SELECT payload FROM rm_feed WHERE feed_key = :f ORDER BY seq"), {"f": chat_feed(str(chat))}
                )
            ).scalars()
            kinds = [svc.ChatUpdate.FromString(p).WhichOneof("update") for p in payloads]
        assert kinds == ["relation", "message", "message", "message"]
        art_head = await _one(
            engine, "SELECT seq FROM rm_feed_heads WHERE feed_key = :f", f=artifact_feed(str(artifact))
        )
        assert art_head[0] == 1  # type: ignore[index]

    async def test_replaying_a_batch_changes_nothing(self, engine: AsyncEngine) -> None:
        """Applying already applied events again is a no-op (stream-version guard)."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="alice", tenant=tenant)
        await seeder.message(chat, "once", user="alice", tenant=tenant)
        await seeder.project()
        events = await seeder.store.read_stream(chat)
        async with engine.begin() as conn:
            await ReadModelProjector()(conn, events)
        row = await _one(engine, "SELECT message_count, version FROM rm_chats WHERE id = :id", id=chat)
        assert tuple(row) == (1, 2)  # type: ignore[arg-type]

    async def test_unknown_events_are_skipped_and_poison_events_parked(self, engine: AsyncEngine) -> None:
        """An unknown type only advances the version; an unprojectable event is parked, others go on."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="alice", tenant=tenant)
        future = NewEvent(event_id=uuid.uuid4(), event_type="ameide.future.v9.Thing", payload=b"\x01")
        await seeder.store.append([StreamAppend(chat, "chat", tenant, ExpectedVersion.ANY, [future])])
        orphan = uuid.uuid4()  # a message for a chat that was never created: cannot be projected
        await seeder.store.append(
            [
                StreamAppend(
                    orphan,
                    "chat",
                    tenant,
                    ExpectedVersion.ANY,
                    [
                        NewEvent(
                            uuid.uuid4(),
                            "ameide_core_proto.threads.v1.MessageSentEvent",
                            svc.ChatUpdate().SerializeToString(),
                        )
                    ],
                )
            ]
        )
        await seeder.message(chat, "after", user="alice", tenant=tenant)
        while await seeder.consumer.run_once(seeder.handler, ALL_SHARDS):
            pass
        row = await _one(engine, "SELECT message_count, version FROM rm_chats WHERE id = :id", id=chat)
        assert tuple(row) == (1, 3)  # type: ignore[arg-type]
        parked = await _one(engine, "SELECT count(*) FROM es_dead_letters WHERE stream_id = :s", s=orphan)
        assert parked[0] == 1  # type: ignore[index]

    async def test_links_from_either_side_in_any_order_agree(self, engine: AsyncEngine) -> None:
        """Whichever stream's link event is applied first, one relation row results; unlinking removes it."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="alice", tenant=tenant)
        artifact = await seeder.artifact(user="alice", tenant=tenant)
        await seeder.link(chat, artifact, user="bob", tenant=tenant, relation=types.RELATION_TYPE_CREATED)
        await seeder.project()
        # Apply the artifact side again out of band (as if the chat side had come first): still one row.
        events = await seeder.store.read_stream(artifact)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM rm_stream_versions WHERE stream_id = :s"), {"s": artifact})
            await conn.execute(text("DELETE FROM rm_artifacts WHERE id = :s"), {"s": artifact})
            await conn.execute(text("DELETE FROM rm_artifact_versions WHERE artifact_id = :s"), {"s": artifact})
            await conn.execute(text("DELETE FROM rm_artifact_history WHERE artifact_id = :s"), {"s": artifact})
            await ReadModelProjector()(conn, events)
        row = await _one(
            engine,
            "SELECT count(*), min(relation_type), min(linked_by) FROM rm_chat_artifacts WHERE chat_id = :c",
            c=chat,
        )
        assert tuple(row) == (1, types.RELATION_TYPE_CREATED, "bob")  # type: ignore[arg-type]
        await seeder.unlink(chat, artifact, user="bob", tenant=tenant)
        await seeder.project()
        gone = await _one(engine, "SELECT count(*) FROM rm_chat_artifacts WHERE chat_id = :c", c=chat)
        assert gone[0] == 0  # type: ignore[index]


class TestChatsAnnouncedToArtifacts:
    async def test_a_chats_changes_reach_the_feeds_of_its_artifacts(self, engine: AsyncEngine) -> None:
        """Rename, visibility and deletion of a linked chat: one entry per change on each linked artifact's feed.

        Projected in separate batches, so the links come from the read model; an unlinked artifact hears nothing.
        """
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="alice", tenant=tenant, title="Roadmap", visibility=types.CHAT_VISIBILITY_TEAM)
        linked, unlinked = (
            await seeder.artifact(user="alice", tenant=tenant),
            await seeder.artifact(user="alice", tenant=tenant),
        )
        await seeder.link(chat, linked, user="alice", tenant=tenant)
        await seeder.link(chat, unlinked, user="alice", tenant=tenant)
        await seeder.unlink(chat, unlinked, user="alice", tenant=tenant)
        await seeder.project()
        for change in (
            seeder.rename(chat, "Roadmap 2", user="alice", tenant=tenant),
            seeder.visibility(chat, types.CHAT_VISIBILITY_PRIVATE, user="alice", tenant=tenant),
            seeder.delete_chat(chat, user="alice", tenant=tenant),
        ):
            await change
            await seeder.project()
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT payload, chat_visibility_before FROM rm_feed WHERE feed_key = :f ORDER BY seq"),
                    {"f": artifact_feed(str(linked))},
                )
            ).all()
            others = (
                await conn.execute(
                    text("SELECT count(*) FROM rm_feed WHERE feed_key = :f"), {"f": artifact_feed(str(unlinked))}
                )
            ).scalar()
        updates = [(art_svc.ArtifactUpdate.FromString(r.payload), r.chat_visibility_before) for r in rows]
        seen = [(u.WhichOneof("update"), u.threads_added.threads_title, before) for u, before in updates]
        assert seen == [
            ("threads_added", "Roadmap", 0),  # the link
            ("threads_added", "Roadmap 2", 0),  # renamed
            ("threads_added", "Roadmap 2", types.CHAT_VISIBILITY_TEAM),  # made private: who had it until now
            ("threads_removed", "", types.CHAT_VISIBILITY_PRIVATE),  # deleted
        ]
        assert {u.threads_added.threads_id or u.threads_removed.threads_id for u, _ in updates} == {str(chat)}
        assert others == 2  # its own link and unlink only
