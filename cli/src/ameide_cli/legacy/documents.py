"""A legacy document (its versions), its suggestions and the tool calls that touched it -> its artifact stream.

Order: ArtifactCreatedEvent (first version; primary chat = the chat whose createDocument call made it), then by
time: each later version (an ArtifactMetadataUpdatedEvent first when its title changed, then an
ArtifactContentUpdatedEvent naming the chat whose updateDocument call made it, if any), an ArtifactChatLinkedEvent
per chat that touched it, and an ArtifactAnnotatedEvent ("suggestion") per suggestion.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from ameide_cli.legacy import ids
from ameide_cli.legacy.plan import ARTIFACT_LINKS, Planned, StreamPlan
from ameide_cli.legacy.refs import CREATED, MODIFIED, REFERENCED, STRENGTH, DocumentRef, Relation
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import DocumentRow, SuggestionRow
from ameide_cli.legacy.text import Notes
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as events_pb2
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types_pb2

# The legacy kinds and the content they hold (the template's code artifacts are Python; images are base64 PNG).
MIME_BY_KIND = {"text": "text/markdown", "code": "text/x-python", "sheet": "text/csv", "image": "image/png"}
TEXT_FALLBACK = "text/plain; charset=utf-8"

_ORDER_VERSION, _ORDER_LINK, _ORDER_SUGGESTION = 0, 1, 2
TITLES = "document title changes"
R = TypeVar("R", DocumentRow, SuggestionRow)


def fit_version(row: DocumentRow, notes: Notes) -> DocumentRow:
    """The version with its title, kind and content through the text policy."""
    return dataclasses.replace(
        row,
        title=notes.text("title", row.title),
        content=None if row.content is None else notes.text("content", row.content),
        kind=notes.text("kind", row.kind),
    )


def fit_suggestion(row: SuggestionRow, notes: Notes) -> SuggestionRow:
    """The suggestion with its texts through the text policy."""
    return dataclasses.replace(
        row,
        original_text=notes.text("originalText", row.original_text),
        suggested_text=notes.text("suggestedText", row.suggested_text),
        description=None if row.description is None else notes.text("description", row.description),
    )


def _fitted(
    rows: list[R], fit: Callable[[R, Notes], R], table: str, key: Callable[[R], str], report: Report
) -> list[R]:
    """``rows`` through ``fit``, each change reported as a normalisation of its row."""
    fitted = []
    for row in rows:
        notes = Notes()
        fitted.append(fit(row, notes))
        for what in notes:
            report.normalise(table, key(row), what)
    return fitted


def content(row: DocumentRow, report: Report) -> types_pb2.ArtifactContent:
    """The version's body: text as UTF-8, images decoded from base64 (kept as text when not canonical base64)."""
    text = row.content
    if text is None:
        report.normalise("Document", row.key, "content NULL -> empty body")
        text = ""
    if row.kind == "image":
        data = _base64(text)
        if data is not None:
            return types_pb2.ArtifactContent(mime_type="image/png", body=data)
        report.normalise("Document", row.key, "image content is not base64: kept as text")
        return types_pb2.ArtifactContent(mime_type=TEXT_FALLBACK, body=text.encode())
    if row.kind not in MIME_BY_KIND:
        report.normalise("Document", row.key, f"unknown kind {row.kind!r}: kind kept, body as text/plain")
    return types_pb2.ArtifactContent(mime_type=MIME_BY_KIND.get(row.kind, TEXT_FALLBACK), body=text.encode())


def _base64(text: str) -> bytes | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode() == text else None


def plan_document(
    versions: list[DocumentRow],
    suggestions: list[SuggestionRow],
    refs: list[DocumentRef],
    *,
    tenant_id: str,
    report: Report,
) -> StreamPlan:
    """The artifact stream's events (see the module docstring)."""
    versions = _fitted(versions, fit_version, "Document", lambda row: row.key, report)
    suggestions = _fitted(suggestions, fit_suggestion, "Suggestion", lambda row: f"Suggestion/{row.id}", report)
    first = versions[0]
    creators = sorted((ref for ref in refs if ref.relation == CREATED), key=lambda ref: (ref.at, ref.chat_id))
    created = events_pb2.ArtifactCreatedEvent(
        artifact_id=str(first.id),
        tenant_id=tenant_id,
        user_id=str(first.user_id),
        title=first.title,
        kind=first.kind,
        content=content(first, report),
        primary_threads_id=str(creators[0].chat_id) if creators else "",
    )
    plan = StreamPlan(first.id, "artifact")
    first_key = first.key
    plan.events.append(
        Planned(
            ids.event_id("Document", first_key, "created"),
            created,
            first.created_at,
            str(first.user_id),
            "Document",
            first_key,
        )
    )
    timeline: list[tuple[dt.datetime, int, str, list[Planned]]] = []
    timeline += _versions(versions, refs, report)
    timeline += _links(first, refs, report)
    timeline += _suggestions(first, suggestions, refs, {v.created_at for v in versions}, report)
    for *_, planned in sorted(timeline, key=lambda item: item[:3]):
        plan.events.extend(planned)
    return plan


def _versions(
    versions: list[DocumentRow], refs: list[DocumentRef], report: Report
) -> list[tuple[dt.datetime, int, str, list[Planned]]]:
    modifiers = sorted((ref for ref in refs if ref.relation == MODIFIED), key=lambda ref: (ref.at, ref.chat_id))
    used: set[int] = set()
    items = []
    for index, row in enumerate(versions[1:], start=1):
        previous = versions[index - 1]
        until = versions[index + 1].created_at if index + 1 < len(versions) else dt.datetime.max.replace(tzinfo=dt.UTC)
        # The updateDocument call that produced this version is saved (with its message) after the version row.
        match = next((i for i, ref in enumerate(modifiers) if i not in used and row.created_at <= ref.at < until), None)
        chat_id = ""
        if match is not None:
            used.add(match)
            chat_id = str(modifiers[match].chat_id)
        if row.kind != versions[0].kind:
            report.normalise("Document", row.key, f"kind changed {versions[0].kind!r} -> {row.kind!r}: first kind kept")
        planned = []
        if row.title != previous.title:
            meta = events_pb2.ArtifactMetadataUpdatedEvent(
                artifact_id=str(row.id), title=row.title, old_title=previous.title
            )
            report.read(TITLES)
            planned.append(_planned(row, meta, "retitled", table=TITLES))
        update = events_pb2.ArtifactContentUpdatedEvent(
            artifact_id=str(row.id), content=content(row, report), threads_id=chat_id
        )
        planned.append(_planned(row, update, "content_updated", table="Document"))
        items.append((row.created_at, _ORDER_VERSION, row.key, planned))
    return items


def _planned(row: DocumentRow, payload: Message, kind: str, *, table: str) -> Planned:
    return Planned(ids.event_id("Document", row.key, kind), payload, row.created_at, str(row.user_id), table, row.key)


def _links(
    first: DocumentRow, refs: list[DocumentRef], report: Report
) -> list[tuple[dt.datetime, int, str, list[Planned]]]:
    by_chat: dict[str, tuple[DocumentRef, Relation]] = {}
    for ref in sorted(refs, key=lambda ref: (ref.at, ref.message_id)):
        key = str(ref.chat_id)
        earliest, relation = by_chat.get(key, (ref, ref.relation))
        by_chat[key] = (earliest, relation if STRENGTH[relation] >= STRENGTH[ref.relation] else ref.relation)
    items = []
    for chat_id, (ref, relation) in by_chat.items():
        key = f"{chat_id}->{first.id}"
        report.read(ARTIFACT_LINKS)
        payload = events_pb2.ArtifactChatLinkedEvent(
            artifact_id=str(first.id), threads_id=chat_id, relation_type=relation
        )
        at = max(ref.at, first.created_at)
        planned = Planned(ids.event_id("link", key, "linked"), payload, at, ref.user_id, ARTIFACT_LINKS, key)
        items.append((at, _ORDER_LINK, key, [planned]))
    return items


def _suggestions(
    first: DocumentRow,
    suggestions: list[SuggestionRow],
    refs: list[DocumentRef],
    version_times: set[dt.datetime],
    report: Report,
) -> list[tuple[dt.datetime, int, str, list[Planned]]]:
    readers = sorted((ref for ref in refs if ref.relation == REFERENCED), key=lambda ref: (ref.at, ref.chat_id))
    items = []
    for row in suggestions:
        key = f"Suggestion/{row.id}"
        if row.document_created_at not in version_times:
            report.normalise("Suggestion", key, "names a document version that does not exist: kept on the document")
        # requestSuggestions saves its suggestions first, then its message: the first such call at or after them.
        reader = next((ref for ref in readers if ref.at >= row.created_at), None)
        payload = events_pb2.ArtifactAnnotatedEvent(
            artifact_id=str(first.id),
            annotation_type="suggestion",
            data=suggestion_data(row),
            threads_id=str(reader.chat_id) if reader else "",
        )
        at = max(row.created_at, first.created_at)
        planned = Planned(
            ids.event_id("Suggestion", str(row.id), "annotated"), payload, at, str(row.user_id), "Suggestion", key
        )
        items.append((at, _ORDER_SUGGESTION, key, [planned]))
    return items


def suggestion_data(row: SuggestionRow) -> dict[str, str]:
    """A suggestion's fields as annotation data (``description`` only when not NULL)."""
    data = {
        "suggestion_id": str(row.id),
        "original_text": row.original_text,
        "suggested_text": row.suggested_text,
        "is_resolved": "true" if row.is_resolved else "false",
        "document_created_at": ids.occurred_at(row.document_created_at),
        "user_id": str(row.user_id),
        "created_at": ids.occurred_at(row.created_at),
    }
    if row.description is not None:
        data["description"] = row.description
    return data


def legacy_text(body: types_pb2.ArtifactContent) -> str:
    """The legacy ``content`` text of an imported body (verification; bytes that are not UTF-8 stay told apart)."""
    if body.mime_type == "image/png":
        return base64.b64encode(body.body).decode()
    return body.body.decode("utf-8", "surrogateescape")
