"""A legacy chat and its messages -> the events of its chat stream.

Order: ChatCreatedEvent, then the messages by (createdAt, id), each followed by an ArtifactAssociatedEvent for every
document its tool calls touched first in this chat (relation: the strongest over the chat's calls, CREATED >
MODIFIED > REFERENCED). A chat whose messages are in "Message_v2" was migrated by the legacy app: its rows in the
older "Message" table are copies (same ids) or tool rows merged into the v2 messages, so they are skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from ameide_cli.legacy import ids
from ameide_cli.legacy.parts import map_message
from ameide_cli.legacy.plan import CHAT_LINKS, Planned, StreamPlan
from ameide_cli.legacy.refs import STRENGTH, DocumentRef, Relation, document_refs
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import ChatRow, MessageRow
from ameide_cli.legacy.text import Notes
from ameide_core_proto.threads.v1 import threads_events_pb2 as events_pb2
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

VISIBILITY = {"private": types_pb2.CHAT_VISIBILITY_PRIVATE, "public": types_pb2.CHAT_VISIBILITY_PUBLIC}
SUPERSEDED = "chat migrated to Message_v2: older-format row superseded"


@dataclass(slots=True)
class ChatResult:
    """A chat's stream plan and the document references found in its messages."""

    plan: StreamPlan
    refs: list[DocumentRef] = field(default_factory=list)


def visibility(chat: ChatRow, report: Report) -> types_pb2.ChatVisibility.ValueType:
    """'private' -> PRIVATE, 'public' -> PUBLIC; anything else is normalised to PRIVATE (the safe choice)."""
    mapped = VISIBILITY.get(chat.visibility.strip().lower())
    if mapped is None:
        report.normalise("Chat", str(chat.id), f"visibility {chat.visibility!r} -> PRIVATE")
        return types_pb2.CHAT_VISIBILITY_PRIVATE
    return mapped


def choose_messages(chat_id: uuid.UUID, rows: list[MessageRow], report: Report) -> list[MessageRow]:
    """The rows to import for one chat, in order; the others are reported as skipped."""
    has_v2 = any(row.table == "Message_v2" for row in rows)
    chosen: list[MessageRow] = []
    seen: set[uuid.UUID] = set()
    for row in sorted(rows, key=lambda r: (r.created_at, r.table != "Message_v2", r.id)):
        if has_v2 and row.table == "Message":
            report.skip(row.table, row.key, SUPERSEDED)
        elif row.id in seen:
            report.skip(row.table, row.key, "duplicate message id")
        else:
            seen.add(row.id)
            chosen.append(row)
    del chat_id
    return chosen


def plan_chat(
    chat: ChatRow, rows: list[MessageRow], *, tenant_id: str, documents: Collection[uuid.UUID], report: Report
) -> ChatResult:
    """The chat stream's events (see the module docstring)."""
    owner = str(chat.user_id)
    notes = Notes()
    created = events_pb2.ChatCreatedEvent(
        threads_id=str(chat.id),
        user_id=owner,
        title=notes.text("title", chat.title),
        visibility=visibility(chat, report),
        tenant_id=tenant_id,
        metadata=types_pb2.ChatMetadata(),
    )
    for what in notes:
        report.normalise("Chat", str(chat.id), what)
    plan = StreamPlan(chat.id, "chat")
    plan.events.append(
        Planned(ids.event_id("Chat", str(chat.id), "created"), created, chat.created_at, owner, "Chat", str(chat.id))
    )
    result = ChatResult(plan)
    messages = choose_messages(chat.id, rows, report)
    per_message: list[list[DocumentRef]] = []
    for row in messages:
        mapped = map_message(row)
        for what in mapped.normalised:
            report.normalise(row.table, row.key, what)
        message = types_pb2.ChatMessage(
            id=str(row.id),
            threads_id=str(chat.id),
            role=mapped.role,
            parts=mapped.parts,
            attachments=mapped.attachments,
            tenant_id=tenant_id,
            user_id=owner,
        )
        message.created_at.FromDatetime(row.created_at)
        payload = events_pb2.MessageSentEvent(message_id=str(row.id), threads_id=str(chat.id), message=message)
        event_id = ids.event_id(row.table, str(row.id), "sent")
        plan.events.append(Planned(event_id, payload, row.created_at, owner, row.table, row.key))
        refs = document_refs(mapped.parsed, chat_id=chat.id, message_id=row.id, at=row.created_at, user_id=owner)
        per_message.append(refs)
        result.refs.extend(refs)
    _plan_links(plan, per_message, documents, report)
    return result


def _plan_links(
    plan: StreamPlan, per_message: list[list[DocumentRef]], documents: Collection[uuid.UUID], report: Report
) -> None:
    strongest: dict[uuid.UUID, Relation] = {}
    for ref in (ref for refs in per_message for ref in refs):
        known = strongest.get(ref.document_id)
        if known is None or STRENGTH[ref.relation] > STRENGTH[known]:
            strongest[ref.document_id] = ref.relation
    linked: set[uuid.UUID] = set()
    events = plan.events
    plan.events = events[:1]
    for message_event, refs in zip(events[1:], per_message, strict=True):
        plan.events.append(message_event)
        for ref in refs:
            key = f"{ref.chat_id}->{ref.document_id}"
            if ref.document_id in linked:
                continue
            linked.add(ref.document_id)
            report.read(CHAT_LINKS)
            if ref.document_id not in documents:
                report.skip(
                    CHAT_LINKS,
                    f"{key} (message {ref.message_id})",
                    "tool call names a document that does not exist or is not importable",
                )
                continue
            payload = events_pb2.ArtifactAssociatedEvent(
                threads_id=str(ref.chat_id), artifact_id=str(ref.document_id), relation_type=strongest[ref.document_id]
            )
            event_id = ids.event_id("link", key, "associated")
            plan.events.append(Planned(event_id, payload, ref.at, message_event.user_id, CHAT_LINKS, key))
