from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.e2e.command.command_e2e_client import Caller, CommandClient, failure, text

pytestmark = pytest.mark.e2e


async def new_artifact(client: CommandClient, who: Caller, title: str = "Order Process", kind: str = "bpmn") -> str:
    """Create an artifact; return its id."""
    reply = await client.artifacts.CreateArtifact(
        art.CreateArtifactRequest(title=title, kind=kind), metadata=who.metadata
    )
    return reply.artifact_id


def ensure(
    artifact_id: str, key: str, chat_id: str = "", value: str = "hello"
) -> svc.EnsureChatForArtifactAndSendMessageRequest:
    """An Ensure request."""
    return svc.EnsureChatForArtifactAndSendMessageRequest(
        artifact_id=artifact_id, threads_id=chat_id, message=text(value), idempotency_key=key
    )


class TestEnsureOverGrpc:
    async def test_new_chat_message_and_replay(self, client: CommandClient) -> None:
        """One call creates, links and sends; its retry replays the identical response and says so."""
        owner, _, _ = client.tenant()
        artifact_id = await new_artifact(client, owner)
        metadata = (*owner.metadata, ("x-correlation-id", "corr-e2e"))
        call = client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "k1"), metadata=metadata)
        first = await call
        assert dict(await call.trailing_metadata() or ()).get("idempotent-replayed") is None
        retry = client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "k1"), metadata=owner.metadata)
        again = await retry
        trailing = dict(await retry.trailing_metadata() or ())
        message = first.persisted_message
        assert first.threads_created
        assert (message.threads_id, message.sequence, message.artifact_id, message.user_id) == (
            first.threads_id,
            1,
            artifact_id,
            "owner",
        )
        assert str(uuid.UUID(message.id)) == message.id
        assert message.created_at.seconds > 0
        assert first.consistency_token
        assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
        assert trailing["idempotent-replayed"] == "true"
        assert dt.datetime.fromisoformat(str(trailing["idempotency-expires-at"])) > dt.datetime.now(dt.UTC)
        assert await client.history(first.threads_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
        ]
        assert await client.history(artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        recorded = await client.events(first.threads_id)
        meta = recorded[0].metadata
        assert (meta["user_id"], meta["tenant_id"], meta["idempotency_key"]) == ("owner", owner.tenant_id, "k1")
        assert meta["correlation_id"] == "corr-e2e"
        assert meta["causation_id"]
        assert meta["traceparent"].startswith("00-")
        assert dt.datetime.fromisoformat(meta["occurred_at"]).tzinfo is not None

    async def test_key_reused_with_another_request(self, client: CommandClient) -> None:
        """The same key with another message -> FAILED_PRECONDITION IDEMPOTENCY_KEY_REUSED."""
        owner, _, _ = client.tenant()
        artifact_id = await new_artifact(client, owner)
        await client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "k"), metadata=owner.metadata)
        details = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(
                ensure(artifact_id, "k", value="other"), metadata=owner.metadata
            )
        )
        assert (details.code, details.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")

    async def test_existing_team_chat_is_linked_once(self, client: CommandClient) -> None:
        """A peer writes about an artifact into a TEAM chat: linked REFERENCED once, then only messages."""
        owner, peer, _ = client.tenant()
        artifact_id = await new_artifact(client, owner, kind="text")
        chat = await client.chats.CreateChat(
            svc.CreateChatRequest(title="Team", visibility=types.CHAT_VISIBILITY_TEAM), metadata=owner.metadata
        )
        chat_id = chat.threads.id
        one = await client.chats.EnsureChatForArtifactAndSendMessage(
            ensure(artifact_id, "a", chat_id), metadata=peer.metadata
        )
        two = await client.chats.EnsureChatForArtifactAndSendMessage(
            ensure(artifact_id, "b", chat_id), metadata=owner.metadata
        )
        assert (one.threads_created, two.threads_created, one.threads_id) == (False, False, chat_id)
        assert [one.persisted_message.sequence, two.persisted_message.sequence] == [1, 2]
        assert await client.history(chat_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
            "MessageSentEvent",
        ]

    async def test_errors(self, client: CommandClient) -> None:
        """Bad input, unreadable artifact/chat, identity mismatch and missing credentials map to their codes."""
        owner, peer, stranger = client.tenant()
        artifact_id = await new_artifact(client, owner)
        private = await client.chats.CreateChat(svc.CreateChatRequest(title="mine"), metadata=owner.metadata)
        invalid = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(
                svc.EnsureChatForArtifactAndSendMessageRequest(
                    artifact_id="nope", message=types.ChatMessageInput(role="bot")
                ),
                metadata=owner.metadata,
            )
        )
        assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(invalid.field_violations) == {"artifact_id", "message.role", "message.parts", "idempotency_key"}
        foreign = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "s"), metadata=stranger.metadata)
        )
        hidden = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(
                ensure(artifact_id, "p", private.threads.id), metadata=peer.metadata
            )
        )
        mismatch = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(
                svc.EnsureChatForArtifactAndSendMessageRequest(
                    artifact_id=artifact_id, message=text(), idempotency_key="m", user_id="someone-else"
                ),
                metadata=owner.metadata,
            )
        )
        anonymous = await failure(client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "n")))
        assert [foreign.code, hidden.code] == [grpc.StatusCode.NOT_FOUND] * 2
        assert mismatch.code == grpc.StatusCode.PERMISSION_DENIED
        assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED

    async def test_deleted_artifact_is_not_found(self, client: CommandClient) -> None:
        """After the owner deletes the artifact, Ensure about it is NOT_FOUND."""
        owner, _, _ = client.tenant()
        artifact_id = await new_artifact(client, owner)
        await client.artifacts.DeleteArtifact(
            art.DeleteArtifactRequest(artifact_id=artifact_id), metadata=owner.metadata
        )
        details = await failure(
            client.chats.EnsureChatForArtifactAndSendMessage(ensure(artifact_id, "d"), metadata=owner.metadata)
        )
        assert details.code == grpc.StatusCode.NOT_FOUND
