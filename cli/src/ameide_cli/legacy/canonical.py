"""Canonical forms for the checksum comparison: legacy rows and imported records reduced to the same JSON.

``legacy_message`` reads the legacy row directly (it does not use the mapping), ``imported_message`` rebuilds the
legacy shape from what the query side returns; equal digests mean the message survived the import intact.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from ameide_cli.legacy.jsontext import canonical
from ameide_cli.legacy.parts import ORIGINAL_ROLE, WHOLE_ATTACHMENTS, WHOLE_BODY
from ameide_cli.legacy.rows import MessageRow
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

_NOTHING = object()


def digest(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def _parse(text: str) -> Any:  # noqa: ANN401 - any JSON value
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed": text}


def _without_done(part: Any) -> Any:  # noqa: ANN401 - any JSON value
    # Mirrors the documented normalisation: "state": "done" on a text part is implied and not kept.
    if isinstance(part, dict) and part.get("type") == "text" and part.get("state") == "done":
        return {key: value for key, value in part.items() if key != "state"}
    return part


def micros(at: dt.datetime) -> int:
    """A timestamp as epoch microseconds (exact, zone-free)."""
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def legacy_message(row: MessageRow) -> dict[str, Any]:
    """What a legacy message says: role, parts, attachments, time."""
    body = _parse(row.body)
    if row.table == "Message" and isinstance(body, str):
        body = [{"type": "text", "text": body}]
    elif isinstance(body, list):
        body = [_without_done(part) for part in body]
    attachments = [] if row.attachments is None else _parse(row.attachments)
    return {"role": row.role, "parts": body, "attachments": attachments, "at": micros(row.created_at)}


def imported_message(message: types_pb2.ChatMessage) -> dict[str, Any]:
    """The legacy shape rebuilt from an imported message."""
    role = message.role
    parts: Any = []
    attachments: Any = [{"name": a.name, "url": a.uri, "contentType": a.mime_type} for a in message.attachments]
    whole_body: Any = _NOTHING
    for part in message.parts:
        if part.WhichOneof("kind") == "structured" and part.structured.type == ORIGINAL_ROLE:
            role = _parse(part.structured.json).get("role", role)
        elif part.WhichOneof("kind") == "structured" and part.structured.type == WHOLE_ATTACHMENTS:
            attachments = _parse(part.structured.json)
        elif part.WhichOneof("kind") == "structured" and part.structured.type == WHOLE_BODY:
            whole_body = _parse(part.structured.json)
        else:
            parts.append(legacy_part(part))
    return {
        "role": role,
        "parts": parts if whole_body is _NOTHING else whole_body,
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
