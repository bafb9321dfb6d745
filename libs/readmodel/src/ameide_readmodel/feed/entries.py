"""Values that flow through the feed: an update to append, and the stored entry with its sequence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """One live update of a feed (``thread:{id}`` / ``artifact:{id}``), before it gets its sequence.

    ``payload`` is a serialized ``ChatUpdate`` (thread feeds) or ``ArtifactUpdate`` (artifact feeds) without
    ``checkpoint_token``: the query service adds the token per subscriber when it sends the update.
    """

    feed_key: str
    tenant_id: str
    payload: bytes
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class FeedEntry(FeedUpdate):
    """A stored update: ``seq`` is gapless within its feed, starting at 1."""

    seq: int
