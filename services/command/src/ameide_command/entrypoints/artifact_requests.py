"""ArtifactCommandService requests -> validated domain commands (every violation reported at once)."""

from __future__ import annotations

from ameide_command.domain.commands import (
    CreateArtifact,
    DeleteArtifact,
    LinkChatArtifact,
    UnlinkChatArtifact,
    UpdateArtifactContent,
    UpdateArtifactMetadata,
)
from ameide_command.entrypoints.validation import MAX_NAME_CHARS, Checker, Limits
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types

# The spec's example passes the creating chat as a label (`metadata: { primaryChatId }`).
PRIMARY_CHAT_LABEL = "primaryChatId"
METADATA_PATHS = frozenset({"title", "labels"})


def _content(check: Checker, field: str, content: types.ArtifactContent) -> None:
    if len(content.body) > check.limits.max_artifact_bytes:
        check.fail(f"{field}.body", f"must be at most {check.limits.max_artifact_bytes} bytes")
    check.text(f"{field}.mime_type", content.mime_type, MAX_NAME_CHARS)


def create_artifact(request: svc.CreateArtifactRequest, limits: Limits) -> CreateArtifact:
    """Parse CreateArtifact; the primary chat comes from ``primary_threads_id`` or the ``primaryChatId`` label."""
    check = Checker(limits)
    title = check.title("title", request.title)
    kind = check.text("kind", request.kind, MAX_NAME_CHARS, required=True)
    labels = check.labels("metadata", request.metadata)
    primary = check.uuid("primary_threads_id", request.primary_threads_id, required=False)
    labelled = check.uuid(f"metadata[{PRIMARY_CHAT_LABEL!r}]", labels.get(PRIMARY_CHAT_LABEL, ""), required=False)
    if primary and labelled and primary != labelled:
        check.fail("primary_threads_id", f"differs from metadata[{PRIMARY_CHAT_LABEL!r}]")
    if request.HasField("content"):
        _content(check, "content", request.content)
    check.idempotency_key("idempotency_key", request.idempotency_key)
    check.done()
    return CreateArtifact(
        title=title,
        kind=kind,
        labels=labels,
        content=request.content if request.HasField("content") else None,
        primary_chat_id=primary or labelled,
    )


def associate_chat(request: svc.AssociateArtifactChatRequest, limits: Limits) -> LinkChatArtifact:
    """Parse AssociateChat."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    chat_id = check.uuid("threads_id", request.threads_id)
    relation = check.relation("relation_type", request.relation_type)
    check.done()
    return LinkChatArtifact(chat_id=chat_id, artifact_id=artifact_id, relation=relation)


def dissociate_chat(request: svc.DissociateArtifactChatRequest, limits: Limits) -> UnlinkChatArtifact:
    """Parse DissociateChat."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    chat_id = check.uuid("threads_id", request.threads_id)
    check.done()
    return UnlinkChatArtifact(chat_id=chat_id, artifact_id=artifact_id)


def update_content(request: svc.UpdateArtifactContentRequest, limits: Limits) -> UpdateArtifactContent:
    """Parse UpdateArtifactContent (content is required)."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    if request.HasField("content"):
        _content(check, "content", request.content)
    else:
        check.fail("content", "required")
    expected = check.expected_version(
        "expected_version", request.HasField("expected_version"), request.expected_version
    )
    chat_id = check.uuid("threads_id", request.threads_id, required=False)
    check.done()
    return UpdateArtifactContent(
        artifact_id=artifact_id, content=request.content, expected_version=expected, chat_id=chat_id
    )


def update_metadata(request: svc.UpdateArtifactMetadataRequest, limits: Limits) -> UpdateArtifactMetadata:
    """Parse UpdateArtifactMetadata: ``update_mask`` paths "title" and/or "labels" (empty = both)."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    paths = set(request.update_mask.paths) or set(METADATA_PATHS)
    for path in sorted(paths - METADATA_PATHS):
        check.fail("update_mask.paths", f"unknown path {path!r}: use title and/or labels")
    if not request.HasField("metadata"):
        check.fail("metadata", "required")
    title = check.title("metadata.title", request.metadata.title) if "title" in paths else None
    labels = check.labels("metadata.labels", request.metadata.labels) if "labels" in paths else None
    expected = check.expected_version(
        "expected_version", request.HasField("expected_version"), request.expected_version
    )
    check.done()
    return UpdateArtifactMetadata(artifact_id=artifact_id, title=title, labels=labels, expected_version=expected)


def delete_artifact(request: svc.DeleteArtifactRequest, limits: Limits) -> DeleteArtifact:
    """Parse DeleteArtifact."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    check.done()
    return DeleteArtifact(artifact_id=artifact_id)
