"""Artifact-stream projections: rows, readable versions, history and feed updates (no database)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_projector.projections.batch import decode_batch, plan_batch
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.feed.names import artifact_feed
from tests.unit.projector.event_factory import T0, Log, artifact_created, link_events, unlink_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
ALICE = "alice"


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _chat(chat_id: uuid.UUID, title: str) -> ChatRow:
    return ChatRow(
        id=chat_id,
        tenant_id=TENANT,
        owner=ALICE,
        title=title,
        visibility=1,
        description="",
        labels={},
        tags=(),
        agent_id="",
        message_count=0,
        created_at=T0,
        updated_at=T0,
        last_activity_at=T0,
        deleted=False,
        version=1,
    )


@pytest.fixture(name="log")
def fixture_log() -> tuple[Log, uuid.UUID]:
    """A log holding one created artifact."""
    log, artifact_id = Log(), uuid.uuid4()
    created = artifact_created(artifact_id, user=ALICE, tenant=TENANT, body=b"v1")
    log.add(artifact_id, "artifact", created, user=ALICE, tenant=TENANT, at=T0)
    return log, artifact_id


class TestArtifactProjections:
    def test_created_writes_row_first_version_and_history(self, log: tuple[Log, uuid.UUID]) -> None:
        """Creation writes the artifact at version 1, a readable version 1 with content, and a history entry."""
        events, artifact_id = log
        plan = plan_batch(decode_batch(events.events, {}), {}, {})
        row = plan.artifacts[artifact_id]
        assert (row.owner, row.title, row.kind, row.version, row.body, row.mime) == (
            ALICE,
            "Order process",
            "bpmn",
            1,
            b"v1",
            "application/xml",
        )
        (version,) = plan.versions
        assert (version.version, version.body, version.title) == (1, b"v1", "Order process")
        (entry,) = plan.history
        assert (entry.event_type, entry.version, entry.user_id) == ("created", 1, ALICE)
        assert plan.publish == []

    def test_content_and_metadata_changes_are_versions(self, log: tuple[Log, uuid.UUID]) -> None:
        """Content and metadata changes add versions (metadata keeps the content) and publish updates."""
        events, artifact_id = log
        content = art_types.ArtifactContent(mime_type="text/plain", body=b"v2")
        events.add(
            artifact_id,
            "artifact",
            art_ev.ArtifactContentUpdatedEvent(artifact_id=str(artifact_id), content=content),
            user="bob",
            tenant=TENANT,
            at=_at(1),
        )
        events.add(
            artifact_id,
            "artifact",
            art_ev.ArtifactMetadataUpdatedEvent(
                artifact_id=str(artifact_id), title="Renamed", labels={"a": "b"}, old_title="Order process"
            ),
            user="bob",
            tenant=TENANT,
            at=_at(2),
        )
        plan = plan_batch(decode_batch(events.events, {}), {}, {})
        row = plan.artifacts[artifact_id]
        assert (row.version, row.title, dict(row.labels), row.body, row.updated_at) == (
            3,
            "Renamed",
            {"a": "b"},
            b"v2",
            _at(2),
        )
        assert [(v.version, v.body, v.title) for v in plan.versions] == [
            (1, b"v1", "Order process"),
            (2, b"v2", "Order process"),
            (3, None, "Renamed"),
        ]
        assert [h.event_type for h in plan.history] == ["created", "modified", "metadata_changed"]
        assert plan.history[2].metadata["old_title"] == "Order process"
        updates = [svc.ArtifactUpdate.FromString(p.update) for p in plan.publish]
        assert [u.WhichOneof("update") for u in updates] == ["content_updated", "metadata_changed"]
        assert [u.version for u in updates] == [2, 3]
        assert updates[0].content_updated.body == b"v2"
        assert {p.feed_key for p in plan.publish} == {artifact_feed(str(artifact_id))}

    def test_chat_link_names_the_chat_and_enters_history(self, log: tuple[Log, uuid.UUID]) -> None:
        """The artifact side of a link writes the relation, a history entry, and threads_added with the title."""
        events, artifact_id = log
        chat_id = uuid.uuid4()
        _, linked = link_events(chat_id, artifact_id, types.RELATION_TYPE_CREATED)
        events.add(artifact_id, "artifact", linked, user="bob", tenant=TENANT, at=_at(1))
        _, unlinked = unlink_events(chat_id, artifact_id)
        events.add(artifact_id, "artifact", unlinked, user="bob", tenant=TENANT, at=_at(2))
        decoded = decode_batch(events.events, {})
        assert decoded.chat_ids() == {chat_id}
        plan = plan_batch(decoded, {chat_id: _chat(chat_id, "Design")}, {})
        assert [h.event_type for h in plan.history] == ["created", "threads_linked", "threads_unlinked"]
        assert plan.history[1].chat_id == chat_id
        assert plan.history[1].metadata == {"relation_type": "RELATION_TYPE_CREATED"}
        change = plan.links[chat_id, artifact_id]
        assert change.delete_first
        assert change.put is None
        added, removed = (svc.ArtifactUpdate.FromString(p.update) for p in plan.publish)
        assert added.threads_added.threads_title == "Design"
        assert added.threads_added.relation_type == types.RELATION_TYPE_CREATED
        assert removed.threads_removed.threads_id == str(chat_id)
        # Who could list the chat until the unlink (its visibility then) may learn that it is gone; the link names
        # no change of who may read it.
        assert [p.chat_visibility_before for p in plan.publish] == [0, types.CHAT_VISIBILITY_PRIVATE]

    def test_delete_and_annotation(self, log: tuple[Log, uuid.UUID]) -> None:
        """Annotations only enter history; deletion marks the row and publishes deleted."""
        events, artifact_id = log
        events.add(
            artifact_id,
            "artifact",
            art_ev.ArtifactAnnotatedEvent(
                artifact_id=str(artifact_id), annotation_type="suggestion", data={"text": "hi"}
            ),
            user="bob",
            tenant=TENANT,
            at=_at(1),
        )
        events.add(
            artifact_id,
            "artifact",
            art_ev.ArtifactDeletedEvent(artifact_id=str(artifact_id)),
            user=ALICE,
            tenant=TENANT,
            at=_at(2),
        )
        plan = plan_batch(decode_batch(events.events, {}), {}, {})
        assert plan.artifacts[artifact_id].deleted
        assert plan.history[1].metadata == {"text": "hi", "annotation_type": "suggestion"}
        (update,) = [svc.ArtifactUpdate.FromString(p.update) for p in plan.publish]
        assert update.deleted.artifact_id == str(artifact_id)
        assert update.version == 1  # annotation and deletion are no new versions
        assert plan.artifacts[artifact_id].version == 1
        assert [h.version for h in plan.history] == [1, 2, 3]  # history stays keyed by stream version

    def test_links_keep_the_version(self, log: tuple[Log, uuid.UUID]) -> None:
        """A link is no new version: the next content change is version 2, readable under 2, published as 2."""
        events, artifact_id = log
        chat_id = uuid.uuid4()
        _, linked = link_events(chat_id, artifact_id, types.RELATION_TYPE_REFERENCED)
        events.add(artifact_id, "artifact", linked, user="bob", tenant=TENANT, at=_at(1))
        content = art_types.ArtifactContent(mime_type="text/plain", body=b"v2")
        events.add(
            artifact_id,
            "artifact",
            art_ev.ArtifactContentUpdatedEvent(artifact_id=str(artifact_id), content=content),
            user="bob",
            tenant=TENANT,
            at=_at(2),
        )
        plan = plan_batch(decode_batch(events.events, {}), {}, {})
        assert plan.artifacts[artifact_id].version == 2
        assert [(v.version, v.body) for v in plan.versions] == [(1, b"v1"), (2, b"v2")]
        assert [(h.event_type, h.version) for h in plan.history] == [
            ("created", 1),
            ("threads_linked", 2),
            ("modified", 3),
        ]
        updates = [svc.ArtifactUpdate.FromString(p.update) for p in plan.publish]
        assert [(u.WhichOneof("update"), u.version) for u in updates] == [("threads_added", 1), ("content_updated", 2)]
        assert updates[0].threads_added.threads_title == ""  # the chat is not projected yet: read it from rm_chats
