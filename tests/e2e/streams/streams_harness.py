"""An in-process query server serving the live streams, plus a writer that projects like the projector does.

The writer changes read-model rows and appends feed entries in one transaction, then publishes after commit,
exactly the contract the projector's batch handler follows; the servers are the real LiveUpdates and
FeedPublisher over a real PostgreSQL and a redis-server process owned by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
import grpc.aio
from redis.asyncio import Redis
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries
from ameide_query.config import QuerySettings
from ameide_query.streams import LiveUpdates
from ameide_query.views import access
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_readmodel.artifacts import rm_artifacts
from ameide_readmodel.chats import rm_chats
from ameide_readmodel.feed.entries import FeedEntry, FeedUpdate
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_runtime import resume
from ameide_runtime.grpc_server import ServiceBinding
from ameide_runtime.settings import AuthSettings, ServerSettings
from ameide_runtime.tokens import TokenCodec
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.support.inprocess import Running, serving

ChatUpdate = threads_service_pb2.ChatUpdate
ArtifactUpdate = artifacts_service_pb2.ArtifactUpdate
Control = threads_types_pb2.StreamControl
TENANT = "tenant-streams"
OTHER_TENANT = "tenant-elsewhere"


class ChatStreams(threads_service_pb2_grpc.ChatQueryServiceServicer):
    """Only the streaming RPC, delegating as the query service's servicer does."""

    def __init__(self, live: LiveUpdates) -> None:
        self._live = live

    async def StreamChatUpdates(
        self, request: threads_service_pb2.StreamChatRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[ChatUpdate]:
        """Delegates to LiveUpdates."""
        async for item in self._live.chat_updates(request, context):
            yield item


class ArtifactStreams(artifacts_service_pb2_grpc.ArtifactQueryServiceServicer):
    """Only the streaming RPC."""

    def __init__(self, live: LiveUpdates) -> None:
        self._live = live

    async def StreamArtifactUpdates(
        self, request: artifacts_service_pb2.StreamArtifactRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[ArtifactUpdate]:
        """Delegates to LiveUpdates."""
        async for item in self._live.artifact_updates(request, context):
            yield item


@dataclasses.dataclass
class Harness:
    """Everything a live-stream test touches."""

    settings: QuerySettings
    engine: AsyncEngine
    redis_process: RedisProcess
    redis: Redis
    live: LiveUpdates
    publisher: FeedPublisher
    running: Running
    prefix: str
    codec: TokenCodec

    def channel(self, *, fixed_window: bool = False) -> grpc.aio.Channel:
        """A new client channel; ``fixed_window`` turns off BDP probing so the HTTP/2 window stays at 64 KiB."""
        options = [("grpc.http2.bdp_probe", 0)] if fixed_window else []
        return grpc.aio.insecure_channel(self.running.target, options=options)

    def subscribe_chat(
        self, channel: grpc.aio.Channel, chat_id: uuid.UUID, *, user: str, tenant: str = TENANT, token: str = ""
    ) -> grpc.aio.UnaryStreamCall[Any, ChatUpdate]:
        """Open StreamChatUpdates as ``user``."""
        stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
        request = threads_service_pb2.StreamChatRequest(threads_id=str(chat_id), resume_token=token)
        return stub.StreamChatUpdates(request, metadata=(("x-user-id", user), ("x-tenant-id", tenant)))

    def subscribe_artifact(
        self, channel: grpc.aio.Channel, artifact_id: uuid.UUID, *, user: str, tenant: str = TENANT, token: str = ""
    ) -> grpc.aio.UnaryStreamCall[Any, ArtifactUpdate]:
        """Open StreamArtifactUpdates as ``user``."""
        stub = artifacts_service_pb2_grpc.ArtifactQueryServiceStub(channel)
        request = artifacts_service_pb2.StreamArtifactRequest(artifact_id=str(artifact_id), resume_token=token)
        return stub.StreamArtifactUpdates(request, metadata=(("x-user-id", user), ("x-tenant-id", tenant)))

    def token(self, feed: str, seq: int, *, tenant: str = TENANT, now: float | None = None) -> str:
        """A resume token as the query service issues them."""
        return resume.issue(self.codec, tenant_id=tenant, feed=feed, seq=seq, now=now)

    # -- writes, projected the way the projector does -------------------------------------------------------

    async def project(
        self, updates: Sequence[FeedUpdate], *, conn_work: Any = None, publish: bool = True
    ) -> list[FeedEntry]:
        """One projector transaction: optional read-model change, feed append; publish after commit."""
        async with self.engine.begin() as conn:
            if conn_work is not None:
                await conn_work(conn)
            entries = await append_feed_entries(conn, updates)
        if publish:
            await self.publisher.publish(entries)
        return entries

    async def create_chat(self, *, owner: str, visibility: int, tenant: str = TENANT) -> uuid.UUID:
        """A chat row of the read model (its creation is not a stream update)."""
        chat_id = uuid.uuid4()
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(rm_chats).values(
                    id=chat_id,
                    tenant_id=tenant,
                    owner=owner,
                    title="Live",
                    visibility=visibility,
                    description="",
                    labels={},
                    tags=[],
                    agent_id="general-assistant",
                    message_count=0,
                    created_at=now,
                    updated_at=now,
                    last_activity_at=now,
                    deleted=False,
                    version=1,
                )
            )
        return chat_id

    async def send(self, chat_id: uuid.UUID, text: str, *, publish: bool = True, tenant: str = TENANT) -> FeedEntry:
        """A message added to the chat."""
        return (await self.send_many(chat_id, [text], publish=publish, tenant=tenant))[0]

    async def send_many(
        self, chat_id: uuid.UUID, texts: Sequence[str], *, publish: bool = True, tenant: str = TENANT
    ) -> list[FeedEntry]:
        """Several messages in one projector batch."""
        updates = []
        for text in texts:
            message = ChatUpdate()
            message.message.id = str(uuid.uuid4())
            message.message.threads_id = str(chat_id)
            message.message.role = "user"
            message.message.parts.add().text.text = text
            updates.append(_update(chat_feed(str(chat_id)), tenant, message))
        return await self.project(updates, publish=publish)

    async def set_visibility(self, chat_id: uuid.UUID, visibility: int) -> FeedEntry:
        """The owner changes the chat's visibility."""
        change = ChatUpdate()
        change.state_changed.field = "visibility"
        change.state_changed.threads.id = str(chat_id)
        change.state_changed.threads.visibility = visibility  # type: ignore[assignment]

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(update(rm_chats).where(rm_chats.c.id == chat_id).values(visibility=visibility))

        return (await self.project([_update(chat_feed(str(chat_id)), TENANT, change)], conn_work=work))[0]

    async def delete_chat(self, chat_id: uuid.UUID) -> FeedEntry:
        """The owner deletes the chat."""
        gone = ChatUpdate()
        gone.deleted.threads_id = str(chat_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(update(rm_chats).where(rm_chats.c.id == chat_id).values(deleted=True))

        return (await self.project([_update(chat_feed(str(chat_id)), TENANT, gone)], conn_work=work))[0]

    async def create_artifact(self, *, owner: str) -> uuid.UUID:
        """An artifact row of the read model."""
        artifact_id = uuid.uuid4()
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(rm_artifacts).values(
                    id=artifact_id,
                    tenant_id=TENANT,
                    owner=owner,
                    title="Diagram",
                    kind="bpmn",
                    labels={},
                    version=1,
                    mime="application/xml",
                    body=b"",
                    primary_chat_id=None,
                    created_at=now,
                    updated_at=now,
                    deleted=False,
                )
            )
        return artifact_id

    async def update_content(self, artifact_id: uuid.UUID, body: bytes, version: int) -> FeedEntry:
        """New content of an artifact."""
        change = ArtifactUpdate(version=version)
        change.content_updated.mime_type = "application/xml"
        change.content_updated.body = body
        return (await self.project([_update(artifact_feed(str(artifact_id)), TENANT, change)]))[0]

    async def delete_artifact(self, artifact_id: uuid.UUID) -> FeedEntry:
        """The owner deletes the artifact."""
        gone = ArtifactUpdate()
        gone.deleted.artifact_id = str(artifact_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(update(rm_artifacts).where(rm_artifacts.c.id == artifact_id).values(deleted=True))

        return (await self.project([_update(artifact_feed(str(artifact_id)), TENANT, gone)], conn_work=work))[0]


def _update(feed: str, tenant: str, message: ChatUpdate | ArtifactUpdate) -> FeedUpdate:
    return FeedUpdate(
        feed_key=feed, tenant_id=tenant, payload=message.SerializeToString(), occurred_at=datetime.now(UTC)
    )


@contextlib.asynccontextmanager
async def harness(engine: AsyncEngine, redis_process: RedisProcess, **overrides: Any) -> AsyncIterator[Harness]:
    """Start LiveUpdates, a FeedPublisher and a query gRPC server; stop them at the end."""
    settings = QuerySettings(
        server=ServerSettings(shutdown_grace_seconds=5.0),
        auth=AuthSettings(auth="insecure-headers", token_secret="streams-test-secret-0123456789"),
        **{"heartbeat_seconds": 30.0, **overrides},
    )
    prefix = f"e2e:{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(redis_process.url, socket_timeout=2, socket_connect_timeout=1)
    codec = TokenCodec(settings.auth.token_key())
    read_pool = ReadPool(engine.url.render_as_string(hide_password=False), size=2)
    pool = ReadPool(engine.url.render_as_string(hide_password=False), size=12, timeout=30)
    consistency = ConsistencyWaiter(read_pool, codec, wait_ms=settings.consistency_wait_ms)
    live = LiveUpdates(
        settings=settings,
        db=pool,
        redis=redis,
        codec=codec,
        access=access,
        consistency=consistency,
        key_prefix=prefix,
        poll_interval=0.1,
    )
    publisher = FeedPublisher(
        ProjectorSettings(), engine, redis, key_prefix=prefix, catchup_interval=0.1, publish_timeout=3.0
    )
    await live.start()
    await publisher.start()
    bindings = [
        ServiceBinding(
            threads_service_pb2.DESCRIPTOR.services_by_name["ChatQueryService"].full_name,
            threads_service_pb2_grpc.add_ChatQueryServiceServicer_to_server,
            ChatStreams(live),  # type: ignore[abstract]
        ),
        ServiceBinding(
            artifacts_service_pb2.DESCRIPTOR.services_by_name["ArtifactQueryService"].full_name,
            artifacts_service_pb2_grpc.add_ArtifactQueryServiceServicer_to_server,
            ArtifactStreams(live),  # type: ignore[abstract]
        ),
    ]
    try:
        async with serving(settings.auth, bindings, server=settings.server, on_shutdown=[live.stop]) as running:
            yield Harness(settings, engine, redis_process, redis, live, publisher, running, prefix, codec)
    finally:
        await publisher.stop()
        await live.stop()
        await read_pool.close()
        await pool.close()
        await redis.aclose()


# A guard against hangs only: every wait below ends as soon as its condition holds.
WAIT_SECONDS = 30.0


async def next_update(call: grpc.aio.UnaryStreamCall[Any, Any]) -> Any:
    """The next message of a stream (grpc.aio.EOF at its end)."""
    async with asyncio.timeout(WAIT_SECONDS):
        return await call.read()


async def until_control(call: grpc.aio.UnaryStreamCall[Any, Any], kind: int) -> Any:
    """Read until a control message of ``kind``; return it (data read on the way must not exist)."""
    while True:
        item = await next_update(call)
        assert item is not grpc.aio.EOF, "stream ended early"
        if item.WhichOneof("update") == "control" and item.control.kind == kind:
            return item
        assert item.WhichOneof("update") == "control", f"unexpected data before control {kind}: {item}"


async def read_data(call: grpc.aio.UnaryStreamCall[Any, Any], count: int) -> list[Any]:
    """The next ``count`` data updates, skipping control messages."""
    found: list[Any] = []
    while len(found) < count:
        item = await next_update(call)
        assert item is not grpc.aio.EOF, f"stream ended after {len(found)} of {count} updates"
        if item.WhichOneof("update") != "control":
            found.append(item)
    return found


def texts(updates: Sequence[Any]) -> list[str]:
    """The message texts of chat updates."""
    return [u.message.parts[0].text.text for u in updates]


async def read_until_error(
    call: grpc.aio.UnaryStreamCall[Any, Any],
) -> tuple[list[Any], list[int], grpc.aio.AioRpcError]:
    """Read a stream to its failure: its data updates, the kinds of its control messages, and the error."""
    updates: list[Any] = []
    controls: list[int] = []
    while True:
        try:
            item = await next_update(call)
        except grpc.aio.AioRpcError as error:
            return updates, controls, error
        assert item is not grpc.aio.EOF, "stream ended without an error"
        if item.WhichOneof("update") == "control":
            controls.append(item.control.kind)
        else:
            updates.append(item)
