"""SearchChats: full text over titles, tags, descriptions and messages; ranked, filtered, paged, highlighted."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query.views.fulltext import wants_prefix
from ameide_runtime.errors import InvalidArgument
from tests.integration.projector.seeding import Seeder
from tests.integration.query.conftest import Reads, caller

pytestmark = pytest.mark.integration


@pytest.fixture(name="corpus")
async def fixture_corpus(engine: AsyncEngine) -> tuple[str, dict[str, uuid.UUID]]:
    """Chats where 'kangaroo' appears in a title, a tag, a description and a message, plus decoys."""
    seeder, tenant = Seeder(engine), f"t-{uuid.uuid4().hex[:8]}"
    team = types.CHAT_VISIBILITY_TEAM
    chats = {
        "title": await seeder.chat(user="me", tenant=tenant, title="Kangaroo facts", visibility=team),
        "tag": await seeder.chat(user="me", tenant=tenant, title="Zoo", tags=("kangaroo",), visibility=team),
        "message": await seeder.chat(user="me", tenant=tenant, title="Misc", visibility=team),
        "private_other": await seeder.chat(user="other", tenant=tenant, title="Kangaroo secrets"),
        "decoy": await seeder.chat(user="me", tenant=tenant, title="Wombat", description="not the marsupial"),
    }
    await seeder.message(chats["message"], "we saw a kangaroo jumping", user="me", tenant=tenant)
    await seeder.message(chats["decoy"], "wombats dig burrows", user="me", tenant=tenant)
    foreign = f"t-{uuid.uuid4().hex[:8]}"
    await seeder.chat(user="me", tenant=foreign, title="Kangaroo abroad", visibility=types.CHAT_VISIBILITY_PUBLIC)
    await seeder.project()
    return tenant, chats


class TestSearch:
    async def test_ranks_title_over_tags_over_messages(
        self, reads: Reads, corpus: tuple[str, dict[str, uuid.UUID]]
    ) -> None:
        """Title matches rank first, then tags, then message text; private chats of others never show."""
        tenant, chats = corpus
        with caller("me", tenant):
            reply = await reads.chats.search_chats(svc.SearchChatsRequest(query="kangaroo"))
        assert [c.id for c in reply.threads] == [str(chats[k]) for k in ("title", "tag", "message")]
        assert reply.total_count == 3
        assert "<b>kangaroo</b>" in reply.snippets[str(chats["message"])]
        assert "<b>Kangaroo</b>" in reply.snippets[str(chats["title"])]

    async def test_prefix_websearch_syntax_and_filters(
        self, reads: Reads, corpus: tuple[str, dict[str, uuid.UUID]]
    ) -> None:
        """The last word matches as a prefix; quotes, OR and -negation work; filters combine with the query."""
        tenant, chats = corpus
        with caller("me", tenant):

            async def ids(text: str, **filters: object) -> list[str]:
                request = svc.SearchChatsRequest(query=text, filter=svc.ChatFilter(**filters))  # type: ignore[arg-type]
                return [c.id for c in (await reads.chats.search_chats(request)).threads]

            assert await ids("kanga") == [str(chats[k]) for k in ("title", "tag", "message")]
            assert await ids('"kangaroo jumping"') == [str(chats["message"])]
            # Negation applies per matched text (the chat's own fields, or one message).
            assert set(await ids("kangaroo -zoo")) == {str(chats["title"]), str(chats["message"])}
            assert set(await ids("wombat or zoo")) == {str(chats["decoy"]), str(chats["tag"])}
            assert await ids("kangaroo", visibility=types.CHAT_VISIBILITY_PRIVATE) == []
            assert await ids("kangaroo", query="jump") == [str(chats["message"])]
            assert await ids("", query="wombat") == [str(chats["decoy"])]
            with pytest.raises(InvalidArgument):
                await ids("   ")

    async def test_pages_follow_the_ranking(self, reads: Reads, corpus: tuple[str, dict[str, uuid.UUID]]) -> None:
        """Pages continue the ranked order exactly; a token is bound to its query."""
        tenant, chats = corpus
        seen: list[str] = []
        token = ""
        with caller("me", tenant):
            while True:
                reply = await reads.chats.search_chats(
                    svc.SearchChatsRequest(query="kangaroo", page_size=1, page_token=token)
                )
                seen.extend(c.id for c in reply.threads)
                token = reply.next_page_token
                if not token:
                    break
            assert seen == [str(chats[k]) for k in ("title", "tag", "message")]
            first = await reads.chats.search_chats(svc.SearchChatsRequest(query="kangaroo", page_size=1))
            with pytest.raises(InvalidArgument):
                await reads.chats.search_chats(
                    svc.SearchChatsRequest(query="wombat", page_size=1, page_token=first.next_page_token)
                )


def test_prefix_applies_only_to_a_plain_last_word() -> None:
    """Search-as-you-type: a trailing plain word is a prefix; phrases, negations and OR are not."""
    assert wants_prefix("kanga")
    assert wants_prefix("big kanga")
    assert not wants_prefix('"kangaroo jumping"')
    assert not wants_prefix("kangaroo -zoo")
    assert not wants_prefix("kangaroo or")
    assert not wants_prefix("")
