"""Turn stored feed entries into the updates sent to subscribers, once per entry and tenant.

Many subscribers of one chat receive the same entry at the same moment: decoding the payload and signing its
checkpoint token once, and sharing the (never mutated afterwards) message between their streams, keeps the cost
of a fan-out close to the cost of writing the bytes.
"""

from __future__ import annotations

from collections import OrderedDict

from ameide_query.streams.kinds import FeedKind, Update
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec

_CACHE_ENTRIES = 4096
# Artifact content updates can be megabytes: bound the cache by payload bytes too.
_CACHE_BYTES = 32 * 1024 * 1024


class Renderer:
    """Renders entries with their checkpoint token and timestamp; a small LRU shares recent renders."""

    def __init__(self, codec: TokenCodec) -> None:
        self._codec = codec
        self._recent: OrderedDict[tuple[str, int, str], tuple[Update, int]] = OrderedDict()
        self._bytes = 0

    def token(self, *, tenant_id: str, feed: str, seq: int) -> str:
        """A checkpoint token for having seen ``seq`` of ``feed``."""
        return resume.issue(self._codec, tenant_id=tenant_id, feed=feed, seq=seq)

    def render(self, kind: FeedKind, entry: FeedEntry, tenant_id: str) -> Update:
        """The update to send for ``entry`` to a caller of ``tenant_id``; callers must not mutate it."""
        key = (entry.feed_key, entry.seq, tenant_id)
        cached = self._recent.get(key)
        if cached is not None:
            self._recent.move_to_end(key)
            return cached[0]
        update = kind.decode(entry.payload)
        update.checkpoint_token = self.token(tenant_id=tenant_id, feed=entry.feed_key, seq=entry.seq)
        if not update.HasField("timestamp"):
            update.timestamp.FromDatetime(entry.occurred_at)
        size = len(entry.payload)
        self._recent[key] = (update, size)
        self._bytes += size
        while self._recent and (len(self._recent) > _CACHE_ENTRIES or self._bytes > _CACHE_BYTES):
            _, (_, dropped) = self._recent.popitem(last=False)
            self._bytes -= dropped
        return update
