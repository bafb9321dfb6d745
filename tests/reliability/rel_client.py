"""Client side of the reliability scenarios: callers, stubs, channels that reconnect fast, status bookkeeping.

Every scenario counts what clients were told in a ``Tally``: requests made, status codes, and the *wrong* ones
(a code the contract does not allow in that situation; UNKNOWN and INTERNAL are never allowed).
"""

from __future__ import annotations

import collections
import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

import grpc
import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc, threads_types_pb2
from ameide_runtime.tokens import TokenCodec
from tests.support.stack import Stack

Code = grpc.StatusCode

# A restarted server must be found again within a second, not after gRPC's default backoff of up to two minutes.
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]

NEVER = frozenset({Code.UNKNOWN, Code.INTERNAL, Code.DATA_LOSS, Code.UNIMPLEMENTED})
# What a retried write may see while a fault lasts: the server (or the path to it) is away, or a conflict.
RETRYABLE = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.ABORTED})


@dataclasses.dataclass(frozen=True)
class Caller:
    """A user of a tenant and the call metadata that authenticates as them."""

    user_id: str
    tenant_id: str
    metadata: tuple[tuple[str, str], ...]


def caller(stack: Stack, user_id: str, tenant_id: str) -> Caller:
    """A caller with a JWT of the stack."""
    return Caller(user_id, tenant_id, stack.metadata(user_id, tenant_id))


def new_tenant(stack: Stack, *users: str) -> list[Caller]:
    """Callers of a fresh tenant, one per user name."""
    tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    return [caller(stack, f"{user}-{uuid.uuid4().hex[:6]}", tenant) for user in users]


def codec_of(stack: Stack) -> TokenCodec:
    """The token codec the services use (to read sequence numbers out of checkpoint tokens)."""
    return TokenCodec(stack.settings_env["AMEIDE_TOKEN_SECRET"].encode())


def channel(target: str) -> grpc.aio.Channel:
    """An aio channel that reconnects quickly after a restart."""
    return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)


@dataclasses.dataclass
class Stubs:
    """The four services over two channels."""

    command: grpc.aio.Channel
    query: grpc.aio.Channel

    def __post_init__(self) -> None:
        self.chats = threads_service_pb2_grpc.ChatCommandServiceStub(self.command)
        self.artifacts = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(self.command)
        self.chat_reads = threads_service_pb2_grpc.ChatQueryServiceStub(self.query)
        self.artifact_reads = artifacts_service_pb2_grpc.ArtifactQueryServiceStub(self.query)

    async def close(self) -> None:
        """Close both channels."""
        await self.command.close()
        await self.query.close()


def stubs(stack: Stack) -> Stubs:
    """Stubs of the stack's command and query services."""
    return Stubs(channel(stack.command_target), channel(stack.query_target))


def text_message(text: str, role: str = "user", parts: int = 1) -> threads_types_pb2.ChatMessageInput:
    """A message of ``parts`` text parts."""
    return threads_types_pb2.ChatMessageInput(
        role=role, parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=text))] * parts
    )


@dataclasses.dataclass
class Tally:
    """What clients were told during one scenario."""

    requests: int = 0
    codes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    wrong: list[str] = dataclasses.field(default_factory=list)
    # (rpc or write kind, code) of every failed call.
    failures: collections.Counter[tuple[str, str]] = dataclasses.field(default_factory=collections.Counter)

    def ok(self) -> None:
        """A call succeeded."""
        self.requests += 1
        self.codes["OK"] += 1

    def failed(self, rpc: str, error: grpc.aio.AioRpcError, allowed: Iterable[Code]) -> None:
        """A call failed; a code outside ``allowed`` (or one that is never allowed) is wrong."""
        self.requests += 1
        code = error.code()
        self.codes[code.name] += 1
        self.failures[(rpc, code.name)] += 1
        if code in NEVER or code not in set(allowed):
            self.wrong.append(f"{rpc}: {code.name} {error.details()!r}")

    def merge(self, other: Tally) -> None:
        """Add another tally's counts."""
        self.requests += other.requests
        self.codes.update(other.codes)
        self.wrong.extend(other.wrong)
        self.failures.update(other.failures)

    @property
    def wrong_count(self) -> int:
        """Number of wrong status codes."""
        return len(self.wrong)
