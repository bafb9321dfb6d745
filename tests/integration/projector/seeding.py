"""Write real events through PostgresEventStore and project them through the outbox consumer (for tests)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_eventstore import DEFAULT_SHARD_COUNT, ExpectedVersion, StreamAppend
from ameide_eventstore.postgres import PostgresEventStore
from ameide_eventstore.postgres.outbox import PostgresOutboxConsumer
from ameide_projector.feed.writer import append_feed_entries
from ameide_projector.runner import ReadModelProjector
from tests.unit.projector.event_factory import (
    artifact_created,
    chat_created,
    link_events,
    message_sent,
    new_event,
    unlink_events,
)

BASE_TIME = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
PROJECT_TIMEOUT_SECONDS = 30.0
ALL_SHARDS = frozenset(range(DEFAULT_SHARD_COUNT))
_APPLIED = text("SELECT stream_id, version FROM rm_stream_versions WHERE stream_id = ANY(CAST(:ids AS uuid[]))")


@dataclass
class Seeder:
    """Appends events like the command side does, then projects them; every event is one second after the last."""

    engine: AsyncEngine
    now: dt.datetime = BASE_TIME
    written: dict[uuid.UUID, int] = field(default_factory=dict)
    message_counts: dict[uuid.UUID, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = PostgresEventStore(self.engine)
        self.consumer = PostgresOutboxConsumer(self.engine, batch_size=500)
        self.handler = ReadModelProjector(append_feed=append_feed_entries)

    def tick(self) -> dt.datetime:
        """The next event time."""
        self.now += dt.timedelta(seconds=1)
        return self.now

    async def append(self, items: Sequence[tuple[uuid.UUID, str, Message]], *, user: str, tenant: str) -> None:
        """One atomic append of one event per (stream, type, payload)."""
        at = self.tick()
        appends = [
            StreamAppend(
                stream, kind, tenant, ExpectedVersion.ANY, [new_event(payload, user=user, tenant=tenant, at=at)]
            )
            for stream, kind, payload in items
        ]
        result = await self.store.append(appends)
        self.written.update(result.versions)

    async def chat(self, *, user: str, tenant: str, **kwargs: Any) -> uuid.UUID:
        """A new chat."""
        chat_id = uuid.uuid4()
        payload = chat_created(chat_id, user=user, tenant=tenant, **kwargs)
        await self.append([(chat_id, "chat", payload)], user=user, tenant=tenant)
        return chat_id

    async def message(self, chat_id: uuid.UUID, body: str, *, user: str, tenant: str) -> int:
        """A message; returns its sequence."""
        seq = self.message_counts.get(chat_id, 0) + 1
        self.message_counts[chat_id] = seq
        payload = message_sent(chat_id, seq, body, user=user, tenant=tenant, at=self.now + dt.timedelta(seconds=1))
        await self.append([(chat_id, "chat", payload)], user=user, tenant=tenant)
        return seq

    async def chat_event(self, chat_id: uuid.UUID, payload: Message, *, user: str, tenant: str) -> None:
        """Any chat-stream event."""
        await self.append([(chat_id, "chat", payload)], user=user, tenant=tenant)

    async def artifact(self, *, user: str, tenant: str, **kwargs: Any) -> uuid.UUID:
        """A new artifact."""
        artifact_id = uuid.uuid4()
        payload = artifact_created(artifact_id, user=user, tenant=tenant, **kwargs)
        await self.append([(artifact_id, "artifact", payload)], user=user, tenant=tenant)
        return artifact_id

    async def artifact_event(self, artifact_id: uuid.UUID, payload: Message, *, user: str, tenant: str) -> None:
        """Any artifact-stream event."""
        await self.append([(artifact_id, "artifact", payload)], user=user, tenant=tenant)

    async def content(self, artifact_id: uuid.UUID, body: bytes, *, user: str, tenant: str) -> None:
        """A new content version."""
        content = art_types.ArtifactContent(mime_type="text/plain", body=body)
        payload = art_ev.ArtifactContentUpdatedEvent(artifact_id=str(artifact_id), content=content)
        await self.artifact_event(artifact_id, payload, user=user, tenant=tenant)

    async def link(
        self,
        chat_id: uuid.UUID,
        artifact_id: uuid.UUID,
        *,
        user: str,
        tenant: str,
        relation: int = types.RELATION_TYPE_REFERENCED,
    ) -> None:
        """Link both sides in one append, as the command side does."""
        associated, linked = link_events(chat_id, artifact_id, relation)
        await self.append([(chat_id, "chat", associated), (artifact_id, "artifact", linked)], user=user, tenant=tenant)

    async def unlink(self, chat_id: uuid.UUID, artifact_id: uuid.UUID, *, user: str, tenant: str) -> None:
        """Unlink both sides in one append."""
        dissociated, unlinked = unlink_events(chat_id, artifact_id)
        items = [(chat_id, "chat", dissociated), (artifact_id, "artifact", unlinked)]
        await self.append(items, user=user, tenant=tenant)

    async def rename(self, chat_id: uuid.UUID, title: str, *, user: str, tenant: str) -> None:
        """Rename a chat."""
        payload = chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="title", new_value=title)
        await self.chat_event(chat_id, payload, user=user, tenant=tenant)

    async def visibility(self, chat_id: uuid.UUID, visibility: int, *, user: str, tenant: str) -> None:
        """Change a chat's visibility."""
        payload = chat_ev.ChatVisibilityChangedEvent(threads_id=str(chat_id), new_visibility=visibility)  # type: ignore[arg-type]
        await self.chat_event(chat_id, payload, user=user, tenant=tenant)

    async def delete_chat(self, chat_id: uuid.UUID, *, user: str, tenant: str) -> None:
        """Soft-delete a chat."""
        await self.chat_event(chat_id, chat_ev.ChatDeletedEvent(threads_id=str(chat_id)), user=user, tenant=tenant)

    async def project(self) -> None:
        """Apply every outbox row, then wait (bounded) until every stream written here is projected."""
        async with asyncio.timeout(PROJECT_TIMEOUT_SECONDS):
            while await self.consumer.run_once(self.handler, ALL_SHARDS):
                pass
            while True:
                async with self.engine.connect() as conn:
                    rows = (await conn.execute(_APPLIED, {"ids": list(self.written)})).all()
                applied = {r.stream_id: r.version for r in rows}
                if all(applied.get(s, 0) >= v for s, v in self.written.items()):
                    return
                await asyncio.sleep(0.02)
                while await self.consumer.run_once(self.handler, ALL_SHARDS):
                    pass
