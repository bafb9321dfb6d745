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
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from ameide_eventstore import RecordedEvent
from ameide_projector.projections.artifacts import ARTIFACT_PROJECTIONS
from ameide_projector.projections.chats import CHAT_PROJECTIONS
from ameide_projector.projections.effects import (
    AddArtifactVersion,
    AddHistory,
    AddMessage,
    AnnounceChat,
    Effect,
    Link,
    Publish,
    PutArtifact,
    PutChat,
    Unlink,
)
from ameide_projector.projections.envelope import Envelope, decode
from ameide_projector.projections.protos import chat_reference_update
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
        """Chats whose prior state the batch needs (its chat streams, and chats its artifacts link or unlink)."""
        ids = {e.stream_id for e in self.envelopes if e.event_type in CHAT_PROJECTIONS}
        for e in self.envelopes:
            if isinstance(e.payload, _LINK_EVENTS) and e.payload.threads_id:
                ids.add(uuid.UUID(e.payload.threads_id))
        return ids

    def announcing_chat_ids(self) -> set[uuid.UUID]:
        """Chats that change as their artifacts show them: the batch needs their links (``AnnounceChat``)."""
        return {e.stream_id for e in self.envelopes if e.event_type in _ANNOUNCING}

    def artifact_ids(self) -> set[uuid.UUID]:
        """Artifacts whose prior state the batch needs."""
        return {e.stream_id for e in self.envelopes if e.event_type in ARTIFACT_PROJECTIONS}


_LINK_EVENTS = (art_events.ArtifactChatLinkedEvent, art_events.ArtifactChatUnlinkedEvent)
# The chat events whose projection may return AnnounceChat.
_ANNOUNCING = frozenset(
    cls.DESCRIPTOR.full_name
    for cls in (
        chat_events.ChatUpdatedEvent,
        chat_events.ChatVisibilityChangedEvent,
        chat_events.ChatDeletedEvent,
    )
)


@dataclass(frozen=True, slots=True)
class LinkedArtifact:
    """An artifact a chat is linked to, as loaded before the batch: the link and the artifact's version then."""

    link: LinkRow
    version: int


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


@dataclass(slots=True)
class _State:
    """The rows as the batch has changed them so far, and the links of the chats that announce changes."""

    chats: dict[uuid.UUID, ChatRow]
    artifacts: dict[uuid.UUID, ArtifactRow]
    # chat id -> artifact id -> link, for ``Decoded.announcing_chat_ids`` only (the others' links are not needed).
    links: dict[uuid.UUID, dict[uuid.UUID, LinkRow]]
    versions: dict[uuid.UUID, int]


def plan_batch(
    decoded: Decoded,
    chats: Mapping[uuid.UUID, ChatRow],
    artifacts: Mapping[uuid.UUID, ArtifactRow],
    links: Mapping[uuid.UUID, Sequence[LinkedArtifact]] | None = None,
) -> Plan:
    """Apply every decoded event, in order, over the loaded state.

    ``links`` holds the artifacts linked to each of ``decoded.announcing_chat_ids()`` before the batch; without
    them (a rebuild without live updates) a chat's changes are announced to no artifact.
    """
    plan = Plan()
    state = _State(dict(chats), dict(artifacts), {}, {})
    for chat_id, linked in (links or {}).items():
        state.links[chat_id] = {item.link.artifact_id: item.link for item in linked}
        state.versions.update((item.link.artifact_id, item.version) for item in linked)
    for envelope in decoded.envelopes:
        chat_projection = CHAT_PROJECTIONS.get(envelope.event_type)
        if chat_projection is not None:
            effects = chat_projection(envelope, state.chats.get(envelope.stream_id))
        else:
            artifact_projection = ARTIFACT_PROJECTIONS[envelope.event_type]
            effects = artifact_projection(envelope, state.artifacts.get(envelope.stream_id), state.chats)
        for effect in effects:
            _fold(plan, effect, state)
    return plan


def _fold(plan: Plan, effect: Effect, state: _State) -> None:
    chats, artifacts = state.chats, state.artifacts
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
    else:
        _fold_links(plan, effect, state)


def _fold_links(plan: Plan, effect: Link | Unlink | AnnounceChat, state: _State) -> None:
    if isinstance(effect, Link):
        change = plan.links.setdefault((effect.row.chat_id, effect.row.artifact_id), LinkChange())
        if change.put is None or effect.row.linked_at < change.put.linked_at:
            change.put = effect.row
        tracked = state.links.get(effect.row.chat_id)
        if tracked is not None:
            tracked.setdefault(effect.row.artifact_id, effect.row)
    elif isinstance(effect, Unlink):
        change = plan.links.setdefault((effect.chat_id, effect.artifact_id), LinkChange())
        change.delete_first = True
        change.put = None
        tracked = state.links.get(effect.chat_id)
        if tracked is not None:
            tracked.pop(effect.artifact_id, None)
    else:
        _announce(plan, effect, state)


def _announce(plan: Plan, effect: AnnounceChat, state: _State) -> None:
    """Tell every live artifact the chat is linked to (a deleted one's feed has ended)."""
    for artifact_id, link in state.links.get(effect.chat.id, {}).items():
        artifact = state.artifacts.get(artifact_id)
        if artifact is not None and artifact.deleted:
            continue
        # The artifact's version as this batch knows it (its own events may be on another shard). An artifact
        # linked in this batch but loaded by none of its events has no known version: its own threads_added
        # (from the artifact's side of the link, sent with the chat's title as it is then) covers it.
        version = artifact.version if artifact is not None else state.versions.get(artifact_id)
        if version is None:
            continue
        plan.publish.append(
            chat_reference_update(
                link,
                effect.chat,
                version=version,
                visibility_before=effect.visibility_before,
                occurred_at=effect.occurred_at,
            )
        )
