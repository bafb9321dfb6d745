"""Chat reads on a seeded read model: access rules, keyset pages, checkpoint and consistency tokens."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query import paging
from ameide_query.views import messages as message_views
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import consistency, resume
from ameide_runtime.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from tests.integration.projector.seeding import Seeder
from tests.integration.query.conftest import CODEC, Reads, caller

pytestmark = pytest.mark.integration

PRIVATE, TEAM, PUBLIC = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM, types.CHAT_VISIBILITY_PUBLIC


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


class TestGetChat:
    async def test_visibility_rules(self, engine: AsyncEngine, reads: Reads) -> None:
        """Owner reads all; tenant users TEAM and PUBLIC; other tenants PUBLIC only; deleted is gone for all."""
        seeder, tenant, other = Seeder(engine), _tenant(), _tenant()
        chats = {v: await seeder.chat(user="owner", tenant=tenant, visibility=v) for v in (PRIVATE, TEAM, PUBLIC)}
        deleted = await seeder.chat(user="owner", tenant=tenant, visibility=PUBLIC)
        await seeder.delete_chat(deleted, user="owner", tenant=tenant)
        await seeder.project()
        expected = {
            ("owner", tenant): {PRIVATE, TEAM, PUBLIC},
            ("colleague", tenant): {TEAM, PUBLIC},
            ("stranger", other): {PUBLIC},
        }
        for (user, user_tenant), readable in expected.items():
            with caller(user, user_tenant):
                for visibility, chat in chats.items():
                    request = svc.GetChatRequest(threads_id=str(chat))
                    if visibility in readable:
                        assert (await reads.chats.get_chat(request)).threads.id == str(chat)
                    else:
                        with pytest.raises(NotFound):
                            await reads.chats.get_chat(request)
                with pytest.raises(NotFound):
                    await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(deleted)))

    async def test_bad_ids_and_identity_mismatch(self, reads: Reads) -> None:
        """A malformed id is INVALID_ARGUMENT; another tenant_id in the request is PERMISSION_DENIED."""
        with caller("u", "t"):
            with pytest.raises(InvalidArgument):
                await reads.chats.get_chat(svc.GetChatRequest(threads_id="not-a-uuid"))
            with pytest.raises(PermissionDenied):
                await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(uuid.uuid4()), tenant_id="other"))

    async def test_checkpoint_token_names_the_feed_head(self, engine: AsyncEngine, reads: Reads) -> None:
        """GetChat's checkpoint token is a resume token of the chat feed at its current head."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="owner", tenant=tenant)
        for n in range(3):
            await seeder.message(chat, f"m{n}", user="owner", tenant=tenant)
        await seeder.project()
        with caller("owner", tenant):
            reply = await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(chat)))
        point = resume.parse(CODEC, reply.checkpoint_token, tenant_id=tenant, feed=chat_feed(str(chat)), ttl_seconds=60)
        assert point.seq == 3
        assert reply.threads.message_count == 3
        assert reply.threads.version == 4


class TestReadYourWrites:
    async def test_waits_for_the_projection_else_unavailable(self, engine: AsyncEngine, reads: Reads) -> None:
        """A satisfied consistency token answers at once; one ahead of the projection ends UNAVAILABLE."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="owner", tenant=tenant)
        await seeder.project()
        with caller("owner", tenant):
            done = consistency.encode(CODEC, {chat: 1})
            await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(chat), consistency_token=done))
            ahead = consistency.encode(CODEC, {chat: 2})
            with pytest.raises(Unavailable) as caught:
                await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(chat), consistency_token=ahead))
            assert caught.value.retry_after_ms
            with pytest.raises(InvalidArgument):
                await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(chat), consistency_token="forged"))


class TestListChats:
    async def test_lists_visible_chats_by_activity_in_pages(self, engine: AsyncEngine, reads: Reads) -> None:
        """Own chats and the tenant's TEAM/PUBLIC ones, most recently active first, every one exactly once."""
        seeder, tenant = Seeder(engine), _tenant()
        mine = [await seeder.chat(user="me", tenant=tenant, visibility=PRIVATE) for _ in range(3)]
        theirs_team = [await seeder.chat(user="them", tenant=tenant, visibility=TEAM) for _ in range(2)]
        await seeder.chat(user="them", tenant=tenant, visibility=PRIVATE)
        await seeder.chat(user="me", tenant=_tenant(), visibility=TEAM)
        await seeder.message(mine[0], "bump", user="me", tenant=tenant)
        await seeder.project()
        seen: list[str] = []
        token = ""
        with caller("me", tenant):
            while True:
                page = await reads.chats.list_chats(svc.ListChatsRequest(page_size=2, page_token=token))
                assert page.total_count == 5
                seen.extend(c.id for c in page.threads)
                token = page.next_page_token
                if not token:
                    break
        expected = [str(mine[0]), *(str(c) for c in reversed([*mine[1:], *theirs_team]))]
        assert seen == expected

    async def test_a_listed_chat_is_the_chat_get_chat_answers(self, engine: AsyncEngine, reads: Reads) -> None:
        """Every field of a listed chat (labels, tags, description, times, counts) equals GetChat's, field for field."""
        seeder, tenant = Seeder(engine), _tenant()
        plain = await seeder.chat(user="me", tenant=tenant)
        seeder.now += dt.timedelta(microseconds=654_321)  # times to the microsecond survive the list's encoding
        dressed = await seeder.chat(
            user="me",
            tenant=tenant,
            visibility=TEAM,
            title="Approvals ✓",
            description='Where "quotes" and \\ backslashes live',
            tags=("ops", "bench"),
            labels={"team": "core", "emoji": "🚀", "empty": ""},
        )
        await seeder.message(dressed, "first", user="me", tenant=tenant)
        await seeder.project()
        with caller("me", tenant):
            listed = {c.id: c for c in (await reads.chats.list_chats(svc.ListChatsRequest())).threads}
            for chat in (plain, dressed):
                got = (await reads.chats.get_chat(svc.GetChatRequest(threads_id=str(chat)))).threads
                assert got == listed[str(chat)]
        assert dict(listed[str(dressed)].metadata.labels) == {"team": "core", "emoji": "🚀", "empty": ""}
        assert listed[str(dressed)].created_at.nanos == 654_321_000

    async def test_filters(self, engine: AsyncEngine, reads: Reads) -> None:
        """Visibility, artifact, creation-time and text filters narrow the list and its total."""
        seeder, tenant = Seeder(engine), _tenant()
        plain = await seeder.chat(user="me", tenant=tenant, visibility=PRIVATE, title="groceries")
        linked = await seeder.chat(user="me", tenant=tenant, visibility=TEAM, title="diagram talk")
        artifact = await seeder.artifact(user="me", tenant=tenant)
        await seeder.link(linked, artifact, user="me", tenant=tenant)
        await seeder.message(plain, "remember the zucchini", user="me", tenant=tenant)
        await seeder.project()
        with caller("me", tenant):

            async def ids(**fields: object) -> list[str]:
                reply = await reads.chats.list_chats(svc.ListChatsRequest(filter=svc.ChatFilter(**fields)))  # type: ignore[arg-type]
                assert reply.total_count == len(reply.threads)
                return [c.id for c in reply.threads]

            assert await ids(visibility=TEAM) == [str(linked)]
            assert await ids(artifact_ids=[str(artifact)]) == [str(linked)]
            assert await ids(query="zucch") == [str(plain)]
            assert await ids(query="diagram") == [str(linked)]
            request = svc.ListChatsRequest()
            request.filter.created_after.FromDatetime(seeder.now)
            assert (await reads.chats.list_chats(request)).threads == []
            with pytest.raises(InvalidArgument):
                await ids(artifact_ids=["nope"])

    async def test_page_token_and_size_edges(self, engine: AsyncEngine, reads: Reads) -> None:
        """Size 0 = default, above max clamps, negative fails; a token is bound to its filter and caller."""
        seeder, tenant = Seeder(engine), _tenant()
        for _ in range(3):
            await seeder.chat(user="me", tenant=tenant)
        await seeder.project()
        with caller("me", tenant):
            assert len((await reads.chats.list_chats(svc.ListChatsRequest(page_size=0))).threads) == 3
            assert len((await reads.chats.list_chats(svc.ListChatsRequest(page_size=10_000))).threads) == 3
            with pytest.raises(InvalidArgument):
                await reads.chats.list_chats(svc.ListChatsRequest(page_size=-1))
            first = await reads.chats.list_chats(svc.ListChatsRequest(page_size=1))
            assert first.next_page_token
            with pytest.raises(InvalidArgument):
                await reads.chats.list_chats(
                    svc.ListChatsRequest(page_token=first.next_page_token, filter=svc.ChatFilter(visibility=TEAM))
                )
            with pytest.raises(InvalidArgument):
                await reads.chats.list_chats(svc.ListChatsRequest(page_token="garbage"))
            last = await reads.chats.list_chats(svc.ListChatsRequest(page_size=3))
            assert last.next_page_token == ""
        with caller("someone-else", tenant), pytest.raises(InvalidArgument):
            await reads.chats.list_chats(svc.ListChatsRequest(page_token=first.next_page_token))

    async def test_pages_end_early_past_the_byte_cap(
        self, engine: AsyncEngine, reads: Reads, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A page stops once its chats pass the byte cap (at least one chat each) and the next page resumes."""
        seeder, tenant = Seeder(engine), _tenant()
        for n in range(5):
            await seeder.chat(user="me", tenant=tenant, title=f"chat {n}")
        await seeder.project()
        with caller("me", tenant):
            whole = await reads.chats.list_chats(svc.ListChatsRequest())
            assert len(whole.threads) == 5
            assert not whole.next_page_token
            sizes = [c.ByteSize() for c in whole.threads]

            # Room for any two chats but no three: pages of two, two, one, each chat as in the whole list.
            assert 3 * min(sizes) > 2 * max(sizes)
            monkeypatch.setattr(paging, "PAGE_BYTES", 2 * max(sizes))
            pages, token = [], ""
            while True:
                page = await reads.chats.list_chats(svc.ListChatsRequest(page_token=token))
                pages.append(list(page.threads))
                assert page.total_count == 5
                token = page.next_page_token
                if not token:
                    break
            assert [len(p) for p in pages] == [2, 2, 1]
            assert [c for p in pages for c in p] == list(whole.threads)

            # A single chat above the cap still makes a page of its own.
            monkeypatch.setattr(paging, "PAGE_BYTES", 1)
            single = await reads.chats.list_chats(svc.ListChatsRequest())
            assert list(single.threads) == [whole.threads[0]]
            assert single.next_page_token


class TestMessages:
    async def test_a_page_is_the_stored_messages_as_objects(self, engine: AsyncEngine, reads: Reads) -> None:
        """The spliced reply equals the reply built of the stored messages decoded, page after page, to the end."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="me", tenant=tenant)
        bodies = ["plain", "ünïcödé ✓ 🚀", "", "x" * 200, "y" * 20_000]
        for body in bodies:
            await seeder.message(chat, body, user="me", tenant=tenant)
        await seeder.project()
        async with engine.connect() as conn:
            stored = (
                await conn.execute(text("SELECT payload FROM rm_messages WHERE chat_id = :c ORDER BY seq"), {"c": chat})
            ).scalars()
            expected = [types.ChatMessage.FromString(payload) for payload in stored]
        assert [m.parts[0].text.text for m in expected] == bodies
        with caller("me", tenant):
            token, pages = "", list[svc.GetMessagesResponse]()
            done = consistency.encode(CODEC, {chat: len(bodies) + 1})
            while True:
                request = svc.GetMessagesRequest(
                    threads_id=str(chat), page_size=2, page_token=token, consistency_token=done
                )
                page = await reads.chats.get_messages(request)
                built = svc.GetMessagesResponse(
                    messages=expected[2 * len(pages) : 2 * len(pages) + 2],
                    next_page_token=page.next_page_token,
                    has_more=page.has_more,
                    total_count=len(bodies),
                    checkpoint_token=page.checkpoint_token,
                )
                assert page == built
                pages.append(page)
                token = page.next_page_token
                if not token:
                    break
            assert [len(p.messages) for p in pages] == [2, 2, 1]
            rest = await reads.chats.get_messages(
                svc.GetMessagesRequest(threads_id=str(chat), page_token=pages[-2].next_page_token, page_size=5)
            )
            assert (list(rest.messages), rest.has_more, rest.next_page_token) == (expected[4:], False, "")
            empty = await seeder.chat(user="me", tenant=tenant)
            await seeder.project()
            nothing = await reads.chats.get_messages(svc.GetMessagesRequest(threads_id=str(empty)))
            assert (list(nothing.messages), nothing.total_count, nothing.has_more) == ([], 0, False)
            assert nothing.checkpoint_token

    async def test_pages_both_ways_exactly_once_while_messages_arrive(self, engine: AsyncEngine, reads: Reads) -> None:
        """Walking pages while new messages arrive returns each old message once, in order, both directions."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="me", tenant=tenant)
        for n in range(25):
            await seeder.message(chat, f"m{n}", user="me", tenant=tenant)
        await seeder.project()
        with caller("me", tenant):
            seen: list[int] = []
            token = ""
            while True:
                page = await reads.chats.get_messages(
                    svc.GetMessagesRequest(threads_id=str(chat), page_size=7, page_token=token)
                )
                seen.extend(m.sequence for m in page.messages)
                assert page.has_more == bool(page.next_page_token)
                token = page.next_page_token
                if len(seen) < 25:
                    await seeder.message(chat, "new", user="me", tenant=tenant)
                    await seeder.project()
                if not token:
                    break
            assert seen[:25] == list(range(1, 26))
            assert len(seen) == len(set(seen))
            newest = await reads.chats.get_messages(
                svc.GetMessagesRequest(threads_id=str(chat), page_size=3, newest_first=True)
            )
            total = newest.total_count
            assert [m.sequence for m in newest.messages] == [total, total - 1, total - 2]
            following = await reads.chats.get_messages(
                svc.GetMessagesRequest(
                    threads_id=str(chat), page_size=3, newest_first=True, page_token=newest.next_page_token
                )
            )
            assert [m.sequence for m in following.messages] == [total - 3, total - 4, total - 5]
            with pytest.raises(InvalidArgument):  # a newest-first token is not an oldest-first one
                await reads.chats.get_messages(
                    svc.GetMessagesRequest(threads_id=str(chat), page_token=newest.next_page_token)
                )
        with caller("stranger", tenant), pytest.raises(NotFound):
            await reads.chats.get_messages(svc.GetMessagesRequest(threads_id=str(chat)))

    async def test_pages_end_early_past_the_byte_cap(
        self, engine: AsyncEngine, reads: Reads, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A page stops once its messages pass the byte cap (at least one message each) and resumes after it."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="me", tenant=tenant)
        bodies = [f"{n}:" + "x" * 100 for n in range(5)]
        for body in bodies:
            await seeder.message(chat, body, user="me", tenant=tenant)
        await seeder.project()
        with caller("me", tenant):
            whole = await reads.chats.get_messages(svc.GetMessagesRequest(threads_id=str(chat)))
            sizes = [m.ByteSize() for m in whole.messages]
            assert [m.parts[0].text.text for m in whole.messages] == bodies
            assert not whole.has_more

            # Room for any two messages but no three: pages of two, two, one.
            assert 3 * min(sizes) > 2 * max(sizes)
            monkeypatch.setattr(message_views, "PAGE_BYTES", 2 * max(sizes))
            pages, token = [], ""
            while True:
                page = await reads.chats.get_messages(svc.GetMessagesRequest(threads_id=str(chat), page_token=token))
                pages.append([m.sequence for m in page.messages])
                assert page.total_count == 5
                assert page.has_more == bool(page.next_page_token)
                token = page.next_page_token
                if not token:
                    break
            assert pages == [[1, 2], [3, 4], [5]]

            # A single message above the cap still makes a page of its own.
            monkeypatch.setattr(message_views, "PAGE_BYTES", 1)
            newest = await reads.chats.get_messages(svc.GetMessagesRequest(threads_id=str(chat), newest_first=True))
            assert [m.sequence for m in newest.messages] == [5]
            assert newest.has_more
            assert newest.messages[0] == whole.messages[4]


class TestChatArtifacts:
    async def test_linked_artifacts_newest_link_first_without_deleted(self, engine: AsyncEngine, reads: Reads) -> None:
        """Artifacts linked to the chat, most recently linked first; deleted artifacts are hidden."""
        seeder, tenant = Seeder(engine), _tenant()
        chat = await seeder.chat(user="me", tenant=tenant, visibility=TEAM)
        artifacts = [await seeder.artifact(user="me", tenant=tenant, title=f"A{n}") for n in range(3)]
        for artifact in artifacts:
            await seeder.link(chat, artifact, user="me", tenant=tenant)
        from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev  # noqa: PLC0415

        await seeder.artifact_event(
            artifacts[1], art_ev.ArtifactDeletedEvent(artifact_id=str(artifacts[1])), user="me", tenant=tenant
        )
        await seeder.project()
        with caller("colleague", tenant):
            first = await reads.chats.get_chat_artifacts(svc.GetChatArtifactsRequest(threads_id=str(chat), page_size=1))
            rest = await reads.chats.get_chat_artifacts(
                svc.GetChatArtifactsRequest(threads_id=str(chat), page_token=first.next_page_token)
            )
        assert [a.title for a in [*first.artifacts, *rest.artifacts]] == ["A2", "A0"]
        assert first.total_count == 2
        assert rest.next_page_token == ""
