"""Builders shared by the command unit tests: actors, messages, and states folded from events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from ameide_command.domain import artifact, chat
from ameide_command.domain.model import PRIVATE, Actor, ArtifactState, ChatState, Happened, Visibility
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2, threads_types_pb2

S = TypeVar("S")

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
OWNER = Actor("user-owner", "tenant-a")
PEER = Actor("user-peer", "tenant-a")
STRANGER = Actor("user-stranger", "tenant-b")
CHAT_ID = "11111111-1111-4111-8111-111111111111"
ARTIFACT_ID = "22222222-2222-4222-8222-222222222222"
OTHER_ID = "33333333-3333-4333-8333-333333333333"


def fold(evolve: Callable[[S | None, Happened], S], payloads: Sequence[Message], actor: Actor = OWNER) -> S:
    """The state after ``payloads``, each one second after the previous."""
    state: S | None = None
    for index, payload in enumerate(payloads):
        state = evolve(state, Happened(payload, T0 + dt.timedelta(seconds=index), actor.user_id))
    assert state is not None
    return state


def created_chat(visibility: Visibility = PRIVATE, owner: Actor = OWNER, chat_id: str = CHAT_ID) -> Message:
    """The ChatCreatedEvent of a chat."""
    return threads_events_pb2.ChatCreatedEvent(
        threads_id=chat_id,
        user_id=owner.user_id,
        tenant_id=owner.tenant_id,
        title="Plan",
        visibility=visibility,
        agent_id="general-assistant",
    )


def chat_state(visibility: Visibility = PRIVATE, *more: Message, owner: Actor = OWNER) -> ChatState:
    """A chat created by ``owner`` with ``visibility``, then ``more`` events."""
    return fold(chat.evolve, [created_chat(visibility, owner), *more], owner)


def created_artifact(owner: Actor = OWNER, artifact_id: str = ARTIFACT_ID, kind: str = "bpmn") -> Message:
    """The ArtifactCreatedEvent of an artifact."""
    return artifacts_events_pb2.ArtifactCreatedEvent(
        artifact_id=artifact_id,
        tenant_id=owner.tenant_id,
        user_id=owner.user_id,
        title="Order Process",
        kind=kind,
        labels={"team": "ops"},
    )


def artifact_state(*more: Message, owner: Actor = OWNER, kind: str = "bpmn") -> ArtifactState:
    """An artifact created by ``owner``, then ``more`` events."""
    return fold(artifact.evolve, [created_artifact(owner, kind=kind), *more], owner)


def text_message(text: str = "hello", role: str = "user") -> threads_types_pb2.ChatMessageInput:
    """A one-part text message."""
    return threads_types_pb2.ChatMessageInput(
        role=role, parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=text))]
    )
