"""The views' row handling without PostgreSQL: pages, chats and artifacts made of the rows a statement returns.

Outer-join NULL rows, page cuts, the byte cap, version composition, access. The SQL itself is covered by
tests/integration/query against a real database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_pg.pool import Conn
from ameide_query.reads.common import position
from ameide_query.views import artifacts, chats, messages
from ameide_query.views import rows as rows_module
from ameide_query.views.chats import ChatFilterValues
from ameide_query.views.rows import PRIVATE, PUBLIC, TEAM
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.timestamps import EPOCH, to_micros
from ameide_readmodel.wire import fill_chat
from ameide_runtime.identity import Identity
from tests.unit.query.views.fake_conn import FakeConn

pytestmark = pytest.mark.unit

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
OWNER, PEER, STRANGER = Identity("owner", "t1"), Identity("peer", "t1"), Identity("owner", "t2")
CHAT_ID, ARTIFACT_ID = uuid.uuid4(), uuid.uuid4()


def _conn(answers: dict[str, list[Any]]) -> Conn:
    return cast("Conn", FakeConn(answers))


def _chat_row(visibility: int = TEAM, *, deleted: bool = False, feed_seq: int | None = 7) -> Any:
    """A chat as ``_GET_CHAT`` selects it: the chat's columns and its feed head."""
    chat = ChatRow(
        id=CHAT_ID,
        tenant_id="t1",
        owner="owner",
        title="Plan",
        visibility=visibility,
        description="",
        labels={},
        tags=["a"],
        agent_id="",
        message_count=2,
        created_at=T0,
        updated_at=T1,
        last_activity_at=T1,
        deleted=deleted,
        version=3,
    )
    return SimpleNamespace(**dataclasses.asdict(chat), feed_seq=feed_seq)


def _artifact_row(**overrides: object) -> Any:
    """An artifact as ``_GET_VERSION`` selects it (version 3 now, version 2 asked for)."""
    values: dict[str, object] = {
        "id": ARTIFACT_ID,
        "tenant_id": "t1",
        "owner": "owner",
        "title": "Now",
        "kind": "bpmn",
        "labels": {"k": "now"},
        "version": 3,
        "mime": "text/xml",
        "primary_chat_id": None,
        "primary_shown": False,
        "created_at": T0,
        "updated_at": T1,
        "deleted": False,
        "feed_seq": 5,
        "v_title": "Then",
        "v_labels": {"k": "then"},
        "v_changed_at": T0,
        "v_mime": "text/plain",
        "v_body": b"old body",
    }
    return SimpleNamespace(**{**values, **overrides})


class TestGetChat:
    async def test_readable_chat_comes_with_its_feed_head(self) -> None:
        """A readable chat is the row's chat and the feed head beside it; a feed without entries is head 0."""
        found = await chats.get_chat(_conn({chats._GET_CHAT_SQL: [_chat_row()]}), PEER, CHAT_ID, "thread:x")
        assert found is not None
        assert (CHAT_ID, "Plan", ["a"], 7) == (found[0].id, found[0].title, found[0].tags, found[1])
        fresh = await chats.get_chat(_conn({chats._GET_CHAT_SQL: [_chat_row(feed_seq=None)]}), PEER, CHAT_ID, "f")
        assert fresh is not None
        assert fresh[1] == 0

    @pytest.mark.parametrize(
        ("caller", "row"),
        [(PEER, _chat_row(PRIVATE)), (STRANGER, _chat_row(TEAM)), (OWNER, _chat_row(deleted=True)), (OWNER, None)],
    )
    async def test_unreadable_or_missing_chat_is_none(self, caller: Identity, row: Any) -> None:
        """Another user's private chat, another tenant's chat, a deleted chat and no row all read as absent."""
        rows = [] if row is None else [row]
        assert await chats.get_chat(_conn({chats._GET_CHAT_SQL: rows}), caller, CHAT_ID, "thread:x") is None


class TestListChats:
    async def test_no_chat_after_the_position_is_an_empty_page_with_the_total(self) -> None:
        """The outer join's one row of NULLs is no chat; the total still counts every visible chat."""
        conn = _conn({chats._LIST_CHATS_SQL: [(12, *([None] * 15))]})
        page = await chats.list_chats(conn, OWNER, ChatFilterValues(), after=None, limit=10)
        assert ([], 12, False) == (page.rows, page.total, page.has_more)

    async def test_a_page_asks_for_one_more_row_and_cuts_it(self) -> None:
        """Limit + 1 rows are fetched; the extra one only says that there is more."""
        chat: tuple[object, ...] = ("t1", "o", "T", TEAM, "", "{}", [], "", 0, 1, 2, 3, False, 1)
        listed = [(3, str(uuid.uuid4()), *chat) for _ in range(3)]
        fake = FakeConn({chats._LIST_CHATS_SQL: listed})
        page = await chats.list_chats(cast("Conn", fake), OWNER, ChatFilterValues(), after=None, limit=2)
        assert (2, 3, True) == (len(page.rows), page.total, page.has_more)
        assert fake.executed[0][1]["limit"] == 3

    async def test_a_text_query_uses_the_matching_statement(self) -> None:
        """A filter query switches to the statement that matches the chat and message documents."""
        fake = FakeConn({chats._LIST_CHATS_MATCHING_SQL: []})
        page = await chats.list_chats(cast("Conn", fake), OWNER, ChatFilterValues(query="plan"), after=None, limit=5)
        assert (0, "plan") == (page.total, fake.executed[0][1]["q"])


class TestMessagesPage:
    async def test_an_unreadable_chat_has_no_page(self) -> None:
        """No row at all (the chat is absent or not readable) is None, not an empty page."""
        conn = _conn({messages._OLDEST_FIRST_SQL: []})
        page = await messages.messages_page(conn, OWNER, CHAT_ID, "f", after_seq=None, limit=10, newest_first=False)
        assert page is None

    async def test_a_chat_without_messages_is_an_empty_page_with_its_head(self) -> None:
        """The outer join's NULL message still carries the chat's count and feed head."""
        conn = _conn({messages._OLDEST_FIRST_SQL: [(4, 9, None, None)]})
        page = await messages.messages_page(conn, OWNER, CHAT_ID, "f", after_seq=8, limit=10, newest_first=False)
        assert page is not None
        assert ([], 0, False, 4, 9) == (page.payloads, page.last_seq, page.has_more, page.total, page.feed_seq)

    async def test_the_byte_cap_ends_a_page_early_but_never_empty(self) -> None:
        """Messages past PAGE_BYTES wait for the next page; the first message always comes."""
        big = b"x" * (messages.PAGE_BYTES // 2 + 1)
        rows = [(3, 1, seq, big) for seq in (1, 2, 3)]
        conn = _conn({messages._NEWEST_FIRST_SQL: rows})
        page = await messages.messages_page(conn, OWNER, CHAT_ID, "f", after_seq=None, limit=50, newest_first=True)
        assert page is not None
        assert (1, 1, True) == (len(page.payloads), page.last_seq, page.has_more)


class TestGetArtifact:
    async def test_current_version_comes_with_its_body(self) -> None:
        """Version 0 reads the current row with its body."""
        current = {k: v for k, v in vars(_artifact_row()).items() if not k.startswith("v_")}
        conn = _conn({artifacts._GET_SQL: [SimpleNamespace(**current, body=b"now body")]})
        found = await artifacts.get_artifact(conn, OWNER, ARTIFACT_ID, "f")
        assert found is not None
        assert ("Now", b"now body", 3, 5) == (found[0].title, found[0].body, found[0].version, found[1])

    async def test_a_past_version_takes_that_versions_title_labels_and_content(self) -> None:
        """Title, labels and time of the version row, content of the newest content row, the rest current."""
        conn = _conn({artifacts._GET_VERSION_SQL: [_artifact_row()]})
        found = await artifacts.get_artifact(conn, PEER, ARTIFACT_ID, "f", version=2)
        assert found is not None
        past = found[0]
        expected = ("Then", {"k": "then"}, 2, T0, "text/plain", b"old body", "bpmn")
        assert expected == (past.title, past.labels, past.version, past.updated_at, past.mime, past.body, past.kind)

    @pytest.mark.parametrize("shown", [True, False])
    async def test_the_primary_chat_is_named_only_to_who_may_list_it(self, *, shown: bool) -> None:
        """A colleague's private primary chat stays unnamed: the statement says whether the caller may list it."""
        chat_id = uuid.uuid4()
        conn = _conn({artifacts._GET_VERSION_SQL: [_artifact_row(primary_chat_id=chat_id, primary_shown=shown)]})
        found = await artifacts.get_artifact(conn, PEER, ARTIFACT_ID, "f", version=2)
        assert found is not None
        assert found[0].primary_chat_id == (chat_id if shown else None)

    @pytest.mark.parametrize(
        ("version", "row"),
        [(4, _artifact_row()), (2, _artifact_row(v_title=None)), (2, _artifact_row(tenant_id="t2"))],
    )
    async def test_a_version_beyond_the_current_unknown_or_unreadable_is_none(
        self,
        version: int,
        row: Any,
    ) -> None:
        """Above the current version, with no version row, or another tenant's: absent."""
        conn = _conn({artifacts._GET_VERSION_SQL: [row]})
        assert await artifacts.get_artifact(conn, OWNER, ARTIFACT_ID, "f", version=version) is None


class TestListedChat:
    @pytest.mark.parametrize(
        "chat",
        [
            ChatRow(CHAT_ID, "t1", "owner", "Plan", TEAM, "", {}, [], "", 0, T0, T1, T1, deleted=False, version=1),
            ChatRow(CHAT_ID, "t1", "o", "", PUBLIC, "", {}, [""], "", 0, EPOCH, EPOCH, T1, deleted=False, version=1),
            ChatRow(
                CHAT_ID, "tenant-ü", "ówner", "Approvals ✓ 🚀", PRIVATE, 'with "quotes" and \\ ' * 20,
                {"team": "core", "emoji": "🚀", "empty": ""}, ["ops", "", "bench ✓"], "general-assistant", 70_000,
                dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC), T0 + dt.timedelta(microseconds=654_321),
                dt.datetime(2262, 1, 1, tzinfo=dt.UTC), deleted=False, version=2**40,
            ),
        ],
    )  # fmt: skip
    def test_a_listed_row_encodes_as_the_chat_row_does(self, chat: ChatRow) -> None:
        """A ListChats row (text id, JSON labels, microsecond times) writes the very Chat that fill_chat writes."""
        micros = [to_micros(t) for t in (chat.created_at, chat.updated_at, chat.last_activity_at)]
        labels = json.dumps(chat.labels) if chat.labels else "{}"
        listed = (5, str(chat.id), chat.tenant_id, chat.owner, chat.title, chat.visibility, chat.description, labels,
                  chat.tags, chat.agent_id, chat.message_count, *micros, chat.deleted, chat.version)  # fmt: skip
        expected, page = types.Chat(), svc.ListChatsResponse()
        fill_chat(expected, chat)
        rows_module.fill_listed_chats(page.threads, [listed])
        (got,) = page.threads
        assert got == expected
        assert got.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
        assert rows_module.listed_chat_position(listed) == position(chat.last_activity_at, chat.id)
