from __future__ import annotations

import dataclasses

import pytest

from ameide_command.domain import artifact
from ameide_command.domain.commands import (
    CreateArtifact,
    DeleteArtifact,
    UpdateArtifactContent,
    UpdateArtifactMetadata,
)
from ameide_command.domain.errors import NotFoundError, PermissionDeniedError, VersionConflictError
from ameide_command.domain.model import CREATED, Happened
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as ev
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types
from tests.unit.command.command_builders import ARTIFACT_ID, CHAT_ID, OWNER, PEER, STRANGER, T0, artifact_state

pytestmark = pytest.mark.unit

CONTENT = types.ArtifactContent(mime_type="application/xml", body=b"<bpmn/>")


class TestCreateArtifact:
    def test_created_event_carries_owner_tenant_and_primary_chat(self) -> None:
        """The artifact belongs to the caller's tenant and records the chat it was created in."""
        command = CreateArtifact("Order", "bpmn", {"a": "b"}, CONTENT, CHAT_ID, artifact_id=ARTIFACT_ID)
        event = artifact.create(command, OWNER)
        assert event == ev.ArtifactCreatedEvent(
            artifact_id=ARTIFACT_ID,
            tenant_id=OWNER.tenant_id,
            user_id=OWNER.user_id,
            title="Order",
            kind="bpmn",
            labels={"a": "b"},
            content=CONTENT,
            primary_threads_id=CHAT_ID,
        )


class TestUpdateContent:
    def test_any_tenant_user_stores_a_new_version(self) -> None:
        """Every user of the tenant may edit; the chat it came from is recorded."""
        command = UpdateArtifactContent(ARTIFACT_ID, CONTENT, expected_version=1, chat_id=CHAT_ID)
        events = artifact.update_content(artifact_state(), command, PEER)
        assert events == [ev.ArtifactContentUpdatedEvent(artifact_id=ARTIFACT_ID, content=CONTENT, threads_id=CHAT_ID)]

    def test_expected_version_mismatch_is_aborted(self) -> None:
        """Optimistic concurrency: another current version -> ABORTED."""
        with pytest.raises(VersionConflictError) as caught:
            artifact.update_content(artifact_state(), UpdateArtifactContent(ARTIFACT_ID, CONTENT, 5), OWNER)
        assert caught.value.reason == "VERSION_MISMATCH"

    def test_other_tenant_is_not_found(self) -> None:
        """Another tenant's artifact does not exist for the caller."""
        with pytest.raises(NotFoundError):
            artifact.update_content(artifact_state(), UpdateArtifactContent(ARTIFACT_ID, CONTENT), STRANGER)

    def test_deleted_is_not_found(self) -> None:
        """A deleted artifact takes no more versions."""
        state = artifact_state(ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID))
        with pytest.raises(NotFoundError):
            artifact.update_content(state, UpdateArtifactContent(ARTIFACT_ID, CONTENT), OWNER)

    def test_unknown_is_not_found(self) -> None:
        """An artifact that was never created is NOT_FOUND."""
        with pytest.raises(NotFoundError):
            artifact.update_content(None, UpdateArtifactContent(ARTIFACT_ID, CONTENT), OWNER)


class TestUpdateMetadata:
    def test_title_only_keeps_labels(self) -> None:
        """The event carries the complete new title and labels."""
        events = artifact.update_metadata(artifact_state(), UpdateArtifactMetadata(ARTIFACT_ID, title="New"), PEER)
        assert events == [
            ev.ArtifactMetadataUpdatedEvent(
                artifact_id=ARTIFACT_ID, title="New", labels={"team": "ops"}, old_title="Order Process"
            )
        ]

    def test_labels_only_keeps_title(self) -> None:
        """Labels are replaced as a whole."""
        command = UpdateArtifactMetadata(ARTIFACT_ID, labels={"x": "y"}, expected_version=1)
        (event,) = artifact.update_metadata(artifact_state(), command, OWNER)
        assert isinstance(event, ev.ArtifactMetadataUpdatedEvent)
        assert (event.title, dict(event.labels)) == ("Order Process", {"x": "y"})

    def test_no_change_records_nothing(self) -> None:
        """Setting the current title and labels is a no-op."""
        command = UpdateArtifactMetadata(ARTIFACT_ID, title="Order Process", labels={"team": "ops"})
        assert artifact.update_metadata(artifact_state(), command, OWNER) == []

    def test_expected_version_mismatch_is_aborted(self) -> None:
        """Optimistic concurrency applies to metadata too."""
        with pytest.raises(VersionConflictError):
            artifact.update_metadata(artifact_state(), UpdateArtifactMetadata(ARTIFACT_ID, "T", None, 0), OWNER)


class TestDeleteArtifact:
    def test_owner_deletes(self) -> None:
        """Deletion is one event."""
        assert artifact.delete(artifact_state(), DeleteArtifact(ARTIFACT_ID), OWNER) == [
            ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID)
        ]

    def test_other_tenant_user_is_denied(self) -> None:
        """Tenant users read and link, but only the owner deletes."""
        with pytest.raises(PermissionDeniedError):
            artifact.delete(artifact_state(), DeleteArtifact(ARTIFACT_ID), PEER)

    def test_other_tenant_is_not_found(self) -> None:
        """Another tenant never learns the artifact exists."""
        with pytest.raises(NotFoundError):
            artifact.delete(artifact_state(), DeleteArtifact(ARTIFACT_ID), STRANGER)

    def test_deleting_twice_is_not_found(self) -> None:
        """A deleted artifact is gone."""
        with pytest.raises(NotFoundError):
            artifact.delete(artifact_state(ev.ArtifactDeletedEvent()), DeleteArtifact(ARTIFACT_ID), OWNER)


class TestEvolveArtifact:
    def test_history_folds_into_state(self) -> None:
        """Versions count every event; metadata and deletion move the state."""
        state = artifact_state(
            ev.ArtifactContentUpdatedEvent(artifact_id=ARTIFACT_ID, content=CONTENT),
            ev.ArtifactMetadataUpdatedEvent(artifact_id=ARTIFACT_ID, title="T2", labels={"n": "1"}),
            ev.ArtifactAnnotatedEvent(artifact_id=ARTIFACT_ID, annotation_type="note"),
        )
        assert (state.version, state.title, dict(state.labels), state.kind) == (4, "T2", {"n": "1"}, "bpmn")
        deleted = artifact.evolve(state, _happened(ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID)))
        assert (deleted.deleted, deleted.version, deleted.content_version) == (True, 5, 3)

    def test_links_and_unlinks_only_advance_the_stream(self) -> None:
        """The artifact keeps no set of its chats: a link or an unlink changes its version and time, nothing else."""
        state = artifact_state()
        linked = artifact.evolve(
            state,
            _happened(ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=CREATED)),
        )
        unlinked = artifact.evolve(
            linked, _happened(ev.ArtifactChatUnlinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID))
        )
        assert linked == dataclasses.replace(state, version=2, updated_at=T0)
        assert unlinked == dataclasses.replace(state, version=3, updated_at=T0)


def _happened(
    payload: ev.ArtifactChatLinkedEvent | ev.ArtifactChatUnlinkedEvent | ev.ArtifactDeletedEvent,
) -> Happened:
    return Happened(payload, T0, OWNER.user_id)
