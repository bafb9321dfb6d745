"""A client of the running stack for the query e2e tests.

Writes go through the command service, reads through the query service, each call authenticated as a caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as art_grpc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chat_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.support.grpc_status import Details, details_of
from tests.support.stack import Stack

PRIVATE, TEAM, PUBLIC = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM, types.CHAT_VISIBILITY_PUBLIC
VISIBILITIES = {"PRIVATE": PRIVATE, "TEAM": TEAM, "PUBLIC": PUBLIC}


@dataclass(frozen=True)
class Caller:
    """A user of a tenant and the call metadata authenticating as them."""

    user_id: str
    tenant_id: str
    metadata: tuple[tuple[str, str], ...]


def text(value: str) -> types.ChatMessageInput:
    """A one-part text message."""
    return types.ChatMessageInput(role="user", parts=[types.MessagePart(text=types.TextPart(text=value))])


async def failure(call: Awaitable[Any]) -> Details:
    """The status details of a call that must fail."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return details_of(error)
    raise AssertionError("the call succeeded")


class World:
    """Command and query stubs over two channels to the stack."""

    def __init__(self, stack: Stack, command: grpc.aio.Channel, query: grpc.aio.Channel) -> None:
        self._stack = stack
        self.chat_commands = chat_grpc.ChatCommandServiceStub(command)
        self.artifact_commands = art_grpc.ArtifactCommandServiceStub(command)
        self.chats = chat_grpc.ChatQueryServiceStub(query)
        self.artifacts = art_grpc.ArtifactQueryServiceStub(query)

    def caller(self, user_id: str, tenant_id: str) -> Caller:
        """A caller authenticated with the stack's JWT secret."""
        return Caller(user_id, tenant_id, self._stack.metadata(user_id, tenant_id))

    def people(self) -> tuple[Caller, Caller, Caller]:
        """An owner and a peer of a fresh tenant, and a stranger of another fresh tenant."""
        tenant, other = f"tenant-{uuid.uuid4()}", f"tenant-{uuid.uuid4()}"
        return self.caller("owner", tenant), self.caller("peer", tenant), self.caller("stranger", other)

    async def create_chat(
        self, who: Caller, *, visibility: int = PRIVATE, title: str = "A chat", **fields: Any
    ) -> tuple[str, str]:
        """A new chat: (id, consistency token)."""
        reply = await self.chat_commands.CreateChat(
            chat_svc.CreateChatRequest(title=title, visibility=visibility, **fields),  # type: ignore[arg-type]
            metadata=who.metadata,
        )
        return reply.threads.id, reply.consistency_token

    async def send(self, who: Caller, chat_id: str, body: str | types.ChatMessageInput) -> chat_svc.SendMessageResponse:
        """Send a message."""
        message = text(body) if isinstance(body, str) else body
        return await self.chat_commands.SendMessage(
            chat_svc.SendMessageRequest(threads_id=chat_id, message=message, idempotency_key=str(uuid.uuid4())),
            metadata=who.metadata,
        )

    async def create_artifact(
        self, who: Caller, *, title: str = "Order process", kind: str = "bpmn", body: bytes = b"<v1/>"
    ) -> tuple[str, str]:
        """A new artifact: (id, consistency token)."""
        reply = await self.artifact_commands.CreateArtifact(
            art_svc.CreateArtifactRequest(
                title=title, kind=kind, content=art_types.ArtifactContent(mime_type="text/xml", body=body)
            ),
            metadata=who.metadata,
        )
        return reply.artifact_id, reply.consistency_token

    async def associate(self, who: Caller, chat_id: str, artifact_id: str) -> str:
        """Link a chat and an artifact; returns the consistency token."""
        reply = await self.chat_commands.AssociateArtifact(
            chat_svc.AssociateChatArtifactRequest(threads_id=chat_id, artifact_id=artifact_id), metadata=who.metadata
        )
        return reply.consistency_token

    async def settle(self, who: Caller, tokens: Iterable[str]) -> None:
        """Wait until the read model shows every write that returned one of ``tokens``."""
        for token in tokens:
            await self.chats.ListChats(
                chat_svc.ListChatsRequest(page_size=1, consistency_token=token), metadata=who.metadata
            )
