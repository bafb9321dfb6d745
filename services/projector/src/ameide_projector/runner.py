"""The projector's batch handler: one outbox batch -> read-model rows + feed entries, in the consumer's transaction.

The outbox consumer calls the handler inside the transaction that deletes the batch's outbox rows, so read-model
writes, feed entries and the outbox deletion commit together (exactly once, per-stream order). The handler
returns an after-commit callback that publishes the new feed entries to Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_eventstore import AfterCommit, RecordedEvent
from ameide_projector import metrics, observability
from ameide_projector.projections.batch import Plan, decode_batch, plan_batch
from ameide_projector.publishing import Publisher
from ameide_projector.read_model import writer
from ameide_readmodel.feed.entries import FeedEntry, FeedUpdate

logger = logging.getLogger(__name__)

# Appends updates to their feeds inside the transaction (ameide_projector.feed.writer.append_feed_entries).
FeedAppender = Callable[[AsyncConnection, Sequence[FeedUpdate]], Awaitable[list[FeedEntry]]]


class ReadModelProjector:
    """The ``BatchHandler`` of the read model.

    Args:
        append_feed: Writes feed entries in the transaction; ``None`` projects without live updates (rebuilds).
        publisher: Publishes the entries after commit; ``None`` leaves them to the publisher's catch-up.
    """

    def __init__(self, *, append_feed: FeedAppender | None = None, publisher: Publisher | None = None) -> None:
        self._append_feed = append_feed
        self._publisher = publisher

    async def __call__(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> AfterCommit | None:
        """Apply one batch (see the module docstring), in the spans that continue the events' traces."""
        with observability.traced_batch(events) as traced:
            try:
                return traced.after_commit(await self._apply(conn, events))
            except Exception as exc:
                metrics.PROJECTION_ERRORS.labels(type(exc).__name__).inc()
                first = events[0] if events else None
                logger.exception(
                    "projection failed for a batch of %d events (first: %s at position %s)",
                    len(events),
                    first.event_type if first else "-",
                    first.global_position if first else "-",
                )
                raise

    async def _apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> AfterCommit | None:
        # Four round trips in all, whatever the batch holds: the lock with the applied versions, the prior state,
        # then every write with the feed append (see writer.Batch); the consumer's claim and commit add two more.
        batch = await writer.open_batch(conn)
        async with batch.pipeline():
            await writer.lock_shared(batch)
            applied = await writer.load_applied(batch, {e.stream_id for e in events})
            decoded = decode_batch(events, applied)
            for event in decoded.unknown:
                metrics.EVENTS_UNKNOWN.labels(event.event_type).inc()
                logger.warning("skipped unknown event type %s at position %d", event.event_type, event.global_position)
            # A chat's links are needed only to announce its changes on its artifacts' feeds.
            announcing = decoded.announcing_chat_ids() if self._append_feed is not None else ()
            loaded = await writer.load_state(batch, decoded.chat_ids(), decoded.artifact_ids(), announcing)
            plan = plan_batch(decoded, loaded.chats, loaded.artifacts, loaded.links)
            await writer.write_plan(batch, plan, decoded.heads)
            after_commit = await self._feed(conn, plan)
        metrics.EVENTS_APPLIED.inc(len(decoded.envelopes))
        metrics.EVENTS_DUPLICATE.inc(len(events) - len(decoded.envelopes) - len(decoded.unknown))
        return after_commit

    async def _feed(self, conn: AsyncConnection, plan: Plan) -> AfterCommit | None:
        if self._append_feed is None or not plan.publish:
            return None
        updates = [
            FeedUpdate(
                p.feed_key, p.tenant_id, p.update, p.occurred_at, chat_visibility_before=p.chat_visibility_before
            )
            for p in plan.publish
        ]
        entries = await self._append_feed(conn, updates)
        metrics.FEED_UPDATES.inc(len(entries))
        publisher = self._publisher
        if publisher is None:
            return None

        async def publish() -> None:
            await publisher.publish(entries)

        return publish
