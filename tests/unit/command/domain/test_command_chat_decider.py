from __future__ import annotations

import pytest

from ameide_command.domain import chat
from ameide_command.domain.commands import ChangeVisibility, DeleteChat, RenameChat, SendMessage, StartChat
from ameide_command.domain.errors import InvalidCommandError, NotFoundError, PermissionDeniedError
from ameide_command.domain.model import (
    PRIVATE,
    PUBLIC,
    REFERENCED,
    TEAM,
    UNSPECIFIED_VISIBILITY,
    Actor,
    ChatState,
    Happened,
    Link,
    Visibility,
)
from ameide_core_proto.threads.v1 import threads_events_pb2 as ev
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.unit.command.command_builders import (
    ARTIFACT_ID,
    CHAT_ID,
    OWNER,
    PEER,
    STRANGER,
    T0,
    chat_state,
    text_message,
)

pytestmark = pytest.mark.unit


def send(state: ChatState | None, actor: Actor) -> ev.MessageSentEvent:
    """Send a one-part text message as ``actor``."""
    command = SendMessage(CHAT_ID, text_message(), idempotency_key="k-1", message_id="m-1", at=T0)
    return chat.send_message(state, command, actor)


class TestStartChat:
    def test_unspecified_visibility_means_private(self) -> None:
        """A chat created without visibility is PRIVATE and owned by the caller."""
        event = chat.start(StartChat("Plan", UNSPECIFIED_VISIBILITY, "agent", chat_id=CHAT_ID), OWNER)
        assert event.visibility == PRIVATE
        assert (event.user_id, event.tenant_id, event.threads_id) == (OWNER.user_id, OWNER.tenant_id, CHAT_ID)

    def test_keeps_requested_visibility_and_metadata(self) -> None:
        """Visibility, agent and metadata are taken as given."""
        command = StartChat("Plan", TEAM, "bpmn-assistant", {"k": "v"}, "about", ("a", "b"), chat_id=CHAT_ID)
        event = chat.start(command, OWNER)
        assert event.visibility == TEAM
        assert event.agent_id == "bpmn-assistant"
        assert event.metadata == types.ChatMetadata(labels={"k": "v"}, description="about", tags=["a", "b"])


class TestSendMessage:
    def test_owner_sends_to_private_chat(self) -> None:
        """The message gets the next sequence, the sender, tenant, time and idempotency key."""
        state = chat_state(PRIVATE, ev.MessageSentEvent(message_id="m-0", threads_id=CHAT_ID))
        event = send(state, OWNER)
        message = event.message
        assert (event.message_id, event.threads_id) == ("m-1", CHAT_ID)
        assert (message.id, message.sequence, message.role) == ("m-1", 2, "user")
        assert (message.user_id, message.tenant_id, message.idempotency_key) == ("user-owner", "tenant-a", "k-1")
        assert message.created_at.ToDatetime(tzinfo=T0.tzinfo) == T0
        assert message.parts[0].text.text == "hello"

    @pytest.mark.parametrize("visibility", [TEAM, PUBLIC])
    def test_tenant_user_sends_to_shared_chat(self, visibility: Visibility) -> None:
        """TEAM and PUBLIC chats accept messages from every user of the tenant."""
        assert send(chat_state(visibility), PEER).message.user_id == PEER.user_id

    def test_other_user_of_private_chat_gets_not_found(self) -> None:
        """A PRIVATE chat of another user does not exist for the caller."""
        with pytest.raises(NotFoundError):
            send(chat_state(PRIVATE), PEER)

    @pytest.mark.parametrize("visibility", [PRIVATE, TEAM, PUBLIC])
    def test_other_tenant_gets_not_found(self, visibility: Visibility) -> None:
        """Another tenant's chat is NOT_FOUND whatever its visibility (PUBLIC is read-only across tenants)."""
        with pytest.raises(NotFoundError):
            send(chat_state(visibility), STRANGER)

    def test_deleted_chat_is_not_found(self) -> None:
        """A deleted chat takes no more messages."""
        with pytest.raises(NotFoundError):
            send(chat_state(TEAM, ev.ChatDeletedEvent(threads_id=CHAT_ID)), OWNER)

    def test_unknown_chat_is_not_found(self) -> None:
        """A chat that was never created is NOT_FOUND."""
        with pytest.raises(NotFoundError):
            send(None, OWNER)


class TestRenameChat:
    def test_owner_renames(self) -> None:
        """Renaming records the old and the new title."""
        events = chat.rename(chat_state(), RenameChat(CHAT_ID, "New"), OWNER)
        assert events == [ev.ChatUpdatedEvent(threads_id=CHAT_ID, field="title", old_value="Plan", new_value="New")]

    def test_same_title_changes_nothing(self) -> None:
        """Renaming to the current title records nothing."""
        assert chat.rename(chat_state(), RenameChat(CHAT_ID, "Plan"), OWNER) == []

    @pytest.mark.parametrize("visibility", [TEAM, PUBLIC])
    def test_other_user_who_sees_it_is_denied(self, visibility: Visibility) -> None:
        """A tenant user who can see a shared chat may not rename it."""
        with pytest.raises(PermissionDeniedError):
            chat.rename(chat_state(visibility), RenameChat(CHAT_ID, "New"), PEER)

    def test_other_user_of_private_chat_gets_not_found(self) -> None:
        """A user who cannot see the chat learns nothing about it."""
        with pytest.raises(NotFoundError):
            chat.rename(chat_state(PRIVATE), RenameChat(CHAT_ID, "New"), PEER)

    def test_other_tenant_gets_not_found(self) -> None:
        """Another tenant's owner-only operation is NOT_FOUND, never PERMISSION_DENIED."""
        with pytest.raises(NotFoundError):
            chat.rename(chat_state(PUBLIC), RenameChat(CHAT_ID, "New"), STRANGER)


class TestChangeVisibility:
    def test_owner_changes_visibility(self) -> None:
        """The event records the old and new visibility."""
        events = chat.change_visibility(chat_state(PRIVATE), ChangeVisibility(CHAT_ID, TEAM), OWNER)
        assert events == [
            ev.ChatVisibilityChangedEvent(threads_id=CHAT_ID, old_visibility=PRIVATE, new_visibility=TEAM)
        ]

    def test_unspecified_is_invalid(self) -> None:
        """UNSPECIFIED is not a visibility to change to."""
        with pytest.raises(InvalidCommandError) as caught:
            chat.change_visibility(chat_state(), ChangeVisibility(CHAT_ID, UNSPECIFIED_VISIBILITY), OWNER)
        assert [v.field for v in caught.value.violations] == ["visibility"]

    def test_same_visibility_changes_nothing(self) -> None:
        """Setting the current visibility records nothing."""
        assert chat.change_visibility(chat_state(TEAM), ChangeVisibility(CHAT_ID, TEAM), OWNER) == []

    def test_non_owner_is_denied(self) -> None:
        """Only the owner changes visibility."""
        with pytest.raises(PermissionDeniedError):
            chat.change_visibility(chat_state(TEAM), ChangeVisibility(CHAT_ID, PRIVATE), PEER)


class TestDeleteChat:
    def test_owner_deletes(self) -> None:
        """Deletion is one event."""
        assert chat.delete(chat_state(), DeleteChat(CHAT_ID), OWNER) == [ev.ChatDeletedEvent(threads_id=CHAT_ID)]

    def test_deleting_twice_is_not_found(self) -> None:
        """A deleted chat is gone for every command, deletion included."""
        with pytest.raises(NotFoundError):
            chat.delete(chat_state(PRIVATE, ev.ChatDeletedEvent(threads_id=CHAT_ID)), DeleteChat(CHAT_ID), OWNER)

    def test_non_owner_is_denied(self) -> None:
        """A tenant user who sees a PUBLIC chat may not delete it."""
        with pytest.raises(PermissionDeniedError):
            chat.delete(chat_state(PUBLIC), DeleteChat(CHAT_ID), PEER)


class TestEvolveChat:
    def test_history_folds_into_state(self) -> None:
        """Every event type moves the decision state; the version counts events."""
        state = chat_state(
            PRIVATE,
            ev.MessageSentEvent(message_id="m-1", threads_id=CHAT_ID),
            ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=REFERENCED),
            ev.ChatUpdatedEvent(threads_id=CHAT_ID, field="title", old_value="Plan", new_value="Renamed"),
            ev.ChatUpdatedEvent(threads_id=CHAT_ID, field="metadata", new_value='{"description": "d", "tags": ["x"]}'),
            ev.ChatVisibilityChangedEvent(threads_id=CHAT_ID, old_visibility=PRIVATE, new_visibility=TEAM),
            ev.MessageSentEvent(message_id="m-2", threads_id=CHAT_ID),
        )
        assert (state.version, state.message_count, state.title, state.visibility) == (7, 2, "Renamed", TEAM)
        assert (state.description, state.tags, state.deleted) == ("d", ("x",), False)
        assert state.artifacts == {ARTIFACT_ID: Link(REFERENCED, state.created_at.replace(second=2), OWNER.user_id)}
        assert state.last_activity_at == state.created_at.replace(second=6)

    def test_dissociation_and_deletion(self) -> None:
        """Dissociating removes the link; deleting marks the chat deleted."""
        state = chat_state(
            PRIVATE,
            ev.ArtifactAssociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID, relation_type=REFERENCED),
            ev.ArtifactDissociatedEvent(threads_id=CHAT_ID, artifact_id=ARTIFACT_ID),
            ev.ChatDeletedEvent(threads_id=CHAT_ID),
        )
        assert (state.artifacts, state.deleted, state.version) == ({}, True, 4)

    def test_event_before_creation_is_rejected(self) -> None:
        """A history must start with ChatCreatedEvent."""
        with pytest.raises(ValueError, match="before ChatCreatedEvent"):
            chat.evolve(None, Happened(ev.ChatDeletedEvent(threads_id=CHAT_ID), T0, OWNER.user_id))
