"""How feed entries are laid out in Redis: the projector publishes them so, the query service reads them so.

Each feed is one Redis stream ``<prefix><feed_key>`` whose entry ids are ``<seq>-0``, so Redis itself rejects
a replayed XADD (the id is not above the top) and a reader can detect a gap by the sequence alone.
"""

from __future__ import annotations

from ameide_readmodel.feed.entries import FeedEntry
from ameide_readmodel.timestamps import from_micros, to_micros

KEY_PREFIX = "ameide:feed:"
# Holds a random value written by the publisher; when it disappears, Redis lost its data (flush, restart
# without persistence) and the publisher republishes the recent tail of every feed from rm_feed.
EPOCH_SUFFIX = "__epoch__"
# Field names inside a stream entry: payload, tenant, occurred-at (microseconds since the epoch).
FIELD_PAYLOAD = b"p"
FIELD_TENANT = b"t"
FIELD_OCCURRED = b"o"
# Only on an update that reports a change of who may read a chat (FeedUpdate.chat_visibility_before): absent = 0.
FIELD_CHAT_VISIBILITY_BEFORE = b"v"


def stream_key(feed_key: str, prefix: str = KEY_PREFIX) -> str:
    """The Redis key of a feed."""
    return prefix + feed_key


def epoch_key(prefix: str = KEY_PREFIX) -> str:
    """The Redis key whose disappearance means Redis lost its streams."""
    return prefix + EPOCH_SUFFIX


def entry_id(seq: int) -> str:
    """The explicit stream entry id of a sequence number."""
    return f"{seq}-0"


def seq_of(entry_id_value: bytes | str) -> int:
    """The sequence number of a stream entry id (``b"12-0"`` -> 12)."""
    text = entry_id_value.decode() if isinstance(entry_id_value, bytes) else entry_id_value
    return int(text.partition("-")[0])


def field_values(entry: FeedEntry) -> tuple[bytes, bytes, bytes, bytes]:
    """The values of a feed entry's stream fields: payload, tenant, occurred-at, chat visibility before (b"" = 0)."""
    before = str(entry.chat_visibility_before).encode() if entry.chat_visibility_before else b""
    return entry.payload, entry.tenant_id.encode(), str(to_micros(entry.occurred_at)).encode(), before


def encode_fields(entry: FeedEntry) -> dict[bytes, bytes]:
    """The stream entry fields of a feed entry."""
    payload, tenant, occurred, before = field_values(entry)
    fields = {FIELD_PAYLOAD: payload, FIELD_TENANT: tenant, FIELD_OCCURRED: occurred}
    if before:
        fields[FIELD_CHAT_VISIBILITY_BEFORE] = before
    return fields


def decode_fields(feed_key: str, entry_id_value: bytes | str, fields: dict[bytes, bytes]) -> FeedEntry:
    """The feed entry stored in a stream entry (raises KeyError/ValueError when it is not one)."""
    micros = int(fields[FIELD_OCCURRED])
    return FeedEntry(
        feed_key=feed_key,
        tenant_id=fields[FIELD_TENANT].decode(),
        payload=bytes(fields[FIELD_PAYLOAD]),
        occurred_at=from_micros(micros),
        seq=seq_of(entry_id_value),
        chat_visibility_before=int(fields.get(FIELD_CHAT_VISIBILITY_BEFORE, 0)),
    )
