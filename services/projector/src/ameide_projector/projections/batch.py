"""Folding a batch of events into the rows to write: pure, so a batch's outcome is a function of its input.

The writer loads the prior state of every chat and artifact the batch touches (one query each), this module
applies the projections in event order over that state, and the writer then writes each table once. The stream
version guard drops events already applied (a second line of defence behind the outbox's exactly-once).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_events
from ameide_eventstore import RecordedEvent
from ameide_projector.projections.artifacts import ARTIFACT_PROJECTIONS
from ameide_projector.projections.chats import CHAT_PROJECTIONS
from ameide_projector.projections.effects import (
    AddArtifactVersion,
    AddHistory,
    AddMessage,
    Effect,
    Link,
    Publish,
    PutArtifact,
    PutChat,
    Unlink,
)
from ameide_projector.projections.envelope import Envelope, decode
from ameide_readmodel.artifacts import ArtifactRow, ArtifactVersionRow, HistoryRow
from ameide_readmodel.chats import ChatRow, MessageRow
from ameide_readmodel.links import LinkRow


@dataclass(slots=True)
class LinkChange:
    """The net change of one chat-artifact pair in a batch: an optional delete first, then an optional upsert."""

    delete_first: bool = False
    put: LinkRow | None = None


@dataclass(slots=True)
class Decoded:
    """A batch after decoding: the events to project (in order) and the types this projector does not know."""

    envelopes: list[Envelope]
    unknown: list[RecordedEvent]
    heads: dict[uuid.UUID, tuple[str, int]]

    def chat_ids(self) -> set[uuid.UUID]:
        """Chats whose prior state the batch needs (its chat streams, and chats its artifacts link to)."""
        ids = {e.stream_id for e in self.envelopes if e.event_type in CHAT_PROJECTIONS}
        for e in self.envelopes:
            if isinstance(e.payload, art_events.ArtifactChatLinkedEvent) and e.payload.threads_id:
                ids.add(uuid.UUID(e.payload.threads_id))
        return ids

    def artifact_ids(self) -> set[uuid.UUID]:
        """Artifacts whose prior state the batch needs."""
        return {e.stream_id for e in self.envelopes if e.event_type in ARTIFACT_PROJECTIONS}


def decode_batch(events: Sequence[RecordedEvent], applied: Mapping[uuid.UUID, int]) -> Decoded:
    """Decode the events not yet applied (by stream version); collect each stream's new head version."""
    decoded = Decoded(envelopes=[], unknown=[], heads={})
    for event in events:
        if event.version <= applied.get(event.stream_id, 0):
            continue
        head = decoded.heads.get(event.stream_id)
        if head is None or head[1] < event.version:
            decoded.heads[event.stream_id] = (event.tenant_id, event.version)
        envelope = decode(event)
        if envelope is None:
            decoded.unknown.append(event)
        else:
            decoded.envelopes.append(envelope)
    return decoded


@dataclass(slots=True)
class Plan:
    """Everything one batch writes."""

    chats: dict[uuid.UUID, ChatRow] = field(default_factory=dict)
    # Chats whose searchable text (title, description, tags) is new or changed: their search rows are rewritten.
    search_dirty: set[uuid.UUID] = field(default_factory=set)
    messages: list[MessageRow] = field(default_factory=list)
    artifacts: dict[uuid.UUID, ArtifactRow] = field(default_factory=dict)
    versions: list[ArtifactVersionRow] = field(default_factory=list)
    links: dict[tuple[uuid.UUID, uuid.UUID], LinkChange] = field(default_factory=dict)
    history: list[HistoryRow] = field(default_factory=list)
    publish: list[Publish] = field(default_factory=list)


def plan_batch(
    decoded: Decoded, chats: Mapping[uuid.UUID, ChatRow], artifacts: Mapping[uuid.UUID, ArtifactRow]
) -> Plan:
    """Apply every decoded event, in order, over the loaded state."""
    plan = Plan()
    chat_state = dict(chats)
    artifact_state = dict(artifacts)
    for envelope in decoded.envelopes:
        chat_projection = CHAT_PROJECTIONS.get(envelope.event_type)
        if chat_projection is not None:
            effects = chat_projection(envelope, chat_state.get(envelope.stream_id))
        else:
            artifact_projection = ARTIFACT_PROJECTIONS[envelope.event_type]
            effects = artifact_projection(envelope, artifact_state.get(envelope.stream_id), chat_state)
        for effect in effects:
            _fold(plan, effect, chat_state, artifact_state)
    return plan


def _fold(
    plan: Plan,
    effect: Effect,
    chats: dict[uuid.UUID, ChatRow],
    artifacts: dict[uuid.UUID, ArtifactRow],
) -> None:
    if isinstance(effect, PutChat):
        before, after = chats.get(effect.row.id), effect.row
        if before is None or (before.title, before.description, before.tags) != (
            after.title,
            after.description,
            after.tags,
        ):
            plan.search_dirty.add(after.id)
        chats[after.id] = plan.chats[after.id] = after
    elif isinstance(effect, AddMessage):
        plan.messages.append(effect.row)
    elif isinstance(effect, PutArtifact):
        artifacts[effect.row.id] = plan.artifacts[effect.row.id] = effect.row
    elif isinstance(effect, AddArtifactVersion):
        plan.versions.append(effect.row)
    elif isinstance(effect, AddHistory):
        plan.history.append(effect.row)
    elif isinstance(effect, Publish):
        plan.publish.append(effect)
    elif isinstance(effect, Link):
        change = plan.links.setdefault((effect.row.chat_id, effect.row.artifact_id), LinkChange())
        if change.put is None or effect.row.linked_at < change.put.linked_at:
            change.put = effect.row
    else:
        _fold_unlink(plan, effect)


def _fold_unlink(plan: Plan, effect: Unlink) -> None:
    change = plan.links.setdefault((effect.chat_id, effect.artifact_id), LinkChange())
    change.delete_first = True
    change.put = None
