"""``LiveUpdates``: the query service's StreamChatUpdates / StreamArtifactUpdates (design.md section 7)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc.aio
from redis.asyncio import Redis

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_pg.pool import ConnectionPool
from ameide_query.config import QuerySettings
from ameide_query.live import keys as live_keys
from ameide_query.live.drafts import DraftStore
from ameide_query.live.scripts import Scripts
from ameide_query.live.snapshots import Snapshots
from ameide_query.streams.checks import SharedChecks
from ameide_query.streams.hub import FeedHub
from ameide_query.streams.kinds import AccessRules, FeedKind, Update, artifact_kind, chat_kind
from ameide_query.streams.rendering import Renderer
from ameide_query.streams.screening import ChatDirectory, UpdateScreen
from ameide_query.streams.session import HEARTBEAT_JITTER, Session, StreamDeps
from ameide_query.streams.source import EntrySource
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_readmodel.feed import keys
from ameide_runtime import identity
from ameide_runtime.errors import Unavailable
from ameide_runtime.tokens import TokenCodec

_SHUTDOWN_RETRY_MS = 500

StreamRequest = threads_service_pb2.StreamChatRequest | artifacts_service_pb2.StreamArtifactRequest


class LiveUpdates:
    """Serves live update streams from one shared Redis reader, with ``rm_feed`` as the source of truth.

    ``start()`` before serving, ``stop()`` on shutdown: every open stream then ends with UNAVAILABLE (resumable
    elsewhere with its last checkpoint token). The Redis client must return bytes (``decode_responses=False``).
    A request's ``consistency_token`` is waited for by ``consistency``, the unary reads' waiter, before the
    stream authorises: the same bound, the same errors.
    """

    def __init__(
        self,
        *,
        settings: QuerySettings,
        db: ConnectionPool,
        redis: Redis,
        codec: TokenCodec,
        access: AccessRules,
        consistency: ConsistencyWaiter,
        key_prefix: str = keys.KEY_PREFIX,
        signal_prefix: str = live_keys.KEY_PREFIX,
        fetch_batch: int = 200,
        poll_interval: float = 0.5,
        drain_timeout: float = 5.0,
    ) -> None:
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("LiveUpdates needs a Redis client with decode_responses=False (payloads are bytes)")
        self._hub = FeedHub(redis, db, key_prefix=key_prefix, poll_interval=poll_interval, signal_prefix=signal_prefix)
        scripts = Scripts.register(redis)
        self._deps = StreamDeps(
            db=db,
            hub=self._hub,
            source=EntrySource(redis, db, self._hub, key_prefix=key_prefix),
            codec=codec,
            renderer=Renderer(codec),
            ttl_seconds=settings.resume_token_ttl_seconds,
            heartbeat_seconds=settings.heartbeat_seconds,
            queue_size=settings.subscriber_queue_size,
            fetch_batch=fetch_batch,
            # Within the jitter window: a shared result is never older than a quarter of a heartbeat.
            heartbeat_checks=SharedChecks(settings.heartbeat_seconds * HEARTBEAT_JITTER),
            snapshots=Snapshots(redis, scripts, prefix=signal_prefix),
            drafts=DraftStore(redis, scripts, ttl_seconds=settings.live.draft_ttl_seconds, prefix=signal_prefix),
            screen=UpdateScreen(ChatDirectory(db)),
        )
        self._consistency = consistency
        self._chat = chat_kind(access)
        self._artifact = artifact_kind(access)
        self._drain_timeout = drain_timeout
        self._closing = False

    @property
    def hub(self) -> FeedHub:
        """The shared reader (for metrics and tests)."""
        return self._hub

    async def start(self) -> None:
        """Start the shared Redis reader."""
        self._closing = False
        await self._hub.start()

    async def stop(self) -> None:
        """End every stream with UNAVAILABLE, wait (bounded) for them to finish, stop the reader."""
        self._closing = True
        for sub in self._hub.subscriptions():
            sub.close(self._shutdown_error())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain_timeout):
                await self._hub.wait_empty()
        await self._hub.stop()

    async def chat_updates(
        self, request: threads_service_pb2.StreamChatRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[threads_service_pb2.ChatUpdate]:
        """StreamChatUpdates."""
        del context  # cancellation arrives as CancelledError at the next await
        caller = identity.reconcile(tenant_id=request.tenant_id)
        async for update in self._stream(self._chat, caller, request.threads_id, request):
            yield cast("threads_service_pb2.ChatUpdate", update)

    async def artifact_updates(
        self, request: artifacts_service_pb2.StreamArtifactRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[artifacts_service_pb2.ArtifactUpdate]:
        """StreamArtifactUpdates."""
        del context  # cancellation arrives as CancelledError at the next await
        caller = identity.reconcile(tenant_id=request.tenant_id)
        async for update in self._stream(self._artifact, caller, request.artifact_id, request):
            yield cast("artifacts_service_pb2.ArtifactUpdate", update)

    async def _stream(
        self, kind: FeedKind, caller: identity.Identity, raw_id: str, request: StreamRequest
    ) -> AsyncIterator[Update]:
        if self._closing:
            raise self._shutdown_error()
        resource_id = kind.parse_id(raw_id)
        # Read your writes, as GetChat / GetArtifact do: only once the write is visible does the stream check
        # access and take the feed head, so a chat the caller has just created is found, one just deleted is
        # NOT_FOUND, and "from now" starts after the write.
        await self._consistency.wait(request.consistency_token)
        if self._closing:
            raise self._shutdown_error()
        session = Session(self._deps, kind, caller, resource_id, signals=request.include_signals)
        async for update in session.run(request.resume_token):
            yield update

    @staticmethod
    def _shutdown_error() -> Unavailable:
        return Unavailable(
            "server is shutting down; resume with the last checkpoint_token",
            reason="SHUTTING_DOWN",
            retry_after_ms=_SHUTDOWN_RETRY_MS,
        )
