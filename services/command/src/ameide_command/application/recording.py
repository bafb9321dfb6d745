"""Turn decided events into stream appends: metadata, expected versions and the new snapshots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from google.protobuf.message import Message

from ameide_command.application.context import IdFactory, RequestContext
from ameide_command.application.plan import Plan, R
from ameide_command.domain import artifact, chat, events, snapshot
from ameide_command.domain.model import ArtifactState, ChatState, Happened
from ameide_eventstore import NewEvent, StreamAppend

CHAT_STREAM = "chat"
ARTIFACT_STREAM = "artifact"


@dataclasses.dataclass(slots=True)
class _Pending:
    stream_type: str
    tenant_id: str
    expected_version: int
    events: list[NewEvent]
    state: ChatState | ArtifactState
    commutative: bool


class Changes:
    """The events one decision adds, per stream, with each stream's state after them.

    A stream changed twice in one decision (an artifact's new content and its MODIFIED link) becomes one
    append with the version read before the decision as its expected version.
    """

    def __init__(self, context: RequestContext, at: dt.datetime, new_id: IdFactory) -> None:
        self._context = context
        self._at = at
        self._new_id = new_id
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._observed: dict[uuid.UUID, int] = {}
        self._metadata = {
            "user_id": context.actor.user_id,
            "tenant_id": context.actor.tenant_id,
            "occurred_at": at.isoformat(),
            "causation_id": context.request_id,
            "correlation_id": context.correlation_id,
        }
        if context.traceparent:
            self._metadata["traceparent"] = context.traceparent
        if context.idempotency_key:
            self._metadata["idempotency_key"] = context.idempotency_key

    def chat(self, before: ChatState | None, payloads: Sequence[Message]) -> ChatState:
        """Record chat events; return the chat after them."""
        after = before
        for payload in payloads:
            after = chat.evolve(after, Happened(payload, self._at, self._context.actor.user_id))
        if after is None:
            raise ValueError("a new chat needs its ChatCreatedEvent")
        self._record(before, payloads, after)
        return after

    def artifact(self, before: ArtifactState | None, payloads: Sequence[Message]) -> ArtifactState:
        """Record artifact events; return the artifact after them."""
        after = before
        for payload in payloads:
            after = artifact.evolve(after, Happened(payload, self._at, self._context.actor.user_id))
        if after is None:
            raise ValueError("a new artifact needs its ArtifactCreatedEvent")
        self._record(before, payloads, after)
        return after

    def observe(self, state: ChatState | ArtifactState) -> None:
        """Name an unchanged stream in the consistency token (a no-op answer still lets the client wait on it)."""
        self._observed.setdefault(_stream_id(state), state.version)

    def _record(
        self, before: ChatState | ArtifactState | None, payloads: Sequence[Message], after: ChatState | ArtifactState
    ) -> None:
        if not payloads:
            self.observe(after)
            return
        key = _stream_id(after)
        new_events = [self._event(payload) for payload in payloads]
        # An existing artifact's links only: a popular artifact's many new chats append without conflicting.
        commutes = (
            before is not None
            and isinstance(after, ArtifactState)
            and all(isinstance(payload, artifact.COMMUTING_EVENTS) for payload in payloads)
        )
        pending = self._pending.get(key)
        if pending is None:
            expected = before.version if before is not None else 0
            stream_type = CHAT_STREAM if isinstance(after, ChatState) else ARTIFACT_STREAM
            self._pending[key] = _Pending(stream_type, after.tenant_id, expected, new_events, after, commutes)
        else:
            pending.events.extend(new_events)
            pending.state = after
            pending.commutative = pending.commutative and commutes

    def _event(self, payload: Message) -> NewEvent:
        return new_event(payload, event_id=self._new_id(), metadata=self._metadata)

    def appends(self) -> list[StreamAppend]:
        """One append per changed stream, each carrying its new snapshot."""
        return [
            StreamAppend(
                stream_id=stream_id,
                stream_type=pending.stream_type,
                tenant_id=pending.tenant_id,
                expected_version=pending.expected_version,
                events=pending.events,
                snapshot=dump(pending.state),
                commutative=pending.commutative,
            )
            for stream_id, pending in self._pending.items()
        ]

    def plan(self, response: R) -> Plan[R]:
        """The decision's plan: these appends, ``response``, and the changed streams' new states."""
        states = {str(stream_id): pending.state for stream_id, pending in self._pending.items()}
        return Plan(self.appends(), response, states)

    def versions(self) -> dict[uuid.UUID, int]:
        """Every changed or observed stream's version after this decision (what the consistency token names)."""
        changed = {stream_id: pending.state.version for stream_id, pending in self._pending.items()}
        return {**self._observed, **changed}


def new_event(payload: Message, *, event_id: uuid.UUID, metadata: Mapping[str, str]) -> NewEvent:
    """The stored form of a decided event: its stable type name, deterministic bytes and the schema version."""
    return NewEvent(
        event_id=event_id,
        event_type=events.type_name(payload),
        payload=payload.SerializeToString(deterministic=True),
        schema_version=events.SCHEMA_VERSION,
        metadata=metadata,
    )


def evolve(
    stream_type: str, state: ChatState | ArtifactState | None, payload: Message, at: dt.datetime, user_id: str
) -> ChatState | ArtifactState:
    """The chat or artifact (``stream_type``) after one more event, by the domain's own rules."""
    happened = Happened(payload, at, user_id)
    if stream_type == CHAT_STREAM:
        if state is not None and not isinstance(state, ChatState):
            raise TypeError(f"a {type(state).__name__} is not a chat")
        return chat.evolve(state, happened)
    if state is not None and not isinstance(state, ArtifactState):
        raise TypeError(f"a {type(state).__name__} is not an artifact")
    return artifact.evolve(state, happened)


def dump(state: ChatState | ArtifactState) -> bytes:
    """The snapshot stored on the stream's row (what ``loading`` reads back)."""
    if isinstance(state, ChatState):
        return snapshot.dump_chat(state)
    return snapshot.dump_artifact(state)


def _stream_id(state: ChatState | ArtifactState) -> uuid.UUID:
    return uuid.UUID(state.chat_id if isinstance(state, ChatState) else state.artifact_id)
