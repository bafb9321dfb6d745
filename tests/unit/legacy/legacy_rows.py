"""Legacy rows for the importer's unit tests, and the contract shapes they become."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from google.protobuf.message import Message

from ameide_cli.legacy.parts import map_message
from ameide_cli.legacy.rows import MessageRow, MessageTable
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

AT = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


def message_row(
    body: str, *, role: str = "user", attachments: str | None = "[]", table: MessageTable = "Message_v2"
) -> MessageRow:
    """A message row holding ``body`` (the JSON text of its parts column) as read from the legacy database."""
    return MessageRow(table, uuid.uuid4(), uuid.uuid4(), role, body, attachments if table == "Message_v2" else None, AT)


def imported(row: MessageRow) -> types_pb2.ChatMessage:
    """The contract message the import makes of ``row``, through its wire form (as the query side returns it)."""
    mapped = map_message(row)
    message = types_pb2.ChatMessage(
        id=str(row.id), role=mapped.role, parts=mapped.parts, attachments=mapped.attachments
    )
    message.created_at.FromDatetime(row.created_at)
    return types_pb2.ChatMessage.FromString(message.SerializeToString())


def strings(message: Message) -> list[str]:
    """Every string field of a protobuf message, nested messages and maps included."""
    found: list[str] = []
    for field, value in message.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            values: list[Any] = [item for pair in value.items() for item in pair]
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                found += strings(item)
            elif isinstance(item, str):
                found.append(item)
    return found


def structured(message: types_pb2.ChatMessage, kind: str) -> list[str]:
    """The JSON of the message's structured parts of type ``kind``."""
    return [
        p.structured.json for p in message.parts if p.WhichOneof("kind") == "structured" and p.structured.type == kind
    ]
