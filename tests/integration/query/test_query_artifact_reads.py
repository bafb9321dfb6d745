"""Artifact reads on a seeded read model: versions, linked chats, lists and history."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.feed.names import artifact_feed
from ameide_runtime import resume
from ameide_runtime.errors import InvalidArgument, NotFound
from tests.integration.projector.seeding import Seeder
from tests.integration.query.conftest import CODEC, Reads, caller

pytestmark = pytest.mark.integration


@pytest.fixture(name="seeded")
async def fixture_seeded(engine: AsyncEngine) -> tuple[str, uuid.UUID, dict[str, uuid.UUID]]:
    """An artifact at version 6 (create, 2 links, content, metadata, private link), with a TEAM and a PRIVATE chat."""
    seeder, tenant = Seeder(engine), f"t-{uuid.uuid4().hex[:8]}"
    team = await seeder.chat(user="owner", tenant=tenant, title="Team chat", visibility=types.CHAT_VISIBILITY_TEAM)
    private = await seeder.chat(user="owner", tenant=tenant, title="Owner only")
    artifact = await seeder.artifact(user="owner", tenant=tenant, body=b"v1", primary_chat=team)
    await seeder.link(team, artifact, user="owner", tenant=tenant, relation=types.RELATION_TYPE_CREATED)
    await seeder.content(artifact, b"v3", user="colleague", tenant=tenant)
    await seeder.artifact_event(
        artifact,
        art_ev.ArtifactMetadataUpdatedEvent(artifact_id=str(artifact), title="Renamed", labels={"a": "b"}),
        user="colleague",
        tenant=tenant,
    )
    await seeder.link(private, artifact, user="owner", tenant=tenant)
    other = await seeder.artifact(user="owner", tenant=tenant, kind="code", title="Script")
    await seeder.link(private, other, user="owner", tenant=tenant)
    await seeder.project()
    return tenant, artifact, {"team": team, "private": private, "other": other}


class TestGetArtifact:
    async def test_current_and_past_versions(
        self, reads: Reads, seeded: tuple[str, uuid.UUID, dict[str, uuid.UUID]]
    ) -> None:
        """The current version has the latest content and metadata; past versions show theirs."""
        tenant, artifact, _ = seeded
        with caller("colleague", tenant):
            current = await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact)))
            v1 = await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact), version=1))
            v2 = await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact), version=2))
            with pytest.raises(NotFound):  # links are no versions: content and metadata made 2 and 3
                await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact), version=4))
            with pytest.raises(InvalidArgument):
                await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact), version=-1))
        view = current.artifact
        assert (view.version, view.title, dict(view.labels), view.content.body) == (3, "Renamed", {"a": "b"}, b"v3")
        assert (v1.artifact.version, v1.artifact.title, v1.artifact.content.body) == (1, "Order process", b"v1")
        assert (v2.artifact.version, v2.artifact.title, v2.artifact.content.body) == (2, "Order process", b"v3")
        point = resume.parse(
            CODEC, current.checkpoint_token, tenant_id=tenant, feed=artifact_feed(str(artifact)), ttl_seconds=60
        )
        assert point.seq == 4  # two links, content, metadata

    async def test_include_chats_lists_only_readable_chats(
        self, reads: Reads, seeded: tuple[str, uuid.UUID, dict[str, uuid.UUID]]
    ) -> None:
        """include_chats names the linked chats the caller may read; other tenants get NOT_FOUND."""
        tenant, artifact, chats = seeded
        request = svc.GetArtifactRequest(artifact_id=str(artifact), include_chats=True)
        with caller("owner", tenant):
            own = (await reads.artifacts.get_artifact(request)).artifact
        with caller("colleague", tenant):
            colleague = (await reads.artifacts.get_artifact(request)).artifact
        with caller("owner", "another-tenant"), pytest.raises(NotFound):
            await reads.artifacts.get_artifact(request)
        assert list(own.threads_ids) == [str(chats["private"]), str(chats["team"])]
        assert list(colleague.threads_ids) == [str(chats["team"])]
        assert colleague.threads_refs[0].threads_title == "Team chat"
        assert colleague.primary_threads_id == str(chats["team"])


class TestArtifactLists:
    async def test_list_filters_chats_and_history(
        self, reads: Reads, seeded: tuple[str, uuid.UUID, dict[str, uuid.UUID]]
    ) -> None:
        """ListArtifacts by kind and chat; GetArtifactChats counts readable chats; history pages oldest first."""
        tenant, artifact, chats = seeded
        with caller("colleague", tenant):
            everything = await reads.artifacts.list_artifacts(svc.ListArtifactsRequest())
            code = await reads.artifacts.list_artifacts(svc.ListArtifactsRequest(kind="code"))
            by_chat = await reads.artifacts.list_artifacts(svc.ListArtifactsRequest(threads_id=str(chats["team"])))
            with pytest.raises(NotFound):  # the colleague may not read the private chat
                await reads.artifacts.list_artifacts(svc.ListArtifactsRequest(threads_id=str(chats["private"])))
            linked = await reads.artifacts.get_artifact_chats(svc.GetArtifactChatsRequest(artifact_id=str(artifact)))
            first = await reads.artifacts.get_artifact_history(
                svc.GetArtifactHistoryRequest(artifact_id=str(artifact), page_size=3)
            )
            rest = await reads.artifacts.get_artifact_history(
                svc.GetArtifactHistoryRequest(artifact_id=str(artifact), page_token=first.next_page_token)
            )
        assert [a.id for a in everything.artifacts] == [str(chats["other"]), str(artifact)]
        assert not everything.artifacts[0].HasField("content")
        assert [a.id for a in code.artifacts] == [str(chats["other"])]
        assert [a.id for a in by_chat.artifacts] == [str(artifact)]
        assert ([c.threads_id for c in linked.threads], linked.total_count) == ([str(chats["team"])], 1)
        entries = [*first.entries, *rest.entries]
        # The owner's private chat is linked too (last): its link is not the colleague's to see.
        assert [e.event_type for e in entries] == ["created", "threads_linked", "modified", "metadata_changed"]
        # The artifact version after each entry (links keep it), counted across the page boundary too.
        assert [e.version for e in entries] == [1, 1, 2, 3]
        assert (first.total_count, rest.next_page_token) == (4, "")
        assert entries[2].user_id == "colleague"

    async def test_history_names_only_chats_the_caller_may_list(
        self, reads: Reads, seeded: tuple[str, uuid.UUID, dict[str, uuid.UUID]]
    ) -> None:
        """The owner sees the link of their private chat; a colleague neither the entry nor the chat's id."""
        tenant, artifact, chats = seeded
        request = svc.GetArtifactHistoryRequest(artifact_id=str(artifact))
        with caller("owner", tenant):
            own = await reads.artifacts.get_artifact_history(request)
        with caller("colleague", tenant):
            colleague = await reads.artifacts.get_artifact_history(request)
        assert [(e.event_type, e.threads_id) for e in own.entries][-1] == ("threads_linked", str(chats["private"]))
        assert own.total_count == 5
        assert str(chats["private"]) not in {e.threads_id for e in colleague.entries}
        assert [e.event_id for e in colleague.entries] == [e.event_id for e in own.entries][:-1]

    async def test_a_private_primary_chat_is_not_named_to_colleagues(self, reads: Reads, engine: AsyncEngine) -> None:
        """primary_threads_id (GetArtifact and ListArtifacts) only for callers who may list the chat."""
        seeder, tenant = Seeder(engine), f"t-{uuid.uuid4().hex[:8]}"
        private = await seeder.chat(user="owner", tenant=tenant, title="Owner only")
        artifact = await seeder.artifact(user="owner", tenant=tenant, body=b"v1", primary_chat=private)
        await seeder.project()
        get = svc.GetArtifactRequest(artifact_id=str(artifact))
        seen: dict[str, tuple[str, str, str]] = {}
        for user in ("owner", "colleague"):
            with caller(user, tenant):
                current = (await reads.artifacts.get_artifact(get)).artifact
                past = (
                    await reads.artifacts.get_artifact(svc.GetArtifactRequest(artifact_id=str(artifact), version=1))
                ).artifact
                (listed,) = (await reads.artifacts.list_artifacts(svc.ListArtifactsRequest())).artifacts
                seen[user] = (current.primary_threads_id, past.primary_threads_id, listed.primary_threads_id)
        assert seen == {"owner": (str(private),) * 3, "colleague": ("", "", "")}
