"""Chat-stream projections: events in, row changes and feed updates out (no database)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_projector.projections.batch import LinkedArtifact, Plan, decode_batch, plan_batch
from ameide_projector.projections.chats import CHAT_PROJECTIONS, message_text
from ameide_projector.projections.effects import (
    AddMessage,
    Link,
    MissingStateError,
    Publish,
    PutChat,
    Unlink,
)
from ameide_projector.projections.envelope import decode
from ameide_projector.projections.protos import message_update
from ameide_readmodel.artifacts import ArtifactRow
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.feed.names import chat_feed
from ameide_readmodel.links import LinkRow
from tests.unit.projector.event_factory import (
    T0,
    Log,
    artifact_created,
    chat_created,
    link_events,
    message_sent,
    unlink_events,
)

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
ALICE = "alice"


def _project(log: Log, index: int, chat: ChatRow | None) -> list[object]:
    envelope = decode(log.events[index])
    assert envelope is not None
    return list(CHAT_PROJECTIONS[envelope.event_type](envelope, chat))


def _created_chat(log: Log, chat_id: uuid.UUID, **kwargs: Any) -> ChatRow:
    payload = chat_created(chat_id, user=ALICE, tenant=TENANT, **kwargs)
    log.add(chat_id, "chat", payload, user=ALICE, tenant=TENANT, at=T0)
    (effect,) = _project(log, len(log.events) - 1, None)
    assert isinstance(effect, PutChat)
    return effect.row


def _updates(effects: list[object]) -> list[svc.ChatUpdate]:
    return [svc.ChatUpdate.FromString(e.update) for e in effects if isinstance(e, Publish)]


class TestChatCreated:
    def test_creates_the_row_with_owner_metadata_and_version_one(self) -> None:
        """A created chat is a row owned by its creator, with its metadata, at version 1, no messages."""
        chat_id = uuid.uuid4()
        row = _created_chat(Log(), chat_id, title="Plan", description="Q1 plan", tags=("ops", "q1"), labels={"k": "v"})
        assert row.id == chat_id
        assert (row.owner, row.tenant_id, row.title) == (ALICE, TENANT, "Plan")
        assert (row.description, row.tags, dict(row.labels)) == ("Q1 plan", ("ops", "q1"), {"k": "v"})
        assert (row.version, row.message_count, row.deleted) == (1, 0, False)
        assert row.created_at == row.updated_at == row.last_activity_at == T0

    def test_unspecified_visibility_means_private(self) -> None:
        """UNSPECIFIED visibility on create is PRIVATE."""
        row = _created_chat(Log(), uuid.uuid4(), visibility=types.CHAT_VISIBILITY_UNSPECIFIED)
        assert row.visibility == types.CHAT_VISIBILITY_PRIVATE


class TestMessageSent:
    def test_adds_the_message_counts_it_and_publishes_it(self) -> None:
        """A message becomes a row (payload = the ChatMessage), bumps the chat, and goes to the chat's feed."""
        log, chat_id = Log(), uuid.uuid4()
        chat = _created_chat(log, chat_id)
        at = T0 + dt.timedelta(minutes=5)
        log.add(
            chat_id,
            "chat",
            message_sent(chat_id, 1, "hello world", user="bob", tenant=TENANT, at=at),
            user="bob",
            tenant=TENANT,
            at=at,
        )
        effects = _project(log, 1, chat)
        (message,) = [e.row for e in effects if isinstance(e, AddMessage)]
        (updated,) = [e.row for e in effects if isinstance(e, PutChat)]
        stored = types.ChatMessage.FromString(message.payload)
        assert (message.seq, message.user_id, message.role, message.text) == (1, "bob", "user", "hello world")
        assert stored.threads_id == str(chat_id)
        assert stored.parts[0].text.text == "hello world"
        assert message.created_at == at
        assert (updated.message_count, updated.last_activity_at, updated.updated_at, updated.version) == (1, at, at, 2)
        (update,) = _updates(effects)
        assert update.WhichOneof("update") == "message"
        assert update.message.id == stored.id
        assert [e.feed_key for e in effects if isinstance(e, Publish)] == [chat_feed(str(chat_id))]

    def test_message_before_the_chat_exists_is_an_error(self) -> None:
        """A message for a chat that was never created cannot be projected (the event gets parked)."""
        log, chat_id = Log(), uuid.uuid4()
        log.add(
            chat_id,
            "chat",
            message_sent(chat_id, 1, "x", user=ALICE, tenant=TENANT, at=T0),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        with pytest.raises(MissingStateError):
            _project(log, 0, None)

    def test_search_text_holds_text_and_code_parts(self) -> None:
        """Text and code parts are searchable; images and structured parts are not."""
        message = types.ChatMessage(
            parts=[
                types.MessagePart(text=types.TextPart(text="see this")),
                types.MessagePart(code=types.CodePart(language="sql", content="SELECT 1")),
                types.MessagePart(image=types.ImagePart(url="http://x")),
                types.MessagePart(structured=types.StructuredPart(type="reasoning", json="{}")),
            ]
        )
        assert message_text(message) == "see this\nSELECT 1"


class TestChatChanges:
    def test_rename_publishes_the_whole_chat(self) -> None:
        """A title change updates the row and publishes state_changed with the renamed chat."""
        log, chat_id = Log(), uuid.uuid4()
        chat = _created_chat(log, chat_id)
        log.add(
            chat_id,
            "chat",
            chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="title", old_value="A chat", new_value="Renamed"),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        effects = _project(log, 1, chat)
        (row,) = [e.row for e in effects if isinstance(e, PutChat)]
        (update,) = _updates(effects)
        assert row.title == "Renamed"
        assert update.state_changed.field == "title"
        assert update.state_changed.threads.title == "Renamed"
        assert update.state_changed.threads.version == 2

    def test_metadata_change_reads_the_json_value(self) -> None:
        """A metadata change carries ChatMetadata as proto JSON."""
        log, chat_id = Log(), uuid.uuid4()
        chat = _created_chat(log, chat_id)
        value = '{"description": "new", "tags": ["a", "b"], "labels": {"x": "y"}}'
        log.add(
            chat_id,
            "chat",
            chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="metadata", new_value=value),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        (row,) = [e.row for e in _project(log, 1, chat) if isinstance(e, PutChat)]
        assert (row.description, row.tags, dict(row.labels)) == ("new", ("a", "b"), {"x": "y"})

    def test_visibility_change_and_delete(self) -> None:
        """Visibility changes publish state_changed; a delete marks the row and publishes deleted."""
        log, chat_id = Log(), uuid.uuid4()
        chat = _created_chat(log, chat_id)
        log.add(
            chat_id,
            "chat",
            chat_ev.ChatVisibilityChangedEvent(threads_id=str(chat_id), new_visibility=types.CHAT_VISIBILITY_TEAM),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        effects = _project(log, 1, chat)
        (visible,) = [e.row for e in effects if isinstance(e, PutChat)]
        assert visible.visibility == types.CHAT_VISIBILITY_TEAM
        assert _updates(effects)[0].state_changed.field == "visibility"
        log.add(chat_id, "chat", chat_ev.ChatDeletedEvent(threads_id=str(chat_id)), user=ALICE, tenant=TENANT, at=T0)
        effects = _project(log, 2, visible)
        (deleted,) = [e.row for e in effects if isinstance(e, PutChat)]
        assert deleted.deleted
        assert _updates(effects)[0].deleted.threads_id == str(chat_id)

    def test_associate_and_dissociate(self) -> None:
        """The chat side of a link writes the relation (UNSPECIFIED = REFERENCED) and removes it."""
        log, chat_id, artifact_id = Log(), uuid.uuid4(), uuid.uuid4()
        chat = _created_chat(log, chat_id)
        associated, _ = link_events(chat_id, artifact_id, types.RELATION_TYPE_UNSPECIFIED)
        log.add(chat_id, "chat", associated, user="bob", tenant=TENANT, at=T0)
        effects = _project(log, 1, chat)
        (link,) = [e.row for e in effects if isinstance(e, Link)]
        assert (link.chat_id, link.artifact_id, link.linked_by) == (chat_id, artifact_id, "bob")
        assert link.relation_type == types.RELATION_TYPE_REFERENCED
        assert _updates(effects)[0].relation.artifact_id == str(artifact_id)
        dissociated, _ = unlink_events(chat_id, artifact_id)
        log.add(chat_id, "chat", dissociated, user="bob", tenant=TENANT, at=T0)
        effects = _project(log, 2, chat)
        assert [e for e in effects if isinstance(e, Unlink)] == [Unlink(chat_id, artifact_id)]
        assert _updates(effects)[0].relation_removed.artifact_id == str(artifact_id)


ARTIFACT_A, ARTIFACT_B = uuid.uuid4(), uuid.uuid4()


def _linked(chat_id: uuid.UUID, artifact_id: uuid.UUID, version: int) -> LinkedArtifact:
    link = LinkRow(chat_id, artifact_id, TENANT, types.RELATION_TYPE_CREATED, T0, ALICE)
    return LinkedArtifact(link, version)


def _announced(plan: Plan) -> list[tuple[str, str, str, int, int]]:
    """(artifact feed, case, title, version, visibility before) of each artifact-feed update, in order."""
    found = []
    for publish in plan.publish:
        if publish.feed_key.startswith("artifact:"):
            update = art_svc.ArtifactUpdate.FromString(publish.update)
            case = str(update.WhichOneof("update"))
            title = update.threads_added.threads_title
            found.append((publish.feed_key, case, title, update.version, publish.chat_visibility_before))
    return found


class TestAnnouncedToLinkedArtifacts:
    """A chat's changes reach the feeds of the artifacts it is linked to (the query service screens them)."""

    def _log(self, chat_id: uuid.UUID, *payloads: Message) -> Log:
        log = Log()
        log.add(chat_id, "chat", chat_created(chat_id, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0)
        for payload in payloads:
            log.add(chat_id, "chat", payload, user=ALICE, tenant=TENANT, at=T0)
        return log

    def test_rename_visibility_and_deletion_reach_every_linked_artifact(self) -> None:
        """Each change: one update per artifact, at that artifact's version; deletion removes the chat."""
        chat_id = uuid.uuid4()
        log = self._log(
            chat_id,
            chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="title", new_value="Renamed"),
            chat_ev.ChatVisibilityChangedEvent(threads_id=str(chat_id), new_visibility=types.CHAT_VISIBILITY_TEAM),
            chat_ev.ChatVisibilityChangedEvent(threads_id=str(chat_id), new_visibility=types.CHAT_VISIBILITY_PRIVATE),
            chat_ev.ChatDeletedEvent(threads_id=str(chat_id)),
        )
        decoded = decode_batch(log.events[1:], {chat_id: 1})
        assert decoded.announcing_chat_ids() == {chat_id}
        chat = _created_chat(Log(), chat_id)
        links = {chat_id: [_linked(chat_id, ARTIFACT_A, 4), _linked(chat_id, ARTIFACT_B, 1)]}
        plan = plan_batch(decoded, {chat_id: chat}, {}, links)
        a, b = f"artifact:{ARTIFACT_A}", f"artifact:{ARTIFACT_B}"
        private, team = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM
        assert _announced(plan) == [
            (a, "threads_added", "Renamed", 4, 0),
            (b, "threads_added", "Renamed", 1, 0),
            (a, "threads_added", "Renamed", 4, private),
            (b, "threads_added", "Renamed", 1, private),
            (a, "threads_added", "Renamed", 4, team),
            (b, "threads_added", "Renamed", 1, team),
            (a, "threads_removed", "", 4, private),
            (b, "threads_removed", "", 1, private),
        ]
        added = art_svc.ArtifactUpdate.FromString(plan.publish[1].update).threads_added
        assert (added.threads_id, added.relation_type) == (str(chat_id), types.RELATION_TYPE_CREATED)

    def test_links_changed_in_the_batch_count_and_deleted_artifacts_do_not(self) -> None:
        """Unlinked earlier in the batch: not told; linked in it: told at its version; deleted: its feed ended."""
        chat_id = uuid.uuid4()
        _, unlinked = unlink_events(chat_id, ARTIFACT_A)
        log = self._log(chat_id)
        log.add(ARTIFACT_A, "artifact", unlinked, user=ALICE, tenant=TENANT, at=T0)
        created = uuid.uuid4()
        log.add(
            created, "artifact", artifact_created(created, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0
        )
        _, linked = link_events(chat_id, created)
        log.add(created, "artifact", linked, user=ALICE, tenant=TENANT, at=T0)
        log.add(
            chat_id,
            "chat",
            chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="title", new_value="Renamed"),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        chat = _created_chat(Log(), chat_id)
        gone = _artifact_row(ARTIFACT_B, deleted=True)
        artifact_a = _artifact_row(ARTIFACT_A, deleted=False)
        links = {chat_id: [_linked(chat_id, ARTIFACT_A, 2), _linked(chat_id, ARTIFACT_B, 1)]}
        plan = plan_batch(
            decode_batch(log.events[1:], {chat_id: 1}),
            {chat_id: chat},
            {ARTIFACT_A: artifact_a, ARTIFACT_B: gone},
            links,
        )
        renamed = [item for item in _announced(plan) if item[2] == "Renamed"]
        assert renamed == [(f"artifact:{created}", "threads_added", "Renamed", 1, 0)]

    def test_other_changes_and_a_batch_without_links_announce_nothing(self) -> None:
        """Messages and metadata leave artifacts alone; without the links (a silent rebuild) nothing is sent."""
        chat_id = uuid.uuid4()
        log = self._log(
            chat_id,
            message_sent(chat_id, 1, "hi", user=ALICE, tenant=TENANT, at=T0),
            chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="metadata", new_value="{}"),
        )
        decoded = decode_batch(log.events[1:], {chat_id: 1})
        chat = _created_chat(Log(), chat_id)
        plan = plan_batch(decoded, {chat_id: chat}, {}, {chat_id: [_linked(chat_id, ARTIFACT_A, 1)]})
        assert _announced(plan) == []
        renamed = self._log(chat_id, chat_ev.ChatUpdatedEvent(threads_id=str(chat_id), field="title", new_value="X"))
        assert _announced(plan_batch(decode_batch(renamed.events[1:], {chat_id: 1}), {chat_id: chat}, {})) == []


def _artifact_row(artifact_id: uuid.UUID, *, deleted: bool) -> ArtifactRow:
    return ArtifactRow(artifact_id, TENANT, ALICE, "A", "bpmn", {}, 3, "", None, None, T0, T0, deleted=deleted)


class TestBatch:
    def test_a_batch_folds_into_one_row_per_chat(self) -> None:
        """Create + 3 messages in one batch write one chat row with message_count 3 and 3 messages."""
        log, chat_id = Log(), uuid.uuid4()
        log.add(chat_id, "chat", chat_created(chat_id, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0)
        for seq in (1, 2, 3):
            at = T0 + dt.timedelta(seconds=seq)
            log.add(
                chat_id,
                "chat",
                message_sent(chat_id, seq, f"m{seq}", user=ALICE, tenant=TENANT, at=at),
                user=ALICE,
                tenant=TENANT,
                at=at,
            )
        decoded = decode_batch(log.events, {})
        plan = plan_batch(decoded, {}, {})
        assert plan.chats[chat_id].message_count == 3
        assert plan.chats[chat_id].version == 4
        assert [m.seq for m in plan.messages] == [1, 2, 3]
        assert decoded.heads == {chat_id: (TENANT, 4)}

    def test_already_applied_versions_are_skipped(self) -> None:
        """Events at or below the applied stream version are dropped (idempotent replays)."""
        log, chat_id = Log(), uuid.uuid4()
        log.add(chat_id, "chat", chat_created(chat_id, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0)
        log.add(
            chat_id,
            "chat",
            message_sent(chat_id, 1, "m", user=ALICE, tenant=TENANT, at=T0),
            user=ALICE,
            tenant=TENANT,
            at=T0,
        )
        decoded = decode_batch(log.events, {chat_id: 2})
        assert decoded.envelopes == []
        assert decoded.heads == {}

    def test_unknown_event_types_are_skipped_but_advance_the_version(self) -> None:
        """An event type this projector does not know is reported, and its stream version still advances."""
        log, chat_id = Log(), uuid.uuid4()
        log.add(chat_id, "chat", chat_created(chat_id, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0)
        event = log.events[0]
        unknown = type(event)(**{**{f: getattr(event, f) for f in event.__slots__}, "event_type": "x.FutureEvent"})
        decoded = decode_batch([unknown], {})
        assert decoded.unknown == [unknown]
        assert decoded.heads == {chat_id: (TENANT, 1)}

    def test_link_unlink_link_in_one_batch_deletes_then_links(self) -> None:
        """A pair linked, unlinked and linked again in one batch is deleted first, then linked afresh."""
        log, chat_id, artifact_id = Log(), uuid.uuid4(), uuid.uuid4()
        log.add(chat_id, "chat", chat_created(chat_id, user=ALICE, tenant=TENANT), user=ALICE, tenant=TENANT, at=T0)
        for step, payload in enumerate(
            (
                link_events(chat_id, artifact_id)[0],
                unlink_events(chat_id, artifact_id)[0],
                link_events(chat_id, artifact_id)[0],
            ),
            start=1,
        ):
            at = T0 + dt.timedelta(seconds=step)
            log.add(chat_id, "chat", payload, user=ALICE, tenant=TENANT, at=at)
        plan = plan_batch(decode_batch(log.events, {}), {}, {})
        change = plan.links[chat_id, artifact_id]
        assert change.delete_first
        assert change.put is not None
        assert change.put.linked_at == T0 + dt.timedelta(seconds=3)


def test_message_update_bytes_equal_the_proto_serialization() -> None:
    """The hand-assembled ChatUpdate(message) bytes are exactly what protobuf would serialize."""
    log, chat_id = Log(), uuid.uuid4()
    chat = _created_chat(log, chat_id)
    log.add(
        chat_id,
        "chat",
        message_sent(chat_id, 1, "x" * 300, user=ALICE, tenant=TENANT, at=T0),
        user=ALICE,
        tenant=TENANT,
        at=T0,
    )
    effects = _project(log, 1, chat)
    (publish,) = [e for e in effects if isinstance(e, Publish)]
    (added,) = [e.row for e in effects if isinstance(e, AddMessage)]
    expected = svc.ChatUpdate(message=types.ChatMessage.FromString(added.payload))
    expected.timestamp.FromDatetime(T0)
    assert publish.update == expected.SerializeToString(deterministic=True)


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 0, 2, 7, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
        T0,
        dt.datetime(2262, 4, 11, 23, 47, 16, 854_775, tzinfo=dt.UTC),
    ],
)
@pytest.mark.parametrize("size", [0, 127, 128, 300, 20_000])
def test_message_update_bytes_equal_the_proto_serialization_at_edges(at: dt.datetime, size: int) -> None:
    """Zero, one-byte and multi-byte varints, zero seconds or nanos, times before 1970: still protobuf's bytes."""
    message = types.ChatMessage(id="m", parts=[types.MessagePart(text=types.TextPart(text="x" * size))])
    serialized = message.SerializeToString(deterministic=True)
    chat_id = uuid.uuid4()
    sent = message_sent(chat_id, 1, "x", user=ALICE, tenant=TENANT, at=at)
    envelope = decode(Log().add(chat_id, "chat", sent, user=ALICE, tenant=TENANT, at=at))
    assert envelope is not None
    expected = svc.ChatUpdate(message=message)
    expected.timestamp.FromDatetime(at)
    assert message_update(envelope, serialized).update == expected.SerializeToString(deterministic=True)
