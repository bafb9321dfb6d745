"""What chat reads select: the chat columns (from ``ameide_readmodel``) and ListChats' cheaper form of them.

The row types are the read model's (``ameide_readmodel.chats.ChatRow``, ``ameide_readmodel.artifacts.ArtifactRow``);
their wire messages are ``ameide_readmodel.wire``'s.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.artifacts import rm_artifacts
from ameide_readmodel.base import select_list
from ameide_readmodel.chats import rm_chats
from ameide_readmodel.timestamps import from_micros, stamp_micros

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


# ListChats' columns, in ListedChat's order: CHAT_COLUMNS as plain values a page of chats loads and encodes at half
# the cost (a text id, labels as JSON text, times as integers), instead of a UUID, three datetimes and a dict a row.
LISTED_CHAT_COLUMNS = (
    "c.id::text, c.tenant_id, c.owner, c.title, c.visibility, c.description, c.labels::text, c.tags, c.agent_id, "
    f"c.message_count, {epoch_micros('c.created_at')}, {epoch_micros('c.updated_at')}, "
    f"{epoch_micros('c.last_activity_at')}, c.deleted, c.version"
)


@dataclass(frozen=True, slots=True)
class ListedChat:
    """A chat of a ListChats page, as ``LISTED_CHAT_COLUMNS`` selects it."""

    id: str
    tenant_id: str
    owner: str
    title: str
    visibility: int
    description: str
    labels_json: str
    tags: list[str]
    agent_id: str
    message_count: int
    created_us: int
    updated_us: int
    last_activity_us: int
    deleted: bool
    version: int

    def fill(self, chat: types.Chat) -> None:
        """Write the wire Chat into an empty ``chat`` (the same message ``ameide_readmodel.wire.fill_chat`` writes)."""
        chat.id = self.id
        chat.title = self.title
        chat.user_id = self.owner
        chat.visibility = self.visibility  # type: ignore[assignment]
        chat.tenant_id = self.tenant_id
        chat.agent_id = self.agent_id
        chat.message_count = self.message_count
        chat.version = self.version
        stamp_micros(chat.created_at, self.created_us)
        stamp_micros(chat.updated_at, self.updated_us)
        stamp_micros(chat.last_activity_at, self.last_activity_us)
        metadata = chat.metadata
        metadata.description = self.description
        metadata.tags.extend(self.tags)
        if self.labels_json != "{}":
            metadata.labels.update(json.loads(self.labels_json))

    def keyset(self) -> tuple[dt.datetime, uuid.UUID]:
        """The list's keyset position of this chat: (last activity, id)."""
        return from_micros(self.last_activity_us), uuid.UUID(self.id)
