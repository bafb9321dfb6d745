"""Presence through the real deployables: announce, typing, leave reach subscribers; access and tenants apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
import pytest

from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_sdk import error_reason
from tests.e2e.live.conftest import CallerFactory
from tests.e2e.live.live_harness import TYPING, VIEWING, Kind, case

pytestmark = pytest.mark.e2e

PRIVATE, PUBLIC = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_PUBLIC


def joined(user: str, state: int = VIEWING) -> Callable[[Any], bool]:
    """A JOINED of ``user`` in ``state``."""
    return case("presence_changed", kind=Kind.KIND_JOINED, participant__user_id=user, participant__state=state)


class TestAnnounceAndLeave:
    async def test_a_subscriber_sees_join_typing_and_leave(self, callers: CallerFactory, tenant: str) -> None:
        """Each change arrives on the stream without a checkpoint token; the answer says when to renew."""
        alice, bob = callers("alice", tenant), callers("bob", tenant)
        chat = await alice.chat()
        async with bob.follow(chat) as stream:
            answer = await alice.announce(chat, display_name="Alice")
            assert answer.renew_after_ms == 10_000
            update = await stream.wait_for(joined("alice"))
            assert (update.checkpoint_token, update.presence_changed.participant.display_name) == ("", "Alice")
            await alice.announce(chat, state=TYPING)
            await stream.wait_for(case("presence_changed", kind=Kind.KIND_TYPING_STARTED))
            await alice.announce(chat, state=VIEWING)
            await stream.wait_for(case("presence_changed", kind=Kind.KIND_TYPING_STOPPED))
            await alice.leave(chat)
            left = await stream.wait_for(case("presence_changed", kind=Kind.KIND_LEFT))
            assert not left.presence_changed.expired

    async def test_a_new_subscriber_starts_from_the_current_set(self, callers: CallerFactory, tenant: str) -> None:
        """ListPresence and the stream's snapshot both show who is there already."""
        alice, bob = callers("alice", tenant), callers("bob", tenant)
        chat = await alice.chat()
        await alice.announce(chat, state=TYPING, display_name="Alice")
        listed = await bob.presence.ListPresence(live.ListPresenceRequest(threads_id=chat), metadata=bob.metadata)
        assert [(p.user_id, p.state, p.display_name) for p in listed.participants] == [("alice", TYPING, "Alice")]
        async with bob.follow(chat) as stream:
            [snapshot] = stream.of("presence_snapshot")
            assert [p.user_id for p in snapshot.participants] == ["alice"]
        await alice.leave(chat)

    async def test_many_tabs_of_one_user_are_one_participant(self, callers: CallerFactory, tenant: str) -> None:
        """The second tab joins nothing; closing the first leaves nothing; closing the last is LEFT."""
        alice, bob = callers("alice", tenant), callers("bob", tenant)
        chat = await alice.chat()
        async with bob.follow(chat) as stream:
            await alice.announce(chat, "tab-1")
            await alice.announce(chat, "tab-2")
            await alice.leave(chat, "tab-1")
            await alice.leave(chat, "tab-2")
            await stream.wait_for(case("presence_changed", kind=Kind.KIND_LEFT))
            kinds = [change.kind for change in stream.of("presence_changed")]
            assert kinds == [Kind.KIND_JOINED, Kind.KIND_LEFT]

    async def test_streams_without_signals_get_none(self, callers: CallerFactory, tenant: str) -> None:
        """A client that does not ask for live signals is not sent any (existing clients are unaffected)."""
        alice = callers("alice", tenant)
        chat = await alice.chat()
        async with alice.follow(chat, signals=False) as plain, alice.follow(chat) as with_signals:
            await alice.announce(chat)
            await with_signals.wait_for(joined("alice"))
            await alice.chats.SendMessage(_text_message(chat), metadata=alice.metadata)
            await plain.wait_for(case("message"))
            assert [c for c in plain.cases() if c not in {"control", "message"}] == []
        await alice.leave(chat)

    async def test_artifact_presence(self, callers: CallerFactory, tenant: str) -> None:
        """The artifact stream carries presence too."""
        alice, bob = callers("alice", tenant), callers("bob", tenant)
        artifact_id = await alice.artifact()
        async with bob.follow_artifact(artifact_id) as stream:
            await alice.presence.AnnouncePresence(
                live.AnnouncePresenceRequest(artifact_id=artifact_id, client_id="tab-1", state=VIEWING),
                metadata=alice.metadata,
            )
            await stream.wait_for(joined("alice"))


class TestAccess:
    async def test_a_resource_the_caller_may_not_read_is_not_found(self, callers: CallerFactory, tenant: str) -> None:
        """Another user's PRIVATE chat, another tenant's chat or artifact: NOT_FOUND, as GetChat says."""
        owner, colleague, stranger = callers("owner", tenant), callers("colleague", tenant), callers("x", "elsewhere")
        private = await owner.chat(PRIVATE)
        team = await owner.chat()
        artifact_id = await owner.artifact()
        announce = live.AnnouncePresenceRequest
        for caller, request, reason in [
            (colleague, announce(threads_id=private, client_id="t", state=VIEWING), "CHAT_NOT_FOUND"),
            (stranger, announce(threads_id=team, client_id="t", state=VIEWING), "CHAT_NOT_FOUND"),
            (stranger, announce(artifact_id=artifact_id, client_id="t", state=VIEWING), "ARTIFACT_NOT_FOUND"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await caller.presence.AnnouncePresence(request, metadata=caller.metadata)
            assert (caught.value.code(), error_reason(caught.value)) == (grpc.StatusCode.NOT_FOUND, reason)
        with pytest.raises(grpc.aio.AioRpcError) as listed:
            await stranger.presence.ListPresence(live.ListPresenceRequest(threads_id=team), metadata=stranger.metadata)
        assert listed.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_bad_requests_name_their_fields(self, callers: CallerFactory, tenant: str) -> None:
        """INVALID_ARGUMENT with every bad field, never UNKNOWN or INTERNAL."""
        alice = callers("alice", tenant)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await alice.presence.AnnouncePresence(
                live.AnnouncePresenceRequest(client_id="no spaces", display_name="x" * 65), metadata=alice.metadata
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = caught.value.details() or ""
        for field in ("resource", "client_id", "state", "display_name"):
            assert field in details

    async def test_public_chat_readers_of_other_tenants_are_not_revealed(
        self, callers: CallerFactory, tenant: str
    ) -> None:
        """On a PUBLIC chat each tenant sees its own participants only.

        The owner's tenant never sees the outside readers; the outside readers see their colleagues only.
        """
        owner, outsider, outsider_colleague = (
            callers("owner", tenant),
            callers("eve", "globex"),
            callers("ann", "globex"),
        )
        chat = await owner.chat(PUBLIC)
        async with owner.follow(chat) as owners_view, outsider_colleague.follow(chat) as outsiders_view:
            await owner.announce(chat, display_name="Owner")
            await outsider.announce(chat, display_name="Eve")
            await outsiders_view.wait_for(joined("eve"))
            await owners_view.wait_for(joined("owner"))
            assert [c.participant.user_id for c in outsiders_view.of("presence_changed")] == ["eve"]
            listed = await owner.presence.ListPresence(live.ListPresenceRequest(threads_id=chat),
                                                       metadata=owner.metadata)  # fmt: skip
            assert [p.user_id for p in listed.participants] == ["owner"]
            await outsider.leave(chat)
            await outsiders_view.wait_for(case("presence_changed", kind=Kind.KIND_LEFT))
            assert [c.participant.user_id for c in owners_view.of("presence_changed")] == ["owner"]
        await owner.leave(chat)


def _text_message(chat_id: str) -> chats.SendMessageRequest:
    request = chats.SendMessageRequest(threads_id=chat_id)
    request.message.role = "user"
    request.message.parts.add().text.text = "hello"
    return request
