from __future__ import annotations

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.e2e.command.command_e2e_client import CommandClient, failure, text

pytestmark = pytest.mark.e2e

TEAM = types.CHAT_VISIBILITY_TEAM


class TestChatCommands:
    async def test_chat_lifecycle_and_history(self, client: CommandClient) -> None:
        """Create from an artifact, send, rename, share, associate (twice), delete: every RPC and its history."""
        owner, peer, _ = client.tenant()
        source = await client.artifacts.CreateArtifact(
            art.CreateArtifactRequest(title="D", kind="bpmn"), metadata=owner.metadata
        )
        other = await client.artifacts.CreateArtifact(
            art.CreateArtifactRequest(title="E", kind="text"), metadata=peer.metadata
        )
        created = await client.chats.CreateChat(
            svc.CreateChatRequest(title="Plan", artifact_id=source.artifact_id, idempotency_key="c1"),
            metadata=owner.metadata,
        )
        chat = created.threads
        assert (chat.visibility, chat.agent_id, chat.user_id, chat.version) == (
            types.CHAT_VISIBILITY_PRIVATE,
            "general-assistant",
            "owner",
            2,
        )
        sent = await client.chats.SendMessage(
            svc.SendMessageRequest(threads_id=chat.id, message=text("hi")), metadata=owner.metadata
        )
        renamed = await client.chats.UpdateChatTitle(
            svc.UpdateChatTitleRequest(threads_id=chat.id, title="Plan B"), metadata=owner.metadata
        )
        shared = await client.chats.UpdateVisibility(
            svc.UpdateChatVisibilityRequest(threads_id=chat.id, visibility=TEAM), metadata=owner.metadata
        )
        from_peer = await client.chats.SendMessage(
            svc.SendMessageRequest(threads_id=chat.id, message=text("me too")), metadata=peer.metadata
        )
        linked = await client.chats.AssociateArtifact(
            svc.AssociateChatArtifactRequest(
                threads_id=chat.id, artifact_id=other.artifact_id, relation_type=types.RELATION_TYPE_MODIFIED
            ),
            metadata=peer.metadata,
        )
        relinked = await client.chats.AssociateArtifact(
            svc.AssociateChatArtifactRequest(threads_id=chat.id, artifact_id=other.artifact_id), metadata=owner.metadata
        )
        deleted = await client.chats.DeleteChat(svc.DeleteChatRequest(threads_id=chat.id), metadata=owner.metadata)
        assert (sent.message.sequence, from_peer.message.sequence, from_peer.message.user_id) == (1, 2, "peer")
        assert (renamed.threads.title, shared.threads.visibility) == ("Plan B", TEAM)
        assert relinked.relation == linked.relation
        assert (linked.relation.type, linked.relation.created_by) == (types.RELATION_TYPE_MODIFIED, "peer")
        assert deleted.success
        assert all(r.consistency_token for r in (created, sent, renamed, shared, linked, relinked, deleted))
        assert await client.history(chat.id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
            "ChatUpdatedEvent",
            "ChatVisibilityChangedEvent",
            "MessageSentEvent",
            "ArtifactAssociatedEvent",
            "ChatDeletedEvent",
        ]
        assert await client.history(source.artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        gone = await failure(
            client.chats.SendMessage(
                svc.SendMessageRequest(threads_id=chat.id, message=text()), metadata=owner.metadata
            )
        )
        again = await failure(
            client.chats.DeleteChat(svc.DeleteChatRequest(threads_id=chat.id), metadata=owner.metadata)
        )
        assert [gone.code, again.code] == [grpc.StatusCode.NOT_FOUND] * 2

    async def test_idempotent_create_and_send(self, client: CommandClient) -> None:
        """CreateChat and SendMessage with a key answer the same ids on retry."""
        owner, _, _ = client.tenant()
        request = svc.CreateChatRequest(title="Once", idempotency_key="create-1")
        first = await client.chats.CreateChat(request, metadata=owner.metadata)
        again = await client.chats.CreateChat(request, metadata=owner.metadata)
        send = svc.SendMessageRequest(threads_id=first.threads.id, message=text(), idempotency_key="send-1")
        one = await client.chats.SendMessage(send, metadata=owner.metadata)
        two = await client.chats.SendMessage(send, metadata=owner.metadata)
        assert again == first
        assert two == one
        assert await client.history(first.threads.id) == ["ChatCreatedEvent", "MessageSentEvent"]

    async def test_owner_only_and_visibility_rules(self, client: CommandClient) -> None:
        """Non-owners who see a chat: PERMISSION_DENIED; who cannot see it: NOT_FOUND; bad input: INVALID_ARGUMENT."""
        owner, peer, stranger = client.tenant()
        private = (await client.chats.CreateChat(svc.CreateChatRequest(title="p"), metadata=owner.metadata)).threads
        team = (
            await client.chats.CreateChat(svc.CreateChatRequest(title="t", visibility=TEAM), metadata=owner.metadata)
        ).threads
        rename = svc.UpdateChatTitleRequest(threads_id=team.id, title="x")
        codes = {
            "peer renames team chat": await failure(client.chats.UpdateChatTitle(rename, metadata=peer.metadata)),
            "peer deletes team chat": await failure(
                client.chats.DeleteChat(svc.DeleteChatRequest(threads_id=team.id), metadata=peer.metadata)
            ),
            "peer shares team chat": await failure(
                client.chats.UpdateVisibility(
                    svc.UpdateChatVisibilityRequest(threads_id=team.id, visibility=types.CHAT_VISIBILITY_PUBLIC),
                    metadata=peer.metadata,
                )
            ),
            "peer renames private chat": await failure(
                client.chats.UpdateChatTitle(
                    svc.UpdateChatTitleRequest(threads_id=private.id, title="x"), metadata=peer.metadata
                )
            ),
            "peer sends to private chat": await failure(
                client.chats.SendMessage(
                    svc.SendMessageRequest(threads_id=private.id, message=text()), metadata=peer.metadata
                )
            ),
            "stranger renames team chat": await failure(
                client.chats.UpdateChatTitle(rename, metadata=stranger.metadata)
            ),
            "stranger sends to team chat": await failure(
                client.chats.SendMessage(
                    svc.SendMessageRequest(threads_id=team.id, message=text()), metadata=stranger.metadata
                )
            ),
            "unspecified visibility": await failure(
                client.chats.UpdateVisibility(
                    svc.UpdateChatVisibilityRequest(threads_id=team.id), metadata=owner.metadata
                )
            ),
            "bad relation type": await failure(
                client.chats.AssociateArtifact(
                    svc.AssociateChatArtifactRequest(
                        threads_id=team.id, artifact_id=team.id, relation_type=types.RelationType.ValueType(9)
                    ),
                    metadata=owner.metadata,
                )
            ),
            "unknown artifact": await failure(
                client.chats.AssociateArtifact(
                    svc.AssociateChatArtifactRequest(threads_id=team.id, artifact_id=private.id),
                    metadata=owner.metadata,
                )
            ),
            "oversize title": await failure(
                client.chats.CreateChat(svc.CreateChatRequest(title="x" * 257), metadata=owner.metadata)
            ),
            "tenant mismatch": await failure(
                client.chats.CreateChat(svc.CreateChatRequest(title="x", tenant_id="another"), metadata=owner.metadata)
            ),
        }
        denied, missing, invalid = (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert {name: d.code for name, d in codes.items()} == {
            "peer renames team chat": denied,
            "peer deletes team chat": denied,
            "peer shares team chat": denied,
            "peer renames private chat": missing,
            "peer sends to private chat": missing,
            "stranger renames team chat": missing,
            "stranger sends to team chat": missing,
            "unspecified visibility": invalid,
            "bad relation type": invalid,
            "unknown artifact": missing,
            "oversize title": invalid,
            "tenant mismatch": denied,
        }
        assert codes["bad relation type"].field_violations.keys() == {"relation_type"}
        assert await client.history(team.id) == ["ChatCreatedEvent"]
