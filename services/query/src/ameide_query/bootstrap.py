"""Composition root of the query deployable: QuerySettings -> pools, Redis, handlers, live updates, servicers.

``ameide serve query`` enters ``bootstrap(settings)`` and serves ``app.bindings``; ``app.on_shutdown`` ends live
streams with a resumable UNAVAILABLE. The query service only reads the read model (``AMEIDE_QUERY_DATABASE_URL`` may
point at a replica); its live signals (presence, drafts) live in Redis, and a completed draft is sent to the command
service (``AMEIDE_COMMAND_TARGET``) with the caller's credentials. Tests may pass their own ``redis`` / pools / clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import grpc.aio
from redis.asyncio import Redis

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.live.v1 import live_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc
from ameide_pg.pool import DEFAULT_TIMEOUT_SECONDS
from ameide_query.config import QuerySettings
from ameide_query.entrypoints import artifact_servicer, chat_servicer, draft_servicer, presence_servicer
from ameide_query.live.access import ResourceAccess
from ameide_query.live.clock import Clock, wall_clock
from ameide_query.live.completion import MessageSender
from ameide_query.live.draft_handlers import DraftHandlers
from ameide_query.live.drafts import DraftStore
from ameide_query.live.limits import MessageLimits
from ameide_query.live.presence import PresenceStore
from ameide_query.live.presence_handlers import PresenceHandlers
from ameide_query.live.scripts import Scripts
from ameide_query.live.snapshots import Snapshots
from ameide_query.live.sweeper import Sweeper
from ameide_query.reads.artifacts import ArtifactReads
from ameide_query.reads.chats import ChatReads
from ameide_query.streams import LiveUpdates
from ameide_query.views import access
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_runtime.grpc_server import ServiceBinding
from ameide_runtime.redis_client import redis_client
from ameide_runtime.tokens import TokenCodec

# Connections per process: unary reads hold a read-pool connection for one or two statements; the live streams
# borrow one of their own pool's only to check access, poll heads and fill gaps (so a burst of subscriptions
# never queues the unary reads behind it), and give up after DEFAULT_TIMEOUT_SECONDS (UNAVAILABLE).
READ_POOL_SIZE = 16
STREAM_POOL_SIZE = 12


@dataclass(slots=True)
class QueryApp:
    """What the query deployable serves, and its handlers (for in-process tests and benchmarks)."""

    bindings: list[ServiceBinding]
    chats: ChatReads
    artifacts: ArtifactReads
    live: LiveUpdates
    sweeper: Sweeper
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@asynccontextmanager
async def bootstrap(
    settings: QuerySettings,
    *,
    redis: Redis | None = None,
    read_pool: ReadPool | None = None,
    stream_pool: ReadPool | None = None,
    clock: Clock = wall_clock,
) -> AsyncIterator[QueryApp]:
    """Build the query app; everything opened here is closed on exit, in reverse order."""
    async with AsyncExitStack() as stack:
        if redis is None:
            redis = redis_client(settings.stores.redis_url)
            stack.push_async_callback(redis.aclose)
        if read_pool is None:
            read_pool = ReadPool(settings.read_database_url(), size=READ_POOL_SIZE)
            stack.push_async_callback(read_pool.close)
        if stream_pool is None:
            stream_pool = ReadPool(settings.read_database_url(), size=STREAM_POOL_SIZE, timeout=DEFAULT_TIMEOUT_SECONDS)
            stack.push_async_callback(stream_pool.close)
        codec = TokenCodec(settings.auth.token_key())
        waiter = ConsistencyWaiter(read_pool, codec, wait_ms=settings.consistency_wait_ms)
        chats = ChatReads(read_pool, codec, waiter)
        artifacts = ArtifactReads(read_pool, codec, waiter)
        live = LiveUpdates(
            settings=settings, db=stream_pool, redis=redis, codec=codec, access=access, consistency=waiter
        )
        await live.start()
        stack.push_async_callback(live.stop)
        commands = grpc.aio.insecure_channel(
            settings.live.command_target,
            options=[("grpc.max_send_message_length", settings.server.grpc_max_message_bytes)],
        )
        stack.push_async_callback(commands.close)
        signal_bindings, sweeper = _live_signals(
            settings, redis, read_pool=read_pool, consistency=waiter, commands=commands, clock=clock
        )
        await sweeper.start()
        stack.push_async_callback(sweeper.stop)
        bindings = [
            ServiceBinding(
                chat_servicer.SERVICE,
                threads_service_pb2_grpc.add_ChatQueryServiceServicer_to_server,
                chat_servicer.ChatQueryServicer(chats, live),
            ),
            ServiceBinding(
                artifact_servicer.SERVICE,
                artifacts_service_pb2_grpc.add_ArtifactQueryServiceServicer_to_server,
                artifact_servicer.ArtifactQueryServicer(artifacts, live),
            ),
            *signal_bindings,
        ]
        yield QueryApp(bindings, chats, artifacts, live, sweeper, on_shutdown=[live.stop, sweeper.stop])


def _live_signals(
    settings: QuerySettings,
    redis: Redis,
    *,
    read_pool: ReadPool,
    consistency: ConsistencyWaiter,
    commands: grpc.aio.Channel,
    clock: Clock,
) -> tuple[list[ServiceBinding], Sweeper]:
    """PresenceService and DraftService, and the sweeper that expires what they store."""
    live = settings.live
    scripts = Scripts.register(redis)
    presence = PresenceStore(
        redis,
        scripts,
        viewing_ttl_seconds=live.presence_viewing_ttl_seconds,
        typing_ttl_seconds=live.presence_typing_ttl_seconds,
        clock=clock,
    )
    drafts = DraftStore(redis, scripts, ttl_seconds=live.draft_ttl_seconds, clock=clock)
    limits = MessageLimits(live.max_parts, live.max_text_part_bytes, live.max_message_bytes)
    access = ResourceAccess(read_pool)
    sender = MessageSender(threads_service_pb2_grpc.ChatCommandServiceStub(commands), limits)
    bindings = [
        ServiceBinding(
            presence_servicer.SERVICE,
            live_service_pb2_grpc.add_PresenceServiceServicer_to_server,
            presence_servicer.PresenceServicer(
                PresenceHandlers(presence, Snapshots(redis, scripts), access, consistency)
            ),
        ),
        ServiceBinding(
            draft_servicer.SERVICE,
            live_service_pb2_grpc.add_DraftServiceServicer_to_server,
            draft_servicer.DraftServicer(
                DraftHandlers(drafts, access, sender, limits, db=read_pool, consistency=consistency)
            ),
            errors=draft_servicer.ERRORS,
        ),
    ]
    return bindings, Sweeper(presence, drafts, clock=clock)
