"""Rows as the contract's messages: what GetChat answers and what a chat's state updates carry are one Chat.

``fill_chat`` writes into an existing message (typically ``reply.threads.add()``): filling the reply's own
element field by field costs a quarter of building a Chat from keyword arguments (each nested Timestamp and
ChatMetadata is built, then copied in) and copying that into the reply.
"""

from __future__ import annotations

from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.artifacts import ArtifactRow
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.timestamps import stamp, timestamp


def fill_chat(chat: types.Chat, row: ChatRow) -> None:
    """Write ``row`` into an empty wire Chat."""
    chat.id = str(row.id)
    chat.title = row.title
    chat.user_id = row.owner
    chat.visibility = row.visibility  # type: ignore[assignment]
    chat.tenant_id = row.tenant_id
    chat.agent_id = row.agent_id
    chat.message_count = row.message_count
    chat.version = row.version
    stamp(chat.created_at, row.created_at)
    stamp(chat.updated_at, row.updated_at)
    stamp(chat.last_activity_at, row.last_activity_at)
    metadata = chat.metadata
    metadata.description = row.description
    metadata.tags.extend(row.tags)
    if row.labels:
        metadata.labels.update(row.labels)


def chat_message(row: ChatRow) -> types.Chat:
    """The wire Chat of ``row``."""
    chat = types.Chat()
    fill_chat(chat, row)
    return chat


def artifact_view(row: ArtifactRow) -> art_types.ArtifactView:
    """The wire ArtifactView of ``row`` (with content only when the row carries its body)."""
    view = art_types.ArtifactView(
        id=str(row.id),
        title=row.title,
        kind=row.kind,
        labels=row.labels,
        version=row.version,
        user_id=row.owner,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        primary_threads_id=str(row.primary_chat_id) if row.primary_chat_id else "",
        tenant_id=row.tenant_id,
    )
    if row.body is not None:
        view.content.CopyFrom(art_types.ArtifactContent(mime_type=row.mime, body=row.body))
    return view
