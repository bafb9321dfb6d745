from __future__ import annotations

import pytest

from ameide_command.domain import links
from ameide_command.domain.commands import LinkChatArtifact, UnlinkChatArtifact
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import CREATED, MODIFIED, PRIVATE, REFERENCED, TEAM, UNSPECIFIED_RELATION
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from tests.unit.command.command_builders import (
    ARTIFACT_ID,
    CHAT_ID,
    OWNER,
    PEER,
    STRANGER,
    artifact_state,
    chat_state,
)

pytestmark = pytest.mark.unit

ASSOCIATED = chat_ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=CREATED)
LINKED = art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=CREATED)


class TestLink:
    def test_new_link_is_recorded_on_both_streams(self) -> None:
        """Linking writes the chat side and the artifact side with the same relation type."""
        decision = links.link(chat_state(), artifact_state(), LinkChatArtifact(CHAT_ID, ARTIFACT_ID, MODIFIED), OWNER)
        assert decision.chat_events == [
            chat_ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=MODIFIED)
        ]
        assert decision.artifact_events == [
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=MODIFIED)
        ]

    def test_unspecified_relation_means_referenced(self) -> None:
        """No relation type given -> REFERENCED."""
        command = LinkChatArtifact(CHAT_ID, ARTIFACT_ID, UNSPECIFIED_RELATION)
        decision = links.link(chat_state(), artifact_state(), command, OWNER)
        assert [e.relation_type for e in decision.chat_events] == [REFERENCED]  # type: ignore[attr-defined]

    def test_linking_again_is_a_no_op(self) -> None:
        """An existing pair records nothing, whatever relation type is asked for."""
        command = LinkChatArtifact(CHAT_ID, ARTIFACT_ID, REFERENCED)
        decision = links.link(chat_state(PRIVATE, ASSOCIATED), artifact_state(LINKED), command, OWNER)
        assert (decision.chat_events, decision.artifact_events) == ([], [])

    def test_the_chat_side_tells_whether_the_pair_is_linked(self) -> None:
        """A chat holding the relation is linked, whatever the artifact's history says (it keeps no set of chats)."""
        command = LinkChatArtifact(CHAT_ID, ARTIFACT_ID, MODIFIED)
        decision = links.link(chat_state(PRIVATE, ASSOCIATED), artifact_state(), command, OWNER)
        assert (decision.chat_events, decision.artifact_events) == ([], [])

    def test_chat_without_the_relation_is_linked_on_both_streams(self) -> None:
        """A chat lacking the relation gets it, and the artifact stream its event, with the requested type."""
        command = LinkChatArtifact(CHAT_ID, ARTIFACT_ID, MODIFIED)
        decision = links.link(chat_state(), artifact_state(LINKED), command, OWNER)
        assert decision.chat_events == [
            chat_ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=MODIFIED)
        ]
        assert decision.artifact_events == [
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=MODIFIED)
        ]

    def test_tenant_user_links_shared_chat_to_any_tenant_artifact(self) -> None:
        """Artifacts are tenant-wide; a TEAM chat is linkable by every tenant user."""
        command = LinkChatArtifact(CHAT_ID, ARTIFACT_ID, REFERENCED)
        assert links.link(chat_state(TEAM), artifact_state(), command, PEER).chat_events

    def test_private_chat_of_another_user_is_not_found(self) -> None:
        """A chat the caller cannot see cannot be linked."""
        with pytest.raises(NotFoundError, match="chat"):
            links.link(chat_state(PRIVATE), artifact_state(), LinkChatArtifact(CHAT_ID, ARTIFACT_ID, CREATED), PEER)

    def test_artifact_of_another_tenant_is_not_found(self) -> None:
        """The artifact must be of the caller's tenant."""
        foreign = artifact_state(owner=STRANGER)
        with pytest.raises(NotFoundError, match="artifact"):
            links.link(chat_state(), foreign, LinkChatArtifact(CHAT_ID, ARTIFACT_ID, CREATED), OWNER)

    def test_deleted_artifact_is_not_found(self) -> None:
        """A deleted artifact cannot be linked."""
        deleted = artifact_state(art_ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID))
        with pytest.raises(NotFoundError, match="artifact"):
            links.link(chat_state(), deleted, LinkChatArtifact(CHAT_ID, ARTIFACT_ID, CREATED), OWNER)


class TestUnlink:
    def test_removes_both_sides(self) -> None:
        """Dissociating is an event in both histories."""
        decision = links.unlink(
            chat_state(PRIVATE, ASSOCIATED), artifact_state(LINKED), UnlinkChatArtifact(CHAT_ID, ARTIFACT_ID), OWNER
        )
        assert decision.chat_events == [chat_ev.ArtifactDissociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID)]
        assert decision.artifact_events == [
            art_ev.ArtifactChatUnlinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID)
        ]

    def test_missing_link_is_not_found(self) -> None:
        """Removing a link that does not exist -> NOT_FOUND."""
        with pytest.raises(NotFoundError) as caught:
            links.unlink(chat_state(), artifact_state(), UnlinkChatArtifact(CHAT_ID, ARTIFACT_ID), OWNER)
        assert caught.value.reason == "LINK_NOT_FOUND"

    def test_chat_without_the_relation_is_not_found(self) -> None:
        """A chat not holding the relation is not linked, whatever the artifact's history says."""
        with pytest.raises(NotFoundError) as caught:
            links.unlink(chat_state(), artifact_state(LINKED), UnlinkChatArtifact(CHAT_ID, ARTIFACT_ID), OWNER)
        assert caught.value.reason == "LINK_NOT_FOUND"

    def test_chat_with_the_relation_is_unlinked_on_both_streams(self) -> None:
        """A chat holding the relation loses it, and the artifact stream gets its unlink event too."""
        decision = links.unlink(
            chat_state(PRIVATE, ASSOCIATED), artifact_state(), UnlinkChatArtifact(CHAT_ID, ARTIFACT_ID), OWNER
        )
        assert decision.chat_events == [chat_ev.ArtifactDissociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID)]
        assert decision.artifact_events == [
            art_ev.ArtifactChatUnlinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID)
        ]

    def test_chat_hidden_from_caller_is_not_found(self) -> None:
        """The caller must be able to see the chat."""
        with pytest.raises(NotFoundError, match="chat"):
            links.unlink(
                chat_state(PRIVATE, ASSOCIATED), artifact_state(LINKED), UnlinkChatArtifact(CHAT_ID, ARTIFACT_ID), PEER
            )
