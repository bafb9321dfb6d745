"""The importer's links: both sides written, and a pair the command side already linked left alone on both."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from google.protobuf.message import Message

from ameide_cli.legacy.plan import ARTIFACT_LINKS, CHAT_LINKS, Planned, StreamPlan, StreamType
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.writer import StreamWriter
from ameide_command.application.loading import load_stream, read_stream
from ameide_command.application.recording import dump, evolve
from ameide_command.domain import events, links
from ameide_command.domain.commands import LinkChatArtifact, UnlinkChatArtifact
from ameide_command.domain.model import CREATED, REFERENCED, Actor, ArtifactState, ChatState
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from ameide_eventstore import NewEvent, StreamAppend
from ameide_eventstore.memory import InMemoryEventStore

pytestmark = pytest.mark.unit

TENANT = "tenant-legacy"
USER = "user-1"
CHAT = uuid.UUID("11111111-1111-4111-8111-111111111111")
ARTIFACT = uuid.UUID("22222222-2222-4222-8222-222222222222")
T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def _planned(payload: Message, table: str, index: int) -> Planned:
    event_id = uuid.uuid5(CHAT, f"{table}/{index}")
    return Planned(event_id, payload, T0 + dt.timedelta(seconds=index), USER, table, f"{table}:{index}")


def _plans(*, with_link: bool) -> list[StreamPlan]:
    """The chat and the document of a legacy database, related (CREATED) when ``with_link``."""
    chat_events = [
        _planned(chat_ev.ChatCreatedEvent(threads_id=str(CHAT), tenant_id=TENANT, user_id=USER, title="t"), "Chat", 0)
    ]
    artifact_events = [
        _planned(
            art_ev.ArtifactCreatedEvent(artifact_id=str(ARTIFACT), tenant_id=TENANT, user_id=USER, title="d"),
            "Document",
            0,
        )
    ]
    if with_link:
        associated = chat_ev.ArtifactAssociatedEvent(
            threads_id=str(CHAT), artifact_id=str(ARTIFACT), relation_type=CREATED
        )
        linked = art_ev.ArtifactChatLinkedEvent(artifact_id=str(ARTIFACT), threads_id=str(CHAT), relation_type=CREATED)
        chat_events.append(_planned(associated, CHAT_LINKS, 1))
        artifact_events.append(_planned(linked, ARTIFACT_LINKS, 1))
    return [StreamPlan(CHAT, "chat", chat_events), StreamPlan(ARTIFACT, "artifact", artifact_events)]


async def _import(store: InMemoryEventStore, *, with_link: bool) -> Report:
    report = Report()
    await StreamWriter(store, tenant_id=TENANT, report=report, incremental=True).write(_plans(with_link=with_link))
    return report


async def _command_side(store: InMemoryEventStore, decide: str) -> None:
    """Link or unlink the pair as the command service does: decided by the domain, both streams in one append."""
    heads = await store.load_states([CHAT, ARTIFACT])
    chat = await load_stream(store, heads[CHAT])
    artifact = await load_stream(store, heads[ARTIFACT])
    assert isinstance(chat, ChatState)
    assert isinstance(artifact, ArtifactState)
    actor = Actor(USER, TENANT)
    if decide == "link":
        decision = links.link(chat, artifact, LinkChatArtifact(str(CHAT), str(ARTIFACT), REFERENCED), actor)
    else:
        decision = links.unlink(chat, artifact, UnlinkChatArtifact(str(CHAT), str(ARTIFACT)), actor)
    metadata = {"user_id": USER, "tenant_id": TENANT, "occurred_at": T0.isoformat()}
    appends = []
    sides: list[tuple[StreamType, ChatState | ArtifactState, list[Message]]] = [
        ("chat", chat, decision.chat_events),
        ("artifact", artifact, decision.artifact_events),
    ]
    for stream_type, before, payloads in sides:
        current, new = before, []
        for payload in payloads:
            current = evolve(stream_type, current, payload, T0, USER)
            new.append(NewEvent(uuid.uuid4(), events.type_name(payload), payload.SerializeToString(), 1, metadata))
        stream_id = CHAT if stream_type == "chat" else ARTIFACT
        appends.append(StreamAppend(stream_id, stream_type, TENANT, heads[stream_id].version, new, dump(current)))
    await store.append(appends)


async def _links(store: InMemoryEventStore) -> tuple[list[int], list[int]]:
    """The relation types of the link events stored on the chat stream and on the artifact stream."""
    found: dict[uuid.UUID, list[int]] = {CHAT: [], ARTIFACT: []}
    for stream_id, kind in ((CHAT, chat_ev.ArtifactAssociatedEvent), (ARTIFACT, art_ev.ArtifactChatLinkedEvent)):
        for recorded in await read_stream(store, stream_id):
            payload = events.decode(recorded.event_type, recorded.payload)
            if isinstance(payload, kind):
                found[stream_id].append(payload.relation_type)
    return found[CHAT], found[ARTIFACT]


async def test_import_links_both_streams() -> None:
    """A legacy relation becomes a link event on the chat stream and on the artifact stream."""
    store = InMemoryEventStore()
    report = await _import(store, with_link=True)
    assert await _links(store) == ([CREATED], [CREATED])
    assert (report.table(CHAT_LINKS).appended, report.table(ARTIFACT_LINKS).appended) == (1, 1)


async def test_pair_linked_by_the_command_side_is_kept_on_both_streams() -> None:
    """A relation the new system recorded first stays the only one, on both sides, with its own type."""
    store = InMemoryEventStore()
    await _import(store, with_link=False)
    await _command_side(store, "link")
    report = await _import(store, with_link=True)
    assert await _links(store) == ([REFERENCED], [REFERENCED])
    assert (report.table(CHAT_LINKS).already, report.table(ARTIFACT_LINKS).already) == (1, 1)
    assert (report.table(CHAT_LINKS).appended, report.table(ARTIFACT_LINKS).appended) == (0, 0)


async def test_pair_unlinked_by_the_command_side_is_linked_again_on_both_streams() -> None:
    """A relation the new system linked and unlinked is no longer on either side: the import adds both."""
    store = InMemoryEventStore()
    await _import(store, with_link=False)
    await _command_side(store, "link")
    await _command_side(store, "unlink")
    report = await _import(store, with_link=True)
    assert await _links(store) == ([REFERENCED, CREATED], [REFERENCED, CREATED])
    assert (report.table(CHAT_LINKS).appended, report.table(ARTIFACT_LINKS).appended) == (1, 1)
