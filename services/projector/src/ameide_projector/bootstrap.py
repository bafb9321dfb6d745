"""Composition root of the projector deployable: ProjectorSettings -> engine, Redis, feed publisher, outbox consumer.

``ameide serve projector`` enters ``bootstrap(settings)`` and awaits ``app.run(stop_event)``: the consumer claims
outbox shards and applies batches through ``ReadModelProjector`` until the event is set; feed entries reach Redis
after each commit (and through the publisher's catch-up when Redis was away).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_eventstore.postgres.outbox import PostgresOutboxConsumer
from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries
from ameide_projector.observability import OutboxSampler, PrometheusConsumerMetrics
from ameide_projector.publishing import QueuedPublisher
from ameide_projector.runner import ReadModelProjector
from ameide_projector.wake import OutboxWake
from ameide_runtime.redis_client import redis_client

# One connection per batch in flight, the publisher's, and headroom for the one-by-one poison search.
POOL_SIZE = 4
POOL_OVERFLOW = 4


@dataclass(slots=True)
class ProjectorApp:
    """The running projector: consumer, handler, publisher, outbox sampler (metrics)."""

    consumer: PostgresOutboxConsumer
    handler: ReadModelProjector
    publisher: FeedPublisher
    wake: OutboxWake | None
    sampler: OutboxSampler | None = None
    queue: QueuedPublisher | None = None

    async def run(self, stop_event: asyncio.Event) -> None:
        """Project until ``stop_event`` is set, then release the shards."""
        await self.publisher.start()
        if self.wake is not None:
            self.wake.start()
        if self.sampler is not None:
            self.sampler.start()
        try:
            await self.consumer.run(self.handler, stop=stop_event.is_set)
        finally:
            if self.sampler is not None:
                await self.sampler.stop()
            if self.wake is not None:
                await self.wake.stop()
            if self.queue is not None:
                await self.queue.stop()
            await self.publisher.stop()


@asynccontextmanager
async def bootstrap(
    settings: ProjectorSettings,
    *,
    engine: AsyncEngine | None = None,
    redis: Redis | None = None,
    worker_id: str | None = None,
    poll_interval: float | None = None,
) -> AsyncIterator[ProjectorApp]:
    """Build the projector app; everything opened here is closed on exit, in reverse order."""
    async with AsyncExitStack() as stack:
        if engine is None:
            engine = create_async_engine(
                settings.stores.require_database(), pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
            )
            stack.push_async_callback(engine.dispose)
        if redis is None:
            redis = redis_client(settings.stores.redis_url)
            stack.push_async_callback(redis.aclose)
        publisher = FeedPublisher(settings, engine, redis)
        queue = QueuedPublisher(publisher)
        handler = ReadModelProjector(append_feed=append_feed_entries, publisher=queue)
        wake = OutboxWake(redis)
        poll = settings.projector_poll_ms / 1000 if poll_interval is None else poll_interval
        consumer = PostgresOutboxConsumer(
            engine,
            shard_count=settings.outbox_shards,
            batch_size=settings.projector_batch_size,
            poll_interval=min(poll, 0.05),
            max_poll_interval=poll,
            wake=wake,
            on_error=settings.projector_on_error,
            worker_id=worker_id,
            metrics=PrometheusConsumerMetrics(),
        )
        sampler = OutboxSampler(consumer.stats)
        yield ProjectorApp(
            consumer=consumer, handler=handler, publisher=publisher, wake=wake, sampler=sampler, queue=queue
        )
