"""What differs between the chat and the artifact stream: message type, feed key, access rule, ending updates."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_pg.pool import Conn
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_runtime.errors import FieldViolation, InvalidArgument, NotFound
from ameide_runtime.identity import Identity

Update = threads_service_pb2.ChatUpdate | artifacts_service_pb2.ArtifactUpdate
Readable = Callable[[Conn, Identity, uuid.UUID], Awaitable[object | None]]


class AccessRules(Protocol):
    """The read rules of design.md section 5 (``ameide_query.views.access``): a row when readable, else None."""

    async def readable_chat(self, conn: Conn, caller: Identity, threads_id: uuid.UUID) -> object | None:
        """The chat if ``caller`` may read it."""

    async def readable_artifact(self, conn: Conn, caller: Identity, artifact_id: uuid.UUID) -> object | None:
        """The artifact if ``caller`` may read it."""


@dataclass(frozen=True, slots=True)
class FeedKind:
    """One kind of live stream."""

    id_field: str
    # What GetChat / GetArtifact answer for an unreadable resource: "chat", CHAT_NOT_FOUND.
    noun: str
    not_found_reason: str
    message_type: type[threads_service_pb2.ChatUpdate | artifacts_service_pb2.ArtifactUpdate]
    feed_of: Callable[[str], str]
    readable: Readable
    # After one of these the stream ends normally (the resource is gone for everyone).
    terminal: frozenset[str]
    # After one of these the caller may have lost access: check again, and end with NOT_FOUND if so.
    recheck: frozenset[str]
    # Updates carrying a whole state (not a delta): when a subscriber is behind, only the newest of a run of
    # consecutive ones of the same case is sent. Messages are never coalesced.
    coalescible: frozenset[str] = frozenset()

    def parse_id(self, raw: str) -> uuid.UUID:
        """The resource id of the request; INVALID_ARGUMENT when it is missing or not a UUID."""
        if not raw:
            raise InvalidArgument(FieldViolation(self.id_field, "required"))
        try:
            return uuid.UUID(raw)
        except ValueError as exc:
            raise InvalidArgument(FieldViolation(self.id_field, "must be a UUID")) from exc

    def not_found(self, resource_id: uuid.UUID) -> NotFound:
        """The error of an unreadable resource, as the unary reads word it."""
        return NotFound(f"{self.noun} {resource_id} not found", reason=self.not_found_reason)

    def decode(self, payload: bytes) -> Update:
        """The stored update."""
        return self.message_type.FromString(payload)


def chat_kind(access: AccessRules) -> FeedKind:
    """StreamChatUpdates."""
    return FeedKind(
        id_field="threads_id",
        noun="chat",
        not_found_reason="CHAT_NOT_FOUND",
        message_type=threads_service_pb2.ChatUpdate,
        feed_of=chat_feed,
        readable=access.readable_chat,
        terminal=frozenset({"deleted"}),
        recheck=frozenset({"state_changed", "metadata", "relation_removed"}),
    )


def artifact_kind(access: AccessRules) -> FeedKind:
    """StreamArtifactUpdates."""
    return FeedKind(
        id_field="artifact_id",
        noun="artifact",
        not_found_reason="ARTIFACT_NOT_FOUND",
        message_type=artifacts_service_pb2.ArtifactUpdate,
        feed_of=artifact_feed,
        readable=access.readable_artifact,
        terminal=frozenset({"deleted"}),
        recheck=frozenset({"metadata_changed", "threads_removed"}),
        coalescible=frozenset({"content_updated", "metadata_changed"}),
    )
