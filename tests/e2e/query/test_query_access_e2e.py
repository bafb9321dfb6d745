"""The access matrix over real gRPC, through command service -> projector -> query service.

Owner / same-tenant peer / other-tenant stranger x PRIVATE / TEAM / PUBLIC x every read RPC.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from tests.e2e.query.query_e2e_client import VISIBILITIES, Caller, World, failure

pytestmark = pytest.mark.e2e

T = TypeVar("T")

WHO = ("owner", "peer", "stranger")
READABLE = {"owner": {"PRIVATE", "TEAM", "PUBLIC"}, "peer": {"TEAM", "PUBLIC"}, "stranger": {"PUBLIC"}}
LISTED = {"owner": {"PRIVATE", "TEAM", "PUBLIC"}, "peer": {"TEAM", "PUBLIC"}, "stranger": set()}


@dataclass
class Matrix:
    """Three chats of one owner (one per visibility), each linked to one artifact; a deleted chat."""

    people: dict[str, Caller]
    chats: dict[str, str]
    artifact: str
    deleted: str
    word: str


@pytest.fixture(scope="module", name="matrix")
async def fixture_matrix(world: World) -> Matrix:
    """Written through the command service and waited for with the consistency tokens."""
    owner, peer, stranger = world.people()
    word = f"w{uuid.uuid4().hex[:10]}"
    tokens: list[str] = []
    chats: dict[str, str] = {}
    artifact, token = await world.create_artifact(owner, title=f"Artifact {word}")
    tokens.append(token)
    for name, visibility in VISIBILITIES.items():
        chat, token = await world.create_chat(owner, visibility=visibility, title=f"{name} {word}")
        chats[name] = chat
        tokens.append((await world.send(owner, chat, f"hello {word}")).consistency_token)
        tokens.append(await world.associate(owner, chat, artifact))
    deleted, _ = await world.create_chat(owner, visibility=VISIBILITIES["PUBLIC"], title=f"deleted {word}")
    tokens.append(
        (
            await world.chat_commands.DeleteChat(
                chat_svc.DeleteChatRequest(threads_id=deleted), metadata=owner.metadata
            )
        ).consistency_token
    )
    await world.settle(owner, tokens)
    return Matrix({"owner": owner, "peer": peer, "stranger": stranger}, chats, artifact, deleted, word)


CASES = [(who, visibility) for who in WHO for visibility in VISIBILITIES]


@pytest.mark.parametrize(("who", "visibility"), CASES)
class TestChatByIdRpcs:
    async def test_get_chat(self, world: World, matrix: Matrix, who: str, visibility: str) -> None:
        """GetChat: readable or NOT_FOUND (never PERMISSION_DENIED)."""
        request = chat_svc.GetChatRequest(threads_id=matrix.chats[visibility])
        await _expect_readable(world.chats.GetChat(request, metadata=matrix.people[who].metadata), who, visibility)

    async def test_get_messages(self, world: World, matrix: Matrix, who: str, visibility: str) -> None:
        """GetMessages: the chat's messages, or NOT_FOUND."""
        request = chat_svc.GetMessagesRequest(threads_id=matrix.chats[visibility])
        reply = await _expect_readable(
            world.chats.GetMessages(request, metadata=matrix.people[who].metadata), who, visibility
        )
        if reply is not None:
            assert [m.parts[0].text.text for m in reply.messages] == [f"hello {matrix.word}"]

    async def test_get_chat_artifacts(self, world: World, matrix: Matrix, who: str, visibility: str) -> None:
        """GetChatArtifacts: only artifacts the caller may read (none of another tenant), or NOT_FOUND."""
        request = chat_svc.GetChatArtifactsRequest(threads_id=matrix.chats[visibility])
        reply = await _expect_readable(
            world.chats.GetChatArtifacts(request, metadata=matrix.people[who].metadata), who, visibility
        )
        if reply is not None:
            expected = [] if who == "stranger" else [matrix.artifact]
            assert ([a.artifact_id for a in reply.artifacts], reply.total_count) == (expected, len(expected))

    async def test_list_chats(self, world: World, matrix: Matrix, who: str, visibility: str) -> None:
        """ListChats: listed only in its own tenant, by the rules; total_count counts only what is shown."""
        reply = await world.chats.ListChats(
            chat_svc.ListChatsRequest(page_size=100), metadata=matrix.people[who].metadata
        )
        ids = {c.id for c in reply.threads}
        assert (matrix.chats[visibility] in ids) == (visibility in LISTED[who])
        assert matrix.deleted not in ids
        assert reply.total_count == len(reply.threads)

    async def test_search_chats(self, world: World, matrix: Matrix, who: str, visibility: str) -> None:
        """SearchChats: found only in its own tenant, by the rules."""
        reply = await world.chats.SearchChats(
            chat_svc.SearchChatsRequest(query=matrix.word), metadata=matrix.people[who].metadata
        )
        ids = {c.id for c in reply.threads}
        assert (matrix.chats[visibility] in ids) == (visibility in LISTED[who])
        assert matrix.deleted not in ids
        assert reply.total_count == len(LISTED[who])

    async def test_artifact_chats_and_included_chats(
        self, world: World, matrix: Matrix, who: str, visibility: str
    ) -> None:
        """GetArtifactChats and GetArtifact(include_chats) name a chat only to callers who may read it."""
        metadata = matrix.people[who].metadata
        chats_request = art_svc.GetArtifactChatsRequest(artifact_id=matrix.artifact)
        get_request = art_svc.GetArtifactRequest(artifact_id=matrix.artifact, include_chats=True)
        if who == "stranger":
            for call in (
                world.artifacts.GetArtifactChats(chats_request, metadata=metadata),
                world.artifacts.GetArtifact(get_request, metadata=metadata),
            ):
                assert (await failure(call)).code == grpc.StatusCode.NOT_FOUND
            return
        linked = await world.artifacts.GetArtifactChats(chats_request, metadata=metadata)
        included = (await world.artifacts.GetArtifact(get_request, metadata=metadata)).artifact
        expected = visibility in LISTED[who]
        assert (matrix.chats[visibility] in {c.threads_id for c in linked.threads}) == expected
        assert (matrix.chats[visibility] in set(included.threads_ids)) == expected
        assert linked.total_count == len(LISTED[who])


@pytest.mark.parametrize("who", WHO)
class TestArtifactRpcs:
    async def test_artifact_reads(self, world: World, matrix: Matrix, who: str) -> None:
        """Artifacts are readable by every user of their tenant and NOT_FOUND (or unlisted) for other tenants."""
        metadata = matrix.people[who].metadata
        get = art_svc.GetArtifactRequest(artifact_id=matrix.artifact)
        history_request = art_svc.GetArtifactHistoryRequest(artifact_id=matrix.artifact)
        listed = await world.artifacts.ListArtifacts(art_svc.ListArtifactsRequest(), metadata=metadata)
        if who == "stranger":
            assert (
                await failure(world.artifacts.GetArtifact(get, metadata=metadata))
            ).code == grpc.StatusCode.NOT_FOUND
            history_call = world.artifacts.GetArtifactHistory(history_request, metadata=metadata)
            assert (await failure(history_call)).code == grpc.StatusCode.NOT_FOUND
            assert matrix.artifact not in {a.id for a in listed.artifacts}
            return
        view = (await world.artifacts.GetArtifact(get, metadata=metadata)).artifact
        assert (view.id, view.content.body, view.version) == (matrix.artifact, b"<v1/>", 1)  # links keep version 1
        history = await world.artifacts.GetArtifactHistory(history_request, metadata=metadata)
        # Only the links of chats the caller may list, as GetArtifactChats shows them.
        assert [e.event_type for e in history.entries] == ["created", *["threads_linked"] * len(LISTED[who])]
        linked = {e.threads_id for e in history.entries if e.threads_id}
        assert linked == {matrix.chats[visibility] for visibility in LISTED[who]}
        assert [a.id for a in listed.artifacts] == [matrix.artifact]


@pytest.mark.parametrize("who", WHO)
async def test_deleted_chat_is_gone_for_everyone(world: World, matrix: Matrix, who: str) -> None:
    """A deleted chat is NOT_FOUND by id, even for its owner and even though it was PUBLIC."""
    metadata = matrix.people[who].metadata
    for call in (
        world.chats.GetChat(chat_svc.GetChatRequest(threads_id=matrix.deleted), metadata=metadata),
        world.chats.GetMessages(chat_svc.GetMessagesRequest(threads_id=matrix.deleted), metadata=metadata),
        world.chats.GetChatArtifacts(chat_svc.GetChatArtifactsRequest(threads_id=matrix.deleted), metadata=metadata),
    ):
        assert (await failure(call)).code == grpc.StatusCode.NOT_FOUND


async def _expect_readable(call: Awaitable[T], who: str, visibility: str) -> T | None:
    """The reply when ``who`` may read a chat of ``visibility``; else the call must fail with NOT_FOUND."""
    if visibility in READABLE[who]:
        return await call
    assert (await failure(call)).code == grpc.StatusCode.NOT_FOUND
    return None
