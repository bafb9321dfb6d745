"""Commands: what a caller asks for, already parsed and validated in shape (ids, limits, enums).

Anything a decision must not invent (new ids, the current time) is part of the command, so deciders stay pure
and deterministic. Those fields come last with empty defaults: the application handler assigns them
(``dataclasses.replace``) once per request, so a retried decision reuses the same ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from ameide_command.domain.model import Relation, Visibility
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2
from ameide_core_proto.threads.v1 import threads_types_pb2

# Placeholder of the time a handler has not assigned yet.
UNSET_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class StartChat:
    """Create a chat owned by the caller (UNSPECIFIED visibility means PRIVATE)."""

    title: str
    visibility: Visibility
    agent_id: str
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ()
    artifact_id: str = ""
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Append a message to a chat."""

    chat_id: str
    message: threads_types_pb2.ChatMessageInput
    idempotency_key: str = ""
    message_id: str = ""
    at: dt.datetime = UNSET_TIME


@dataclass(frozen=True, slots=True)
class RenameChat:
    """Change a chat's title (owner only)."""

    chat_id: str
    title: str


@dataclass(frozen=True, slots=True)
class ChangeVisibility:
    """Change a chat's visibility (owner only)."""

    chat_id: str
    visibility: Visibility


@dataclass(frozen=True, slots=True)
class DeleteChat:
    """Soft-delete a chat (owner only)."""

    chat_id: str


@dataclass(frozen=True, slots=True)
class LinkChatArtifact:
    """Relate a chat and an artifact on both streams (UNSPECIFIED relation means REFERENCED)."""

    chat_id: str
    artifact_id: str
    relation: Relation


@dataclass(frozen=True, slots=True)
class UnlinkChatArtifact:
    """Remove a chat <-> artifact relation from both streams."""

    chat_id: str
    artifact_id: str


@dataclass(frozen=True, slots=True)
class EnsureChatForArtifact:
    """Send a message about an artifact, into ``chat_id`` or, when empty, into a new chat ``new_chat_id``."""

    artifact_id: str
    chat_id: str
    message: threads_types_pb2.ChatMessageInput
    visibility: Visibility
    idempotency_key: str = ""
    new_chat_id: str = ""
    message_id: str = ""
    at: dt.datetime = UNSET_TIME


@dataclass(frozen=True, slots=True)
class CreateArtifact:
    """Create an artifact owned by the caller, optionally created from (and linked to) a chat."""

    title: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)
    content: artifacts_types_pb2.ArtifactContent | None = None
    primary_chat_id: str = ""
    artifact_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateArtifactContent:
    """Store a new content version; ``chat_id`` names the chat it was modified from (linked as MODIFIED)."""

    artifact_id: str
    content: artifacts_types_pb2.ArtifactContent
    expected_version: int | None = None
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateArtifactMetadata:
    """Change title and/or labels (``None`` = keep)."""

    artifact_id: str
    title: str | None = None
    labels: Mapping[str, str] | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class DeleteArtifact:
    """Soft-delete an artifact (owner only)."""

    artifact_id: str
