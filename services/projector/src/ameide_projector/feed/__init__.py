"""The durable live-update feed: per-feed gapless sequences in ``rm_feed``, published to Redis after commit.

The projector's batch handler calls ``append_feed_entries`` inside its read-model transaction and, after the
commit, ``FeedPublisher.publish`` with the returned entries. The query service reads ``rm_feed`` and the Redis
streams (``keys``) to serve StreamChatUpdates / StreamArtifactUpdates.
"""

from __future__ import annotations

from ameide_projector.feed.models import FeedEntry, FeedUpdate
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.schema import metadata, rm_feed, rm_feed_heads
from ameide_projector.feed.writer import append_feed_entries

__all__ = [
    "FeedEntry",
    "FeedPublisher",
    "FeedUpdate",
    "append_feed_entries",
    "metadata",
    "rm_feed",
    "rm_feed_heads",
]
