"""Values that flow through the feed: an update to append, and the stored entry with its sequence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """One live update of a feed (``thread:{id}`` / ``artifact:{id}``), before it gets its sequence.

    ``payload`` is a serialized ``ChatUpdate`` (thread feeds) or ``ArtifactUpdate`` (artifact feeds) without
    ``checkpoint_token``: the query service adds the token per subscriber when it sends the update.

    ``chat_visibility_before`` belongs to an artifact feed's update naming a chat (``threads_added`` /
    ``threads_removed``) that reports a change of who may read the chat (its visibility, its deletion, its
    unlinking): the chat's visibility just before that change, so the query service can tell a subscriber who
    could read the chat then, and only such a subscriber, that it is gone. 0 (unspecified) on every other update.
    """

    feed_key: str
    tenant_id: str
    payload: bytes
    occurred_at: datetime
    chat_visibility_before: int = field(default=0, kw_only=True)


@dataclass(frozen=True, slots=True)
class FeedEntry(FeedUpdate):
    """A stored update: ``seq`` is gapless within its feed, starting at 1."""

    seq: int
