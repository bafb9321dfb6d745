"""Relationships from history: which documents a message's tool calls created, modified or read.

The legacy app's document tools leave their document id in the message parts, in one of three shapes:

- AI SDK 5 tool parts: ``{"type": "tool-createDocument", "input": {...}, "output": {"id": ...}}``
  (also ``tool-updateDocument`` with ``input.id`` and ``tool-requestSuggestions`` with ``input.documentId``);
- AI SDK 4 parts: ``{"type": "tool-invocation", "toolInvocation": {"toolName", "args", "result"}}``;
- the older "Message" content: ``tool-call`` parts (``args``) and ``tool-result`` parts (``result``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, TypeAlias

from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

Relation: TypeAlias = types_pb2.RelationType.ValueType
CREATED: Relation = types_pb2.RELATION_TYPE_CREATED
MODIFIED: Relation = types_pb2.RELATION_TYPE_MODIFIED
REFERENCED: Relation = types_pb2.RELATION_TYPE_REFERENCED

_RELATION_BY_TOOL: dict[str, Relation] = {
    "createDocument": CREATED,
    "updateDocument": MODIFIED,
    "requestSuggestions": REFERENCED,
}
# Strongest first: a chat that created a document and later edited it is the document's creator.
STRENGTH: dict[Relation, int] = {CREATED: 3, MODIFIED: 2, REFERENCED: 1}


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A tool call in a chat's message that touched a document."""

    document_id: uuid.UUID
    chat_id: uuid.UUID
    message_id: uuid.UUID
    at: dt.datetime
    relation: Relation
    user_id: str


def _tool_call(part: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """(tool name, input, output) of a tool part in any of the three shapes, else ``None``."""
    kind = part.get("type")
    if not isinstance(kind, str):
        return None
    if kind.startswith("tool-") and kind not in {"tool-invocation", "tool-call", "tool-result"}:
        return kind.removeprefix("tool-"), part.get("input"), part.get("output")
    if kind == "tool-invocation" and isinstance(part.get("toolInvocation"), dict):
        invocation = part["toolInvocation"]
        return str(invocation.get("toolName", "")), invocation.get("args"), invocation.get("result")
    if kind == "tool-call":
        return str(part.get("toolName", "")), part.get("args"), None
    if kind == "tool-result":
        return str(part.get("toolName", "")), None, part.get("result")
    return None


def _uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _document_id(tool: str, given: Any, output: Any) -> uuid.UUID | None:  # noqa: ANN401 - parsed JSON
    # The output names the document actually touched; a createDocument call without output created nothing.
    if isinstance(output, dict) and "error" not in output and _uuid(output.get("id")) is not None:
        return _uuid(output.get("id"))
    if tool == "createDocument" or not isinstance(given, dict) or isinstance(output, dict):
        return None
    return _uuid(given.get("id")) or _uuid(given.get("documentId"))


def document_refs(
    parsed_parts: list[Any], *, chat_id: uuid.UUID, message_id: uuid.UUID, at: dt.datetime, user_id: str
) -> list[DocumentRef]:
    """Every document a message's tool calls touched, in part order (``user_id``: the chat's owner)."""
    refs: list[DocumentRef] = []
    for part in parsed_parts:
        call = _tool_call(part) if isinstance(part, dict) else None
        if call is None or call[0] not in _RELATION_BY_TOOL:
            continue
        document_id = _document_id(*call)
        if document_id is not None:
            refs.append(DocumentRef(document_id, chat_id, message_id, at, _RELATION_BY_TOOL[call[0]], user_id))
    return refs
