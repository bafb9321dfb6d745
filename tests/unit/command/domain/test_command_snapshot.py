from __future__ import annotations

import json
import uuid

import pytest

from ameide_command.domain import snapshot
from ameide_command.domain.model import CREATED, TEAM
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from tests.unit.command.command_builders import ARTIFACT_ID, CHAT_ID, artifact_state, chat_state

pytestmark = pytest.mark.unit


class TestSnapshots:
    def test_chat_round_trips(self) -> None:
        """A chat's decision state survives serialization unchanged."""
        state = chat_state(
            TEAM,
            chat_ev.MessageSentEvent(message_id="m", threads_id=CHAT_ID),
            chat_ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=CREATED),
            chat_ev.ChatUpdatedEvent(threads_id=CHAT_ID, field="metadata", new_value='{"labels": {"é": "ü"}}'),
        )
        assert snapshot.load_chat(snapshot.dump_chat(state)) == state

    def test_artifact_round_trips(self) -> None:
        """An artifact's decision state survives serialization unchanged."""
        state = artifact_state(
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=CREATED),
            art_ev.ArtifactMetadataUpdatedEvent(artifact_id=ARTIFACT_ID, title="Ü", labels={"é": "1"}),
        )
        assert snapshot.load_artifact(snapshot.dump_artifact(state)) == state

    def test_artifact_snapshot_does_not_grow_with_its_chats(self) -> None:
        """1,000 linked chats store the same snapshot as one linked chat and 999 other events.

        What every command on a popular artifact loads and stores stays the same size however many chats it has.
        """
        many = artifact_state(*(_linked(index) for index in range(1000)))
        one = artifact_state(_linked(0), *[art_ev.ArtifactAnnotatedEvent(artifact_id=ARTIFACT_ID)] * 999)
        assert many.version == 1001
        assert snapshot.dump_artifact(many) == snapshot.dump_artifact(one)

    def test_artifact_snapshot_with_links_loads_without_them(self) -> None:
        """A format 1 snapshot (it listed the linked chats) loads as the same state, its links ignored."""
        state = artifact_state(_linked(0), art_ev.ArtifactContentUpdatedEvent(artifact_id=ARTIFACT_ID))
        old = json.loads(snapshot.dump_artifact(state))
        old.update(f=1, links={_chat_id(0): [CREATED, 1_735_732_801_000_000, "user-owner"]})
        assert snapshot.load_artifact(json.dumps(old).encode()) == state

    def test_other_format_asks_for_a_rebuild(self) -> None:
        """A snapshot of another format is ignored (the caller replays the events instead)."""
        assert snapshot.load_chat(b'{"f": 99}') is None
        assert snapshot.load_artifact(b"[]") is None

    def test_artifact_without_content_version_asks_for_a_rebuild(self) -> None:
        """A snapshot written before the content version existed is rebuilt from the events."""
        state = artifact_state(art_ev.ArtifactContentUpdatedEvent(artifact_id=ARTIFACT_ID))
        old = json.loads(snapshot.dump_artifact(state))
        del old["cv"]
        assert snapshot.load_artifact(json.dumps(old).encode()) is None


class TestArtifactVersion:
    def test_only_content_and_metadata_changes_count(self) -> None:
        """Links, unlinks, annotations and deletion advance the stream version, not the artifact's version."""
        state = artifact_state(
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=CREATED),
            art_ev.ArtifactContentUpdatedEvent(artifact_id=ARTIFACT_ID),
            art_ev.ArtifactAnnotatedEvent(artifact_id=ARTIFACT_ID, annotation_type="note"),
            art_ev.ArtifactChatUnlinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID),
            art_ev.ArtifactMetadataUpdatedEvent(artifact_id=ARTIFACT_ID, title="B"),
            art_ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID),
        )
        assert (state.version, state.content_version) == (7, 3)


def _chat_id(index: int) -> str:
    return str(uuid.UUID(int=index + 1, version=4))


def _linked(index: int) -> art_ev.ArtifactChatLinkedEvent:
    return art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=_chat_id(index), relation_type=CREATED)
