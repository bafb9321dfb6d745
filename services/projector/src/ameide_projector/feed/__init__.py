"""The projector's side of the live-update feed: append entries in the read-model transaction, publish to Redis.

The batch handler calls ``append_feed_entries`` inside its read-model transaction and, after the commit,
``FeedPublisher.publish`` with the returned entries. The feed's contract (names, entries, tables, Redis layout),
which the query service reads by, is ``ameide_readmodel.feed``.
"""

from __future__ import annotations

from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries

__all__ = ["FeedPublisher", "append_feed_entries"]
