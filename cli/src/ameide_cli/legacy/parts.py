"""Legacy message bodies -> contract message parts and attachments, losslessly.

A legacy part becomes a dedicated contract type only when that type reproduces it exactly (``legacy_form`` gives
it back); everything else becomes a ``StructuredPart`` carrying the part's original JSON text byte for byte.
Synthetic structured parts (type ``x-legacy-*``) keep what has no place in a message, always after the parts:

- ``x-legacy-parts``: the whole body when it is not a JSON array (or not JSON at all), verbatim;
- ``x-legacy-attachments``: the whole attachments column when any entry is not ``{name, url, contentType}``;
- ``x-legacy-role``: ``{"role": <original>}`` when the role was normalised (see ``normalise_role``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from ameide_cli.legacy.jsontext import NotAnArrayError, split_array
from ameide_cli.legacy.rows import MessageRow
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

ROLES = frozenset({"user", "assistant", "system"})
WHOLE_BODY = "x-legacy-parts"
WHOLE_ATTACHMENTS = "x-legacy-attachments"
ORIGINAL_ROLE = "x-legacy-role"
_ATTACHMENT_KEYS = frozenset({"name", "url", "contentType"})


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
    result = MappedMessage(role=normalise_role(row.role), parts=[], attachments=[])
    _map_body(row, result)
    if row.attachments is not None:
        _map_attachments(row.attachments, result)
    if result.role != row.role:
        result.normalised.append(f"role {row.role!r} -> {result.role!r}")
        result.parts.append(_structured(ORIGINAL_ROLE, json.dumps({"role": row.role}, ensure_ascii=False)))
    return result


def _map_body(row: MessageRow, result: MappedMessage) -> None:
    try:
        elements = split_array(row.body)
    except NotAnArrayError as error:
        if row.table == "Message" and isinstance(error.value, str):
            # The older format stored a plain string for a message that is just text.
            result.parts.append(types_pb2.MessagePart(text=types_pb2.TextPart(text=error.value)))
            return
        result.normalised.append("body is not a JSON array: kept whole")
        result.parts.append(_structured(WHOLE_BODY, row.body))
        return
    except ValueError:
        result.normalised.append("body is not valid JSON: kept whole")
        result.parts.append(_structured(WHOLE_BODY, row.body))
        return
    for text in elements:
        value = json.loads(text)
        result.parsed.append(value)
        part = map_part(text, value)
        if part.WhichOneof("kind") == "structured" and not part.structured.type:
            result.normalised.append("part without a type: kept verbatim")
        result.parts.append(part)


def map_part(text: str, value: Any) -> types_pb2.MessagePart:  # noqa: ANN401 - any JSON value
    """One legacy part (its verbatim text and parsed value) -> a contract part."""
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        return _structured("", text)
    if kind == "text" and _is_plain_text(value):
        return types_pb2.MessagePart(text=types_pb2.TextPart(text=value["text"]))
    if kind == "file":
        image = _image(value)
        if image is not None:
            return types_pb2.MessagePart(image=image)
    return _structured(kind, text)


def _is_plain_text(value: dict[str, Any]) -> bool:
    # "state": "done" only says streaming had finished, which every stored message has: it is implied.
    extra = set(value) - {"type", "text"}
    return isinstance(value.get("text"), str) and (not extra or (extra == {"state"} and value["state"] == "done"))


def _image(value: dict[str, Any]) -> types_pb2.ImagePart | None:
    keys = set(value)
    if keys == {"type", "mediaType", "url"} and _is_image(value["mediaType"]) and isinstance(value["url"], str):
        return types_pb2.ImagePart(url=value["url"], mime_type=value["mediaType"])
    if keys == {"type", "mimeType", "data"} and _is_image(value["mimeType"]) and isinstance(value["data"], str):
        data = _canonical_base64(value["data"])
        if data is not None:
            return types_pb2.ImagePart(data=data, mime_type=value["mimeType"])
    return None


def _is_image(mime: object) -> bool:
    return isinstance(mime, str) and mime.startswith("image/")


def _canonical_base64(text: str) -> bytes | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode() == text else None


def _map_attachments(text: str, result: MappedMessage) -> None:
    try:
        values = [json.loads(item) for item in split_array(text)]
    except ValueError:
        values = None
    if values is not None and all(isinstance(v, dict) and _attachment_fits(v) for v in values):
        result.attachments.extend(
            types_pb2.Attachment(name=v["name"], mime_type=v["contentType"], uri=v["url"]) for v in values
        )
        return
    result.normalised.append("attachments not all {name, url, contentType}: kept whole")
    result.parts.append(_structured(WHOLE_ATTACHMENTS, text))


def _attachment_fits(value: dict[str, Any]) -> bool:
    return set(value) == _ATTACHMENT_KEYS and all(isinstance(value[key], str) for key in _ATTACHMENT_KEYS)


def _structured(kind: str, text: str) -> types_pb2.MessagePart:
    return types_pb2.MessagePart(structured=types_pb2.StructuredPart(type=kind, json=text))
