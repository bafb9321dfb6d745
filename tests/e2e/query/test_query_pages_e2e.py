"""Pagination over real gRPC: sizes, last pages, bound tokens, and a 1,000-message walk under concurrent writes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from tests.e2e.query.query_e2e_client import TEAM, Caller, World, failure

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", name="many")
async def fixture_many(world: World) -> tuple[Caller, list[str], str]:
    """A caller with 120 chats (above ListChats' maximum page) and one chat of 230 messages."""
    owner, _, _ = world.people()
    tokens = []
    chats: list[str] = []
    for n in range(120):
        chat, token = await world.create_chat(owner, title=f"chat {n}", visibility=TEAM if n % 2 else 1)
        chats.append(chat)
        tokens.append(token)
    talkative = chats[0]
    last = ""
    for n in range(230):
        last = (await world.send(owner, talkative, f"m{n}")).consistency_token
    await world.settle(owner, [*tokens, last])
    return owner, chats, talkative


class TestPageSizes:
    async def test_zero_means_default_and_above_max_clamps(
        self, world: World, many: tuple[Caller, list[str], str]
    ) -> None:
        """page_size 0 -> 20 chats / 50 messages; above the maximum -> 100 chats / 200 messages."""
        owner, _, talkative = many
        md = owner.metadata
        assert len((await world.chats.ListChats(chat_svc.ListChatsRequest(page_size=0), metadata=md)).threads) == 20
        clamped = await world.chats.ListChats(chat_svc.ListChatsRequest(page_size=1000), metadata=md)
        assert (len(clamped.threads), clamped.total_count) == (100, 120)
        default = await world.chats.GetMessages(chat_svc.GetMessagesRequest(threads_id=talkative), metadata=md)
        assert (len(default.messages), default.has_more, default.total_count) == (50, True, 230)
        big = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=talkative, page_size=5000), metadata=md
        )
        assert len(big.messages) == 200
        artifacts = await world.artifacts.ListArtifacts(art_svc.ListArtifactsRequest(page_size=0), metadata=md)
        assert artifacts.next_page_token == ""

    @pytest.mark.parametrize(
        "call",
        ["ListChats", "GetMessages", "SearchChats", "GetChatArtifacts", "ListArtifacts"],
    )
    async def test_negative_page_size_is_invalid(
        self, world: World, many: tuple[Caller, list[str], str], call: str
    ) -> None:
        """A negative page_size is INVALID_ARGUMENT naming page_size."""
        owner, _, talkative = many
        md = owner.metadata
        requests: dict[str, Callable[[], Awaitable[Any]]] = {
            "ListChats": lambda: world.chats.ListChats(chat_svc.ListChatsRequest(page_size=-1), metadata=md),
            "GetMessages": lambda: world.chats.GetMessages(
                chat_svc.GetMessagesRequest(threads_id=talkative, page_size=-1), metadata=md
            ),
            "SearchChats": lambda: world.chats.SearchChats(
                chat_svc.SearchChatsRequest(query="chat", page_size=-1), metadata=md
            ),
            "GetChatArtifacts": lambda: world.chats.GetChatArtifacts(
                chat_svc.GetChatArtifactsRequest(threads_id=talkative, page_size=-1), metadata=md
            ),
            "ListArtifacts": lambda: world.artifacts.ListArtifacts(
                art_svc.ListArtifactsRequest(page_size=-1), metadata=md
            ),
        }
        details = await failure(requests[call]())
        assert (details.code, list(details.field_violations)) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_size"])


class TestPageTokens:
    async def test_walking_every_page_lists_each_chat_once_and_ends_empty(
        self, world: World, many: tuple[Caller, list[str], str]
    ) -> None:
        """Keyset pages cover the list exactly; the last page has no next_page_token."""
        owner, chats, _ = many
        seen: list[str] = []
        token = ""
        pages = 0
        while True:
            page = await world.chats.ListChats(
                chat_svc.ListChatsRequest(page_size=50, page_token=token), metadata=owner.metadata
            )
            seen.extend(c.id for c in page.threads)
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert (pages, len(seen), set(seen)) == (3, 120, set(chats))

    async def test_a_token_is_bound_to_its_filter_and_caller(
        self, world: World, many: tuple[Caller, list[str], str]
    ) -> None:
        """Reusing a token with another filter or caller, or a garbage token, is INVALID_ARGUMENT."""
        owner, _, talkative = many
        first = await world.chats.ListChats(chat_svc.ListChatsRequest(page_size=5), metadata=owner.metadata)
        other_filter = chat_svc.ListChatsRequest(
            page_token=first.next_page_token, filter=chat_svc.ChatFilter(visibility=TEAM)
        )
        colleague = world.caller("colleague", owner.tenant_id)
        messages = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=talkative, page_size=5), metadata=owner.metadata
        )
        calls: list[Awaitable[Any]] = [
            world.chats.ListChats(other_filter, metadata=owner.metadata),
            world.chats.ListChats(
                chat_svc.ListChatsRequest(page_token=first.next_page_token), metadata=colleague.metadata
            ),
            world.chats.ListChats(chat_svc.ListChatsRequest(page_token="not-a-token"), metadata=owner.metadata),
            world.chats.ListChats(
                chat_svc.ListChatsRequest(page_token=messages.next_page_token), metadata=owner.metadata
            ),
            world.chats.GetMessages(
                chat_svc.GetMessagesRequest(
                    threads_id=talkative, newest_first=True, page_token=messages.next_page_token
                ),
                metadata=owner.metadata,
            ),
            world.chats.GetMessages(
                chat_svc.GetMessagesRequest(threads_id=talkative, page_token=first.next_page_token[:-3] + "abc"),
                metadata=owner.metadata,
            ),
        ]
        for call in calls:
            details = await failure(call)
            assert (details.code, list(details.field_violations)) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])

    async def test_last_page_of_messages(self, world: World, many: tuple[Caller, list[str], str]) -> None:
        """The last page of messages says has_more=false and carries no token."""
        owner, _, talkative = many
        first = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=talkative, page_size=200), metadata=owner.metadata
        )
        last = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=talkative, page_size=200, page_token=first.next_page_token),
            metadata=owner.metadata,
        )
        assert (len(last.messages), last.has_more, last.next_page_token) == (30, False, "")
        assert last.messages[-1].sequence == 230


async def test_walking_a_1000_message_chat_while_messages_arrive(world: World) -> None:
    """Every page of a 1,000-message chat, walked while new messages arrive, returns each old message once."""
    owner, peer, _ = world.people()
    chat, _ = await world.create_chat(owner, visibility=TEAM, title=f"busy {uuid.uuid4().hex[:6]}")
    last_token = ""
    for n in range(1000):
        last_token = (await world.send(owner, chat, f"old {n}")).consistency_token
    stop = asyncio.Event()

    async def keep_writing() -> int:
        sent = 0
        while not stop.is_set():
            await world.send(peer, chat, f"new {sent}")
            sent += 1
        return sent

    writer = asyncio.create_task(keep_writing())
    seen: list[str] = []
    token = ""
    request = chat_svc.GetMessagesRequest(threads_id=chat, page_size=50, consistency_token=last_token)
    try:
        while True:
            request.page_token = token
            page = await world.chats.GetMessages(request, metadata=owner.metadata)
            seen.extend(m.parts[0].text.text for m in page.messages)
            token = page.next_page_token
            if not token or len(seen) >= 1100:
                break
            await asyncio.sleep(0.005)  # let the writer interleave
    finally:
        stop.set()
        sent = await writer
    old = [text for text in seen if text.startswith("old ")]
    assert old == [f"old {n}" for n in range(1000)]
    assert len(seen) == len(set(seen))
    assert sent > 0
