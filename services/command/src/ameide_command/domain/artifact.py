"""The artifact aggregate: deciders and ``evolve``. Every tenant user reads, links and edits; the owner deletes."""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf.message import Message

from ameide_command.domain import access
from ameide_command.domain.commands import (
    CreateArtifact,
    DeleteArtifact,
    UpdateArtifactContent,
    UpdateArtifactMetadata,
)
from ameide_command.domain.errors import VersionConflictError
from ameide_command.domain.model import Actor, ArtifactState, Happened
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as events_pb2
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types_pb2


def create(command: CreateArtifact, actor: Actor) -> events_pb2.ArtifactCreatedEvent:
    """The event creating an artifact owned by ``actor`` (version 1)."""
    return events_pb2.ArtifactCreatedEvent(
        artifact_id=command.artifact_id,
        tenant_id=actor.tenant_id,
        user_id=actor.user_id,
        title=command.title,
        kind=command.kind,
        labels=dict(command.labels),
        content=command.content or types_pb2.ArtifactContent(),
        primary_threads_id=command.primary_chat_id,
    )


def check_version(artifact: ArtifactState, expected: int | None) -> None:
    """Optimistic concurrency requested by the caller: another current (content) version -> ABORTED.

    Links and annotations do not change the content version, so starting a chat about an artifact never fails an
    editor's update.
    """
    if expected is not None and expected != artifact.content_version:
        raise VersionConflictError(
            f"artifact {artifact.artifact_id} is at version {artifact.content_version}, not {expected}"
        )


def update_content(artifact: ArtifactState | None, command: UpdateArtifactContent, actor: Actor) -> list[Message]:
    """A new content version (always a new version, even when the body is unchanged)."""
    current = access.tenant_artifact(artifact, actor, command.artifact_id)
    check_version(current, command.expected_version)
    return [
        events_pb2.ArtifactContentUpdatedEvent(
            artifact_id=current.artifact_id, content=command.content, threads_id=command.chat_id
        )
    ]


def update_metadata(artifact: ArtifactState | None, command: UpdateArtifactMetadata, actor: Actor) -> list[Message]:
    """New title and/or labels; the event carries the complete result. Nothing changed -> no event."""
    current = access.tenant_artifact(artifact, actor, command.artifact_id)
    check_version(current, command.expected_version)
    title = current.title if command.title is None else command.title
    labels = dict(current.labels) if command.labels is None else dict(command.labels)
    if title == current.title and labels == dict(current.labels):
        return []
    return [
        events_pb2.ArtifactMetadataUpdatedEvent(
            artifact_id=current.artifact_id, title=title, labels=labels, old_title=current.title
        )
    ]


def delete(artifact: ArtifactState | None, command: DeleteArtifact, actor: Actor) -> list[Message]:
    """Soft-delete (owner only); deleting again is NOT_FOUND."""
    owned = access.owned_artifact(artifact, actor, command.artifact_id)
    return [events_pb2.ArtifactDeletedEvent(artifact_id=owned.artifact_id)]


# Events that change no decision about the artifact (the chat side decides links): appended concurrently, in any
# order, they leave every decision as it was, so their appends commute (``StreamAppend.commutative``).
COMMUTING_EVENTS = (events_pb2.ArtifactChatLinkedEvent, events_pb2.ArtifactChatUnlinkedEvent)


def evolve(state: ArtifactState | None, event: Happened) -> ArtifactState:
    """Apply one stored artifact event; every event bumps the stream version, content/metadata the content version.

    Links and unlinks only advance the stream version: the set of linked chats is the chats' to keep (see
    ``ArtifactState``), so the state stays the same size however many chats an artifact collects.
    """
    payload = event.payload
    if isinstance(payload, events_pb2.ArtifactCreatedEvent):
        return ArtifactState(
            artifact_id=payload.artifact_id,
            tenant_id=payload.tenant_id,
            owner_id=payload.user_id or event.user_id,
            title=payload.title,
            kind=payload.kind,
            created_at=event.at,
            updated_at=event.at,
            version=1,
            content_version=1,
            primary_chat_id=payload.primary_threads_id,
            labels=dict(payload.labels),
        )
    if state is None:
        raise ValueError(f"{payload.DESCRIPTOR.full_name} before ArtifactCreatedEvent")
    # One copy of the state per event: the version bump and whatever the event changes besides.
    changed: dict[str, Any] = {}
    if isinstance(payload, events_pb2.ArtifactContentUpdatedEvent):
        changed = {"content_version": state.content_version + 1}
    elif isinstance(payload, events_pb2.ArtifactMetadataUpdatedEvent):
        changed = {
            "content_version": state.content_version + 1,
            "title": payload.title,
            "labels": dict(payload.labels),
        }
    elif isinstance(payload, events_pb2.ArtifactDeletedEvent):
        changed = {"deleted": True}
    return dataclasses.replace(state, version=state.version + 1, updated_at=event.at, **changed)
