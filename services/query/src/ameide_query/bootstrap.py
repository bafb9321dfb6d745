"""Composition root of the query deployable: QuerySettings -> pools, Redis, handlers, live updates, servicers.

``ameide serve query`` enters ``bootstrap(settings)`` and serves ``app.bindings``; ``app.on_shutdown`` ends live
streams with a resumable UNAVAILABLE. The query service only reads (``AMEIDE_QUERY_DATABASE_URL`` may point at a
replica). Tests may pass their own ``redis`` / pools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc
from ameide_pg.pool import DEFAULT_TIMEOUT_SECONDS
from ameide_query.config import QuerySettings
from ameide_query.entrypoints import artifact_servicer, chat_servicer
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
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@asynccontextmanager
async def bootstrap(
    settings: QuerySettings,
    *,
    redis: Redis | None = None,
    read_pool: ReadPool | None = None,
    stream_pool: ReadPool | None = None,
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
        ]
        yield QueryApp(bindings, chats, artifacts, live, on_shutdown=[live.stop])
