"""Canonical forms for the checksum comparison: legacy rows and imported records reduced to the same JSON.

``legacy_message`` is what the legacy row says, read by ``bodies`` (every shape, the text policy applied): the
documented normalisations are expected. ``imported_message`` rebuilds that legacy shape from what the query side
returns, through the inverse of each contract part; equal forms mean the message survived the import intact.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from ameide_cli.legacy import bodies, jsontext
from ameide_cli.legacy.parts import ORIGINAL_ROLE, WHOLE_ATTACHMENTS, WHOLE_BODY
from ameide_cli.legacy.rows import MessageRow, MessageTable
from ameide_cli.legacy.text import Notes, fit
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2


def _parse(text: str) -> Any:  # noqa: ANN401 - any JSON value
    try:
        return jsontext.loads(text)
    except ValueError:
        return {"unparsed": text}


def micros(at: dt.datetime) -> int:
    """A timestamp as epoch microseconds (exact, zone-free)."""
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def legacy_message(row: MessageRow) -> dict[str, Any]:
    """What a legacy message says: role, parts, attachments, time."""
    # What the reading notes is the import's to report; here only the forms count.
    notes = Notes()
    parts = bodies.read_parts(row.table, row.body, notes).form()
    attachments = [] if row.attachments is None else bodies.read_attachments(row.attachments, notes).form()
    return {"role": fit(row.role), "parts": parts, "attachments": attachments, "at": micros(row.created_at)}


def imported_message(message: types_pb2.ChatMessage, table: MessageTable) -> dict[str, Any]:
    """The legacy shape rebuilt from an imported message (``table``: the legacy table it came from)."""
    role = message.role
    parts: list[Any] = []
    attachments: Any = [{"name": a.name, "url": a.uri, "contentType": a.mime_type} for a in message.attachments]
    whole_body: str | None = None
    whole_attachments: str | None = None
    for part in message.parts:
        kind = part.structured.type if part.WhichOneof("kind") == "structured" else ""
        if kind == ORIGINAL_ROLE:
            original = _parse(part.structured.json)
            role = original["role"] if isinstance(original, dict) and isinstance(original.get("role"), str) else role
        elif kind == WHOLE_ATTACHMENTS:
            whole_attachments = part.structured.json
        elif kind == WHOLE_BODY:
            whole_body = part.structured.json
        else:
            parts.append(bodies.normal_part(Notes().value("parts", legacy_part(part))))
    # A kept original stands for what was read from it only when nothing was (older imports kept only it).
    form: Any = parts
    if not parts and whole_body is not None:
        form = bodies.read_parts(table, whole_body, Notes()).form()
    if not attachments and whole_attachments is not None:
        attachments = bodies.read_attachments(whole_attachments, Notes()).form()
    return {
        "role": fit(role),
        "parts": form,
        "attachments": attachments,
        "at": micros(message.created_at.ToDatetime(tzinfo=dt.UTC)),
    }


def legacy_part(part: types_pb2.MessagePart) -> Any:  # noqa: ANN401 - any JSON value
    """The legacy JSON of one imported part."""
    kind = part.WhichOneof("kind")
    if kind == "text":
        return {"type": "text", "text": part.text.text}
    if kind == "image" and part.image.url:
        return {"type": "file", "mediaType": part.image.mime_type, "url": part.image.url}
    if kind == "image":
        return {"type": "file", "mimeType": part.image.mime_type, "data": base64.b64encode(part.image.data).decode()}
    if kind == "code":
        return {"type": "code", "language": part.code.language, "content": part.code.content}
    if kind == "structured":
        return _parse(part.structured.json)
    return None
