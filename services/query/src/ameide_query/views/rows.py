"""What chat reads select: the chat columns (from ``ameide_readmodel``) and ListChats' cheaper form of them.

The row types are the read model's (``ameide_readmodel.chats.ChatRow``, ``ameide_readmodel.artifacts.ArtifactRow``);
their wire messages are ``ameide_readmodel.wire``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.artifacts import rm_artifacts
from ameide_readmodel.base import select_list
from ameide_readmodel.chats import rm_chats
from ameide_readmodel.timestamps import from_micros

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

PRIVATE = int(types.CHAT_VISIBILITY_PRIVATE)
TEAM = int(types.CHAT_VISIBILITY_TEAM)
PUBLIC = int(types.CHAT_VISIBILITY_PUBLIC)

# rm_chats' columns (alias c), in ChatRow's order: what every chat read selects.
CHAT_COLUMNS = select_list(rm_chats, "c")
# rm_artifacts' columns but the body (it can be 4 MiB; read only where content is answered).
ARTIFACT_COLUMNS = select_list(rm_artifacts, "a", without=("body",))


def epoch_micros(column: str) -> str:
    """SQL: a timestamptz column as integer microseconds since 1970 (exact: ``extract`` is numeric since PG 14)."""
    return f"(extract(epoch FROM {column}) * 1000000)::int8"


# ListChats' columns: CHAT_COLUMNS as plain values a page of chats loads and encodes at half the cost (a text id,
# labels as JSON text, times as integers), instead of a UUID, three datetimes and a dict a row.
LISTED_CHAT_COLUMNS = (
    "c.id::text, c.tenant_id, c.owner, c.title, c.visibility, c.description, c.labels::text, c.tags, c.agent_id, "
    f"c.message_count, {epoch_micros('c.created_at')}, {epoch_micros('c.updated_at')}, "
    f"{epoch_micros('c.last_activity_at')}, c.deleted, c.version"
)

# A chat of a ListChats page: the row as the statement returns it, its total count first, then LISTED_CHAT_COLUMNS
# in their order. Kept the plain tuple the driver built: a frozen dataclass made of each row (fifteen attribute
# writes) cost about as much as writing the chat into the reply.
ListedChat = tuple[Any, ...]
_ID = 1
_LAST_ACTIVITY_US = 13
_MICROS_PER_SECOND = 1_000_000


def fill_listed_chats(chats: RepeatedCompositeFieldContainer[types.Chat], rows: Iterable[ListedChat]) -> None:
    """Append a wire Chat per row to ``chats`` (each the same message ``ameide_readmodel.wire.fill_chat`` writes).

    One call per page, not per chat: the loop, its locals and the bound ``add`` stay in one frame.
    """
    add = chats.add
    for (_, chat_id, tenant_id, owner, title, visibility, description, labels_json, tags, agent_id, message_count,
         created_us, updated_us, last_activity_us, _, version) in rows:  # fmt: skip
        chat = add()
        # A field written costs the protobuf runtime far more than a Python test: defaults (empty, 0) are not
        # written, except where writing makes the message present (the timestamps' seconds, the metadata's
        # description), as in fill_chat.
        chat.id = chat_id
        if title:
            chat.title = title
        chat.user_id = owner
        chat.visibility = visibility
        chat.tenant_id = tenant_id
        if agent_id:
            chat.agent_id = agent_id
        if message_count:
            chat.message_count = message_count
        chat.version = version
        # ameide_readmodel.timestamps.stamp_micros written out: three calls fewer per chat.
        seconds, micros = divmod(created_us, _MICROS_PER_SECOND)
        stamp = chat.created_at
        stamp.seconds = seconds
        if micros:
            stamp.nanos = micros * 1000
        seconds, micros = divmod(updated_us, _MICROS_PER_SECOND)
        stamp = chat.updated_at
        stamp.seconds = seconds
        if micros:
            stamp.nanos = micros * 1000
        seconds, micros = divmod(last_activity_us, _MICROS_PER_SECOND)
        stamp = chat.last_activity_at
        stamp.seconds = seconds
        if micros:
            stamp.nanos = micros * 1000
        metadata = chat.metadata
        metadata.description = description
        if tags:
            metadata.tags.extend(tags)
        if labels_json != "{}":
            metadata.labels.update(json.loads(labels_json))


def listed_chat_position(row: ListedChat) -> list[str]:
    """The list's keyset position of a listed chat as page-token content: (last activity, id).

    ``reads.common.position`` of the same values: the id is PostgreSQL's text of a uuid, already the canonical form
    ``str(uuid.UUID)`` gives.
    """
    return [from_micros(row[_LAST_ACTIVITY_US]).isoformat(), row[_ID]]
