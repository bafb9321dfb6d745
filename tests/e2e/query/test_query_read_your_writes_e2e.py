"""Every query takes a consistency token: write, then list the links, the history or the search hits at once.

GetChatArtifacts, GetArtifactChats, GetArtifactHistory and SearchChats wait for the write the token names, as
GetChat and ListChats do: the write just made is in the answer, whatever the projector's lag, and a forged token
is INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from tests.e2e.query.query_e2e_client import World, failure

pytestmark = pytest.mark.e2e

# One lucky projector run must not be what makes a case pass.
ROUNDS = 5


async def test_associate_then_list_both_sides(world: World) -> None:
    """AssociateArtifact's token: the link is in GetChatArtifacts and GetArtifactChats at once."""
    owner, _, _ = world.people()
    for _ in range(ROUNDS):
        chat_id, _ = await world.create_chat(owner)
        artifact = await world.artifact_commands.CreateArtifact(
            art_svc.CreateArtifactRequest(title="Order Process", kind="bpmn"), metadata=owner.metadata
        )
        linked = await world.chat_commands.AssociateArtifact(
            chat_svc.AssociateChatArtifactRequest(threads_id=chat_id, artifact_id=artifact.artifact_id),
            metadata=owner.metadata,
        )
        token = linked.consistency_token
        of_chat = await world.chats.GetChatArtifacts(
            chat_svc.GetChatArtifactsRequest(threads_id=chat_id, consistency_token=token), metadata=owner.metadata
        )
        of_artifact = await world.artifacts.GetArtifactChats(
            art_svc.GetArtifactChatsRequest(artifact_id=artifact.artifact_id, consistency_token=token),
            metadata=owner.metadata,
        )
        assert [a.artifact_id for a in of_chat.artifacts] == [artifact.artifact_id]
        assert [c.threads_id for c in of_artifact.threads] == [chat_id]


async def test_change_then_history(world: World) -> None:
    """UpdateArtifactMetadata's token: the change is the last history entry at once."""
    owner, _, _ = world.people()
    created = await world.artifact_commands.CreateArtifact(
        art_svc.CreateArtifactRequest(title="Order Process", kind="bpmn"), metadata=owner.metadata
    )
    for round_ in range(ROUNDS):
        change = art_svc.UpdateArtifactMetadataRequest(artifact_id=created.artifact_id)
        change.metadata.title = f"Order Process v{round_ + 2}"
        changed = await world.artifact_commands.UpdateArtifactMetadata(change, metadata=owner.metadata)
        history = await world.artifacts.GetArtifactHistory(
            art_svc.GetArtifactHistoryRequest(
                artifact_id=created.artifact_id, page_size=100, consistency_token=changed.consistency_token
            ),
            metadata=owner.metadata,
        )
        assert (history.entries[-1].event_type, history.entries[-1].version) == ("metadata_changed", changed.version)


async def test_create_then_search(world: World) -> None:
    """CreateChat's token: the new chat is found by its title at once."""
    owner, _, _ = world.people()
    for _ in range(ROUNDS):
        word = f"zebra{uuid.uuid4().hex[:10]}"
        chat_id, token = await world.create_chat(owner, title=f"Plans {word}")
        found = await world.chats.SearchChats(
            chat_svc.SearchChatsRequest(query=word, consistency_token=token), metadata=owner.metadata
        )
        assert [c.id for c in found.threads] == [chat_id]


async def test_forged_token_is_invalid_on_every_new_read(world: World) -> None:
    """A forged token on the reads that newly take one: INVALID_ARGUMENT naming consistency_token."""
    owner, _, _ = world.people()
    chat_id, _ = await world.create_chat(owner)
    some_id = str(uuid.uuid4())
    forged = "eyJzIjp7fX0.Zm9yZ2Vk"
    calls: list[Awaitable[Any]] = [
        world.chats.GetChatArtifacts(
            chat_svc.GetChatArtifactsRequest(threads_id=chat_id, consistency_token=forged), metadata=owner.metadata
        ),
        world.chats.SearchChats(
            chat_svc.SearchChatsRequest(query="x", consistency_token=forged), metadata=owner.metadata
        ),
        world.artifacts.GetArtifactChats(
            art_svc.GetArtifactChatsRequest(artifact_id=some_id, consistency_token=forged), metadata=owner.metadata
        ),
        world.artifacts.GetArtifactHistory(
            art_svc.GetArtifactHistoryRequest(artifact_id=some_id, consistency_token=forged), metadata=owner.metadata
        ),
    ]
    for call in calls:
        details = await failure(call)
        assert (details.code, set(details.field_violations)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            {"consistency_token"},
        )
