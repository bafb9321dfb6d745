from __future__ import annotations

import pytest

from ameide_command.domain import ensure
from ameide_command.domain.commands import EnsureChatForArtifact
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import (
    PRIVATE,
    REFERENCED,
    TEAM,
    UNSPECIFIED_VISIBILITY,
    Actor,
    AgentPolicy,
    ArtifactState,
    ChatState,
    Visibility,
)
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from tests.unit.command.command_builders import (
    ARTIFACT_ID,
    CHAT_ID,
    OTHER_ID,
    OWNER,
    PEER,
    STRANGER,
    T0,
    artifact_state,
    chat_state,
    text_message,
)

pytestmark = pytest.mark.unit

AGENTS = AgentPolicy({"bpmn": "bpmn-assistant"}, "general-assistant")


def decide(
    chat: ChatState | None,
    artifact: ArtifactState | None,
    *,
    chat_id: str = "",
    visibility: Visibility = UNSPECIFIED_VISIBILITY,
    actor: Actor = OWNER,
    max_title: int = 256,
) -> ensure.EnsureDecision:
    """Decide an Ensure about the test artifact into ``chat_id`` or a new chat."""
    command = EnsureChatForArtifact(
        ARTIFACT_ID, chat_id, text_message(), visibility, "key-1", new_chat_id=OTHER_ID, message_id="m-1", at=T0
    )
    return ensure.ensure(chat, artifact, command, actor, agents=AGENTS, max_title_chars=max_title)


class TestEnsureNewChat:
    def test_creates_links_and_sends_in_one_decision(self) -> None:
        """Chat created + associated + message sent on the chat, chat linked on the artifact, in that order."""
        decision = decide(None, artifact_state())
        assert (decision.chat_id, decision.created) == (OTHER_ID, True)
        created, associated, sent = decision.chat_events
        assert created == chat_ev.ChatCreatedEvent(
            threads_id=OTHER_ID,
            user_id=OWNER.user_id,
            tenant_id=OWNER.tenant_id,
            title="Discussion about Order Process",
            visibility=PRIVATE,
            artifact_id=ARTIFACT_ID,
            agent_id="bpmn-assistant",
            metadata=created.metadata,  # type: ignore[attr-defined]
        )
        assert associated == chat_ev.ArtifactAssociatedEvent(
            threads_id=OTHER_ID, artifact_id=ARTIFACT_ID, relation_type=REFERENCED
        )
        assert isinstance(sent, chat_ev.MessageSentEvent)
        assert (sent.message.sequence, sent.message.artifact_id, sent.message.threads_id) == (1, ARTIFACT_ID, OTHER_ID)
        assert decision.artifact_events == [
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=OTHER_ID, relation_type=REFERENCED)
        ]

    def test_unknown_kind_gets_default_agent_and_requested_visibility(self) -> None:
        """The agent falls back to the default; visibility comes from the request."""
        created = decide(None, artifact_state(kind="text"), visibility=TEAM).chat_events[0]
        assert isinstance(created, chat_ev.ChatCreatedEvent)
        assert (created.agent_id, created.visibility) == ("general-assistant", TEAM)

    def test_title_is_cut_to_the_limit(self) -> None:
        """A long artifact title cannot produce an oversize chat title."""
        created = decide(None, artifact_state(), max_title=10).chat_events[0]
        assert isinstance(created, chat_ev.ChatCreatedEvent)
        assert created.title == "Discussion"

    @pytest.mark.parametrize(
        "artifact",
        [None, artifact_state(owner=STRANGER), artifact_state(art_ev.ArtifactDeletedEvent(artifact_id=ARTIFACT_ID))],
        ids=["unknown", "other-tenant", "deleted"],
    )
    def test_artifact_must_exist_in_the_tenant(self, artifact: ArtifactState | None) -> None:
        """Unknown, foreign or deleted artifact -> NOT_FOUND, nothing decided."""
        with pytest.raises(NotFoundError, match="artifact"):
            decide(None, artifact)


class TestEnsureExistingChat:
    def test_unlinked_chat_is_linked_then_receives_the_message(self) -> None:
        """An existing chat not yet linked gets the REFERENCED link on both sides and the message."""
        chat = chat_state(PRIVATE, chat_ev.MessageSentEvent(message_id="m-0", threads_id=CHAT_ID))
        decision = decide(chat, artifact_state(), chat_id=CHAT_ID)
        assert (decision.chat_id, decision.created) == (CHAT_ID, False)
        assert [type(e).__name__ for e in decision.chat_events] == ["ArtifactAssociatedEvent", "MessageSentEvent"]
        assert decision.chat_events[1].message.sequence == 2  # type: ignore[attr-defined]
        assert [type(e).__name__ for e in decision.artifact_events] == ["ArtifactChatLinkedEvent"]

    def test_linked_chat_only_receives_the_message(self) -> None:
        """No second link when the chat is already linked."""
        chat = chat_state(
            PRIVATE,
            chat_ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=REFERENCED),
        )
        artifact = artifact_state(
            art_ev.ArtifactChatLinkedEvent(artifact_id=ARTIFACT_ID, threads_id=CHAT_ID, relation_type=REFERENCED)
        )
        decision = decide(chat, artifact, chat_id=CHAT_ID)
        assert [type(e).__name__ for e in decision.chat_events] == ["MessageSentEvent"]
        assert decision.artifact_events == []

    def test_team_chat_accepts_tenant_users(self) -> None:
        """A TEAM chat of another user is writable."""
        decision = decide(chat_state(TEAM), artifact_state(), chat_id=CHAT_ID, actor=PEER)
        assert decision.chat_events[-1].message.user_id == PEER.user_id  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("chat", "actor"),
        [
            (None, OWNER),
            (chat_state(PRIVATE), PEER),
            (chat_state(TEAM, chat_ev.ChatDeletedEvent(threads_id=CHAT_ID)), OWNER),
        ],
        ids=["unknown", "private-of-other", "deleted"],
    )
    def test_chat_must_be_writable(self, chat: ChatState | None, actor: Actor) -> None:
        """A chat the caller cannot write is NOT_FOUND."""
        with pytest.raises(NotFoundError, match="chat"):
            decide(chat, artifact_state(), chat_id=CHAT_ID, actor=actor)
