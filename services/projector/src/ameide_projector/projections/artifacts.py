"""Projections of an artifact's stream: the artifact row, its versions, its history, links and feed updates.

An artifact's version (``rm_artifacts.version``, ``rm_artifact_versions``, ``ArtifactUpdate.version``) counts its
content and metadata changes only: 1 on creation, +1 per ``ArtifactContentUpdatedEvent`` or
``ArtifactMetadataUpdatedEvent``; links, unlinks, annotations and deletion keep it. It is what the command side
checks ``expected_version`` against. History entries stay keyed by the stream version (one per event); the query
side derives each entry's artifact version from the entry types.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as ev
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types
from ameide_core_proto.threads.v1 import threads_types_pb2 as chat_types
from ameide_projector.projections.effects import (
    AddArtifactVersion,
    AddHistory,
    Effect,
    Link,
    MissingStateError,
    PutArtifact,
    Unlink,
)
from ameide_projector.projections.envelope import Envelope
from ameide_projector.projections.envelope import payload_as as _cast
from ameide_projector.projections.protos import artifact_update
from ameide_readmodel.artifacts import ArtifactRow, ArtifactVersionRow, HistoryRow
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.links import LinkRow
from ameide_readmodel.timestamps import timestamp

# History entry types (ArtifactHistoryEntry.event_type), in the spec's vocabulary.
CREATED = "created"
MODIFIED = "modified"
METADATA_CHANGED = "metadata_changed"
THREADS_LINKED = "threads_linked"
THREADS_UNLINKED = "threads_unlinked"
DELETED = "deleted"
ANNOTATED = "annotated"


def _history(event: Envelope, kind: str, metadata: Mapping[str, str] | None = None, chat_id: str = "") -> AddHistory:
    return AddHistory(
        HistoryRow(
            artifact_id=event.stream_id,
            version=event.version,
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            event_type=kind,
            occurred_at=event.occurred_at,
            user_id=event.user_id,
            chat_id=uuid.UUID(chat_id) if chat_id else None,
            metadata=dict(metadata or {}),
        )
    )


def _version(row: ArtifactRow, *, content: bool) -> AddArtifactVersion:
    return AddArtifactVersion(
        ArtifactVersionRow(
            artifact_id=row.id,
            version=row.version,
            tenant_id=row.tenant_id,
            title=row.title,
            labels=dict(row.labels),
            mime=row.mime if content else None,
            body=row.body if content else None,
            changed_at=row.updated_at,
        )
    )


def _created(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    del artifact, chats  # created once; the version guard drops replays
    payload = _cast(event, ev.ArtifactCreatedEvent)
    row = ArtifactRow(
        id=event.stream_id,
        tenant_id=event.tenant_id,
        owner=payload.user_id or event.user_id,
        title=payload.title,
        kind=payload.kind,
        labels=dict(payload.labels),
        version=1,
        mime=payload.content.mime_type,
        body=payload.content.body,
        primary_chat_id=uuid.UUID(payload.primary_threads_id) if payload.primary_threads_id else None,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        deleted=False,
    )
    details = {"title": row.title, "kind": row.kind, "mime_type": row.mime, "size_bytes": str(len(row.body or b""))}
    return [
        PutArtifact(row),
        _version(row, content=True),
        _history(event, CREATED, details, chat_id=payload.primary_threads_id),
    ]


def _content_updated(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    del chats
    payload = _cast(event, ev.ArtifactContentUpdatedEvent)
    row = _touch(event, artifact, new_version=True, mime=payload.content.mime_type, body=payload.content.body)
    details = {"mime_type": row.mime, "size_bytes": str(len(payload.content.body))}
    update = svc.ArtifactUpdate(content_updated=payload.content)
    return [
        PutArtifact(row),
        _version(row, content=True),
        _history(event, MODIFIED, details, chat_id=payload.threads_id),
        artifact_update(event, update, row.version),
    ]


def _metadata_updated(
    event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]
) -> list[Effect]:
    del chats
    payload = _cast(event, ev.ArtifactMetadataUpdatedEvent)
    # The event carries the complete result (title and labels after the change).
    row = _touch(event, artifact, new_version=True, title=payload.title, labels=dict(payload.labels))
    details = {
        "title": row.title,
        "old_title": payload.old_title,
        "labels": json.dumps(dict(row.labels), sort_keys=True),
    }
    update = svc.ArtifactUpdate(metadata_changed=types.ArtifactMetadata(title=row.title, labels=dict(row.labels)))
    return [
        PutArtifact(row),
        _version(row, content=False),
        _history(event, METADATA_CHANGED, details),
        artifact_update(event, update, row.version),
    ]


def _chat_linked(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    payload = _cast(event, ev.ArtifactChatLinkedEvent)
    row = _touch(event, artifact)
    relation = payload.relation_type or chat_types.RELATION_TYPE_REFERENCED
    chat_id = uuid.UUID(payload.threads_id)
    link = LinkRow(
        chat_id=chat_id,
        artifact_id=event.stream_id,
        tenant_id=event.tenant_id,
        relation_type=int(relation),
        linked_at=event.occurred_at,
        linked_by=event.user_id,
    )
    chat = chats.get(chat_id)
    # The chat's row may not be projected yet (a chat created in the same command, whose events can be in a later
    # batch or on another shard): the title is then empty here. Subscribers never see that: the query service sends
    # this update only to callers who may read the chat, with its title read when it is sent (waiting a moment for
    # a chat that is not in the read model yet).
    reference = types.ChatReference(
        threads_id=payload.threads_id,
        threads_title=chat.title if chat is not None else "",
        relation_type=relation,
        linked_at=timestamp(event.occurred_at),
    )
    details = {"relation_type": chat_types.RelationType.Name(relation)}
    return [
        PutArtifact(row),
        Link(link),
        _history(event, THREADS_LINKED, details, chat_id=payload.threads_id),
        artifact_update(event, svc.ArtifactUpdate(threads_added=reference), row.version),
    ]


def _chat_unlinked(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    payload = _cast(event, ev.ArtifactChatUnlinkedEvent)
    chat_id = uuid.UUID(payload.threads_id)
    update = svc.ArtifactUpdate(threads_removed=types.ChatReferenceRemoved(threads_id=payload.threads_id))
    row = _touch(event, artifact)
    # Who could see the chat listed here until now: they, and only they, learn that it is gone.
    chat = chats.get(chat_id)
    before = chat.visibility if chat is not None else 0
    return [
        PutArtifact(row),
        Unlink(chat_id=chat_id, artifact_id=event.stream_id),
        _history(event, THREADS_UNLINKED, chat_id=payload.threads_id),
        artifact_update(event, update, row.version, chat_visibility_before=before),
    ]


def _deleted(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    del chats
    update = svc.ArtifactUpdate(deleted=types.ArtifactDeleted(artifact_id=event.stream_key))
    row = _touch(event, artifact, deleted=True)
    return [
        PutArtifact(row),
        _history(event, DELETED),
        artifact_update(event, update, row.version),
    ]


def _annotated(event: Envelope, artifact: ArtifactRow | None, chats: Mapping[uuid.UUID, ChatRow]) -> list[Effect]:
    del chats
    payload = _cast(event, ev.ArtifactAnnotatedEvent)
    details = {**dict(payload.data), "annotation_type": payload.annotation_type}
    return [PutArtifact(_touch(event, artifact)), _history(event, ANNOTATED, details, chat_id=payload.threads_id)]


def _touch(
    event: Envelope, artifact: ArtifactRow | None, *, new_version: bool = False, **changes: object
) -> ArtifactRow:
    """The artifact after ``event``: every event advances the update time, content/metadata changes the version."""
    if artifact is None:
        raise MissingStateError(f"{event.event_type} for artifact {event.stream_id}, which was never created")
    version = artifact.version + 1 if new_version else artifact.version
    return dataclasses.replace(artifact, version=version, updated_at=event.occurred_at, **changes)  # type: ignore[arg-type]


ArtifactProjection = Callable[[Envelope, ArtifactRow | None, Mapping[uuid.UUID, ChatRow]], list[Effect]]

ARTIFACT_PROJECTIONS: dict[str, ArtifactProjection] = {
    ev.ArtifactCreatedEvent.DESCRIPTOR.full_name: _created,
    ev.ArtifactContentUpdatedEvent.DESCRIPTOR.full_name: _content_updated,
    ev.ArtifactMetadataUpdatedEvent.DESCRIPTOR.full_name: _metadata_updated,
    ev.ArtifactChatLinkedEvent.DESCRIPTOR.full_name: _chat_linked,
    ev.ArtifactChatUnlinkedEvent.DESCRIPTOR.full_name: _chat_unlinked,
    ev.ArtifactDeletedEvent.DESCRIPTOR.full_name: _deleted,
    ev.ArtifactAnnotatedEvent.DESCRIPTOR.full_name: _annotated,
}
