"""Composition root of the query deployable: Settings -> engine, Redis, handlers, live updates, servicers, bindings.

``ameide serve query`` enters ``bootstrap(settings)`` and serves ``app.bindings``; ``app.on_shutdown`` ends live
streams with a resumable UNAVAILABLE. The query service only reads (``AMEIDE_QUERY_DATABASE_URL`` may point at a
replica). Tests may pass their own ``engine`` / ``redis``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc
from ameide_query.entrypoints import artifact_servicer, chat_servicer
from ameide_query.reads.artifacts import ArtifactReads
from ameide_query.reads.chats import ChatReads
from ameide_query.reads.common import ConsistencyWaiter
from ameide_query.streams import LiveUpdates
from ameide_query.views import access
from ameide_runtime.grpc_server import ServiceBinding
from ameide_runtime.settings import Settings
from ameide_runtime.tokens import TokenCodec

# Connections per process: every unary read holds one for one or two statements; streams borrow briefly.
POOL_SIZE = 16
POOL_OVERFLOW = 16


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
    settings: Settings, *, engine: AsyncEngine | None = None, redis: aioredis.Redis | None = None
) -> AsyncIterator[QueryApp]:
    """Build the query app; everything opened here is closed on exit, in reverse order."""
    async with AsyncExitStack() as stack:
        if engine is None:
            engine = create_async_engine(settings.read_database_url(), pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
            stack.push_async_callback(engine.dispose)
        if redis is None:
            redis = aioredis.Redis.from_url(settings.redis_url)
            stack.push_async_callback(redis.aclose)
        # Unary reads are single statements: autocommit spares the BEGIN/ROLLBACK round trips (same pool).
        reads_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        codec = TokenCodec(settings.token_key())
        waiter = ConsistencyWaiter(reads_engine, codec, wait_ms=settings.consistency_wait_ms)
        chats = ChatReads(reads_engine, codec, waiter)
        artifacts = ArtifactReads(reads_engine, codec, waiter)
        live = LiveUpdates(settings=settings, engine=engine, redis=redis, codec=codec, access=access)
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
