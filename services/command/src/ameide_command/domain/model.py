"""Decision state of the two aggregates: what a command needs to decide, small enough to snapshot per stream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from google.protobuf.message import Message

from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2

Visibility: TypeAlias = types_pb2.ChatVisibility.ValueType
Relation: TypeAlias = types_pb2.RelationType.ValueType

PRIVATE: Visibility = types_pb2.CHAT_VISIBILITY_PRIVATE
TEAM: Visibility = types_pb2.CHAT_VISIBILITY_TEAM
PUBLIC: Visibility = types_pb2.CHAT_VISIBILITY_PUBLIC
UNSPECIFIED_VISIBILITY: Visibility = types_pb2.CHAT_VISIBILITY_UNSPECIFIED
VISIBILITIES: frozenset[int] = frozenset({PRIVATE, TEAM, PUBLIC})

CREATED: Relation = types_pb2.RELATION_TYPE_CREATED
REFERENCED: Relation = types_pb2.RELATION_TYPE_REFERENCED
MODIFIED: Relation = types_pb2.RELATION_TYPE_MODIFIED
UNSPECIFIED_RELATION: Relation = types_pb2.RELATION_TYPE_UNSPECIFIED
RELATIONS: frozenset[int] = frozenset({CREATED, REFERENCED, MODIFIED})

ROLES: frozenset[str] = frozenset({"user", "assistant", "system"})


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller a command acts for."""

    user_id: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Happened:
    """A stored event payload with the two facts of its envelope that state depends on."""

    payload: Message
    at: dt.datetime
    user_id: str


@dataclass(frozen=True, slots=True)
class Link:
    """One side of a chat <-> artifact relation."""

    relation: Relation
    linked_at: dt.datetime
    linked_by: str


@dataclass(frozen=True, slots=True)
class ChatState:
    """A chat as far as deciding commands goes (no messages: only their count)."""

    chat_id: str
    tenant_id: str
    owner_id: str
    title: str
    visibility: Visibility
    agent_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime
    version: int = 0
    message_count: int = 0
    deleted: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ()
    artifacts: Mapping[str, Link] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArtifactState:
    """An artifact as far as deciding commands goes (no content: it stays in the events).

    ``version`` is the artifact stream's version (every event adds one): the event store's optimistic-concurrency
    token, never shown. ``content_version`` is the artifact's version as the API speaks of it (``ArtifactView``,
    history entries, ``expected_version``): 1 on creation, +1 per content or metadata change; links, unlinks,
    annotations and deletion leave it unchanged.

    The chats linked to the artifact are not part of it: a popular artifact is linked to thousands of chats, and
    every command on it would load and store them all. Whether a pair is linked is decided from the chat's side
    (``ChatState.artifacts``); every link and unlink is appended to both streams in one transaction, so the
    artifact stream's history agrees with it.
    """

    artifact_id: str
    tenant_id: str
    owner_id: str
    title: str
    kind: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0
    content_version: int = 0
    deleted: bool = False
    primary_chat_id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentPolicy:
    """Which agent a chat about an artifact gets: by the artifact's kind, else the default."""

    by_kind: Mapping[str, str]
    default: str

    def for_kind(self, kind: str) -> str:
        """The agent for artifacts of ``kind``."""
        return self.by_kind.get(kind, self.default)
