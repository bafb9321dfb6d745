"""A small client for the command service under test: stubs per caller, error details, event histories."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc, threads_types_pb2
from ameide_eventstore import RecordedEvent
from ameide_eventstore.postgres import PostgresEventStore
from tests.support.grpc_status import Details, details_of
from tests.support.stack import Stack


@dataclass(frozen=True)
class Caller:
    """A user of a tenant, with call metadata that authenticates as them."""

    user_id: str
    tenant_id: str
    metadata: tuple[tuple[str, str], ...]


class CommandClient:
    """Both command services over one channel, plus the run's event store for history assertions."""

    def __init__(self, stack: Stack, channel: grpc.aio.Channel, engine: AsyncEngine) -> None:
        self._stack = stack
        self.chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        self.artifacts = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(channel)
        self.store = PostgresEventStore(engine)

    def tenant(self) -> tuple[Caller, Caller, Caller]:
        """An owner and a peer of a fresh tenant, and a user of another fresh tenant."""
        tenant, other = f"tenant-{uuid.uuid4()}", f"tenant-{uuid.uuid4()}"
        return self.caller("owner", tenant), self.caller("peer", tenant), self.caller("stranger", other)

    def caller(self, user_id: str, tenant_id: str) -> Caller:
        """A caller authenticated with the stack's JWT secret."""
        return Caller(user_id, tenant_id, self._stack.metadata(user_id, tenant_id))

    async def history(self, stream_id: str) -> list[str]:
        """Short event type names of a stream, oldest first, read from the event store."""
        return [event.event_type.rsplit(".", 1)[-1] for event in await self.events(stream_id)]

    async def events(self, stream_id: str) -> list[RecordedEvent]:
        """The recorded events of a stream."""
        return await self.store.read_stream(uuid.UUID(stream_id))


async def failure(call: Awaitable[Any]) -> Details:
    """The status details of a call that must fail."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return details_of(error)
    raise AssertionError("the call succeeded")


def text(value: str = "hello", role: str = "user") -> threads_types_pb2.ChatMessageInput:
    """A one-part text message."""
    return threads_types_pb2.ChatMessageInput(
        role=role, parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=value))]
    )
