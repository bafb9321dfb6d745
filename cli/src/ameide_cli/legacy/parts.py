"""Legacy message bodies -> contract message parts and attachments, losslessly.

``bodies`` reads what a message's columns say (every shape, after the text policy); this module maps it. A legacy
part becomes a dedicated contract type only when that type reproduces it (``canonical.legacy_part`` gives it back);
everything else becomes a ``StructuredPart`` carrying the part's original JSON text byte for byte. Synthetic
structured parts (type ``x-legacy-*``) keep what has no place in a message, always after the parts:

- ``x-legacy-parts``: the whole body, verbatim, when no parts could be read from it (then alone), or when the parts
  were recovered from another shape or a dedicated part no longer gives its original back (normalised text);
- ``x-legacy-attachments``: the whole attachments column, verbatim, when an entry is not ``{name, url,
  contentType}`` (then instead of attachments), or when the attachments were recovered or their text normalised;
- ``x-legacy-role``: ``{"role": <original>}`` when the role was normalised (see ``normalise_role``).

A legacy part whose own type starts with ``x-legacy-`` is stored as type ``x-legacy-type`` (its JSON verbatim), so
it is never taken for one of these.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from ameide_cli.legacy import bodies, jsontext
from ameide_cli.legacy.rows import MessageRow
from ameide_cli.legacy.text import Notes
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

ROLES = frozenset({"user", "assistant", "system"})
WHOLE_BODY = "x-legacy-parts"
WHOLE_ATTACHMENTS = "x-legacy-attachments"
ORIGINAL_ROLE = "x-legacy-role"
# Synthetic parts own the "x-legacy-" types: a legacy part of such a type is stored under this one (JSON verbatim).
RESERVED_PREFIX = "x-legacy-"
RESERVED_TYPE = "x-legacy-type"


@dataclass(slots=True)
class MappedMessage:
    """A legacy message in contract terms, with what had to be normalised (empty = imported as it was)."""

    role: str
    parts: list[types_pb2.MessagePart]
    attachments: list[types_pb2.Attachment]
    parsed: list[Any] = field(default_factory=list)
    normalised: list[str] = field(default_factory=list)


def normalise_role(role: str) -> str:
    """The contract role of a legacy role.

    user/assistant/system (any case, spaces trimmed) are kept; every other role ("tool", "data", "function",
    unknown) was produced on the model's side of the conversation and becomes "assistant".
    """
    cleaned = role.strip().lower()
    return cleaned if cleaned in ROLES else "assistant"


def map_message(row: MessageRow) -> MappedMessage:
    """Map a legacy message's role, body and attachments."""
    notes = Notes()
    result = MappedMessage(role=normalise_role(notes.text("role", row.role)), parts=[], attachments=[])
    body = bodies.read_parts(row.table, row.body, notes)
    _map_body(body, result)
    if row.attachments is not None:
        _map_attachments(bodies.read_attachments(row.attachments, notes), result)
    if result.role != row.role:
        # The original's escapes keep every code point (a lone surrogate too) in valid UTF-8.
        notes.add("role", f"{row.role!r} -> {result.role!r}")
        result.parts.append(_structured(ORIGINAL_ROLE, jsontext.dumps({"role": row.role})))
    result.normalised.extend(notes)
    return result


def _map_body(body: bodies.Read, result: MappedMessage) -> None:
    if body.items is None:
        result.parts.append(_structured(WHOLE_BODY, body.text))
        return
    keep_whole = body.recovered
    for item in body.items:
        result.parsed.append(item.value)
        part = map_part(item)
        keep_whole = keep_whole or (item.changed and part.WhichOneof("kind") != "structured")
        result.parts.append(part)
    if keep_whole:
        result.parts.append(_structured(WHOLE_BODY, body.text))


def map_part(part: bodies.Part) -> types_pb2.MessagePart:
    """One legacy part (as read) -> a contract part."""
    value = part.value
    if bodies.is_text(value):
        return types_pb2.MessagePart(text=types_pb2.TextPart(text=value["text"]))
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "file":
        image = _image(value)
        if image is not None:
            return types_pb2.MessagePart(image=image)
    # The part's own text when it was an array element; otherwise (recovered) its value, every code point kept.
    original = part.text if part.text is not None else jsontext.dumps(part.raw)
    kind = kind if isinstance(kind, str) else ""
    return _structured(RESERVED_TYPE if kind.startswith(RESERVED_PREFIX) else kind, original)


def _image(value: dict[str, Any]) -> types_pb2.ImagePart | None:
    keys = set(value)
    # An empty url would read back as an image given by (empty) data: such a part is kept verbatim instead.
    if keys == {"type", "mediaType", "url"} and _is_image(value["mediaType"]) and _is_text(value["url"]):
        return types_pb2.ImagePart(url=value["url"], mime_type=value["mediaType"])
    if keys == {"type", "mimeType", "data"} and _is_image(value["mimeType"]) and isinstance(value["data"], str):
        data = _canonical_base64(value["data"])
        if data is not None:
            return types_pb2.ImagePart(data=data, mime_type=value["mimeType"])
    return None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _is_image(mime: object) -> bool:
    return isinstance(mime, str) and mime.startswith("image/")


def _canonical_base64(text: str) -> bytes | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode() == text else None


def _map_attachments(read: bodies.Read, result: MappedMessage) -> None:
    entries = read.items
    if entries is None or not all(bodies.fits(entry.value) for entry in entries):
        result.parts.append(_structured(WHOLE_ATTACHMENTS, read.text))
        return
    result.attachments.extend(
        types_pb2.Attachment(name=e.value["name"], mime_type=e.value["contentType"], uri=e.value["url"])
        for e in entries
    )
    if read.recovered or any(entry.changed for entry in entries):
        result.parts.append(_structured(WHOLE_ATTACHMENTS, read.text))


def _structured(kind: str, text: str) -> types_pb2.MessagePart:
    return types_pb2.MessagePart(structured=types_pb2.StructuredPart(type=kind, json=text))
