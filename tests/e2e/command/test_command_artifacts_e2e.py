from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.e2e.command.command_e2e_client import CommandClient, failure

pytestmark = pytest.mark.e2e

BODY = art_types.ArtifactContent(mime_type="application/xml", body=b"<bpmn/>")


class TestArtifactCommands:
    async def test_artifact_lifecycle_and_history(self, client: CommandClient) -> None:
        """Create from a chat (label), associate, modify from a chat, edit metadata, dissociate, delete."""
        owner, peer, _ = client.tenant()
        origin = (await client.chats.CreateChat(svc.CreateChatRequest(title="o"), metadata=owner.metadata)).threads
        team = (
            await client.chats.CreateChat(
                svc.CreateChatRequest(title="t", visibility=types.CHAT_VISIBILITY_TEAM), metadata=owner.metadata
            )
        ).threads
        created = await client.artifacts.CreateArtifact(
            art.CreateArtifactRequest(title="Order", kind="bpmn", metadata={"primaryChatId": origin.id}, content=BODY),
            metadata=owner.metadata,
        )
        artifact_id = created.artifact_id
        ref = await client.artifacts.AssociateChat(
            art.AssociateArtifactChatRequest(artifact_id=artifact_id, threads_id=team.id), metadata=peer.metadata
        )
        again = await client.artifacts.AssociateChat(
            art.AssociateArtifactChatRequest(
                artifact_id=artifact_id, threads_id=team.id, relation_type=types.RELATION_TYPE_CREATED
            ),
            metadata=owner.metadata,
        )
        content = await client.artifacts.UpdateArtifactContent(
            art.UpdateArtifactContentRequest(
                artifact_id=artifact_id, content=BODY, expected_version=1, threads_id=origin.id
            ),
            metadata=owner.metadata,
        )
        stale = await failure(
            client.artifacts.UpdateArtifactContent(
                art.UpdateArtifactContentRequest(artifact_id=artifact_id, content=BODY, expected_version=1),
                metadata=peer.metadata,
            )
        )
        meta = await client.artifacts.UpdateArtifactMetadata(
            art.UpdateArtifactMetadataRequest(
                artifact_id=artifact_id,
                metadata=art_types.ArtifactMetadata(title="Order v2"),
                update_mask=FieldMask(paths=["title"]),
                expected_version=2,
            ),
            metadata=peer.metadata,
        )
        dissociated = await client.artifacts.DissociateChat(
            art.DissociateArtifactChatRequest(artifact_id=artifact_id, threads_id=team.id), metadata=peer.metadata
        )
        missing_link = await failure(
            client.artifacts.DissociateChat(
                art.DissociateArtifactChatRequest(artifact_id=artifact_id, threads_id=team.id), metadata=peer.metadata
            )
        )
        not_owner = await failure(
            client.artifacts.DeleteArtifact(art.DeleteArtifactRequest(artifact_id=artifact_id), metadata=peer.metadata)
        )
        deleted = await client.artifacts.DeleteArtifact(
            art.DeleteArtifactRequest(artifact_id=artifact_id), metadata=owner.metadata
        )
        assert created.version == 1  # linking the primary chat is no new version
        assert (ref.threads_reference.threads_title, ref.threads_reference.relation_type) == (
            "t",
            types.RELATION_TYPE_REFERENCED,
        )
        assert again.threads_reference == ref.threads_reference
        assert (content.version, meta.version) == (2, 3)  # the two links in between kept version 1
        assert (stale.code, stale.reason) == (grpc.StatusCode.ABORTED, "VERSION_MISMATCH")
        assert dissociated.success
        assert deleted.success
        assert (missing_link.code, not_owner.code) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
        assert all(r.consistency_token for r in (created, ref, again, content, meta, dissociated, deleted))
        assert await client.history(artifact_id) == [
            "ArtifactCreatedEvent",
            "ArtifactChatLinkedEvent",
            "ArtifactChatLinkedEvent",
            "ArtifactContentUpdatedEvent",
            "ArtifactMetadataUpdatedEvent",
            "ArtifactChatUnlinkedEvent",
            "ArtifactDeletedEvent",
        ]
        assert await client.history(origin.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
        assert await client.history(team.id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "ArtifactDissociatedEvent",
        ]

    async def test_errors(self, client: CommandClient) -> None:
        """Other tenants see NOT_FOUND; malformed requests name every bad field; unknown ids are NOT_FOUND."""
        owner, peer, stranger = client.tenant()
        created = await client.artifacts.CreateArtifact(
            art.CreateArtifactRequest(title="A", kind="text"), metadata=owner.metadata
        )
        private = (await client.chats.CreateChat(svc.CreateChatRequest(title="p"), metadata=owner.metadata)).threads
        foreign = await failure(
            client.artifacts.UpdateArtifactContent(
                art.UpdateArtifactContentRequest(artifact_id=created.artifact_id, content=BODY),
                metadata=stranger.metadata,
            )
        )
        foreign_delete = await failure(
            client.artifacts.DeleteArtifact(
                art.DeleteArtifactRequest(artifact_id=created.artifact_id), metadata=stranger.metadata
            )
        )
        hidden_chat = await failure(
            client.artifacts.AssociateChat(
                art.AssociateArtifactChatRequest(artifact_id=created.artifact_id, threads_id=private.id),
                metadata=peer.metadata,
            )
        )
        primary_hidden = await failure(
            client.artifacts.CreateArtifact(
                art.CreateArtifactRequest(title="B", kind="bpmn", primary_threads_id=private.id), metadata=peer.metadata
            )
        )
        invalid = await failure(
            client.artifacts.CreateArtifact(
                art.CreateArtifactRequest(content=art_types.ArtifactContent(body=b"x" * (4 * 1024 * 1024 + 1))),
                metadata=owner.metadata,
            )
        )
        bad_mask = await failure(
            client.artifacts.UpdateArtifactMetadata(
                art.UpdateArtifactMetadataRequest(artifact_id="x", update_mask=FieldMask(paths=["kind"])),
                metadata=owner.metadata,
            )
        )
        assert [foreign.code, foreign_delete.code, hidden_chat.code, primary_hidden.code] == [
            grpc.StatusCode.NOT_FOUND
        ] * 4
        assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(invalid.field_violations) == {"title", "kind", "content.body"}
        assert set(bad_mask.field_violations) == {"artifact_id", "update_mask.paths", "metadata"}
        assert await client.history(created.artifact_id) == ["ArtifactCreatedEvent"]
