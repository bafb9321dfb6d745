"""Per-subscriber screening of stream updates that name a chat or an artifact (no server)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_query.streams import reads, screening
from ameide_query.streams.kinds import Update
from ameide_query.streams.screening import ChatDirectory, Outcome, UpdateScreen, chat_reference_outcome
from ameide_query.views.access import ChatFacts
from ameide_query.views.rows import PRIVATE, PUBLIC, TEAM
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime.identity import Identity

pytestmark = pytest.mark.unit

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
FEED = "artifact:a"
OWNER, PEER, STRANGER = Identity("owner", "t1"), Identity("peer", "t1"), Identity("peer", "t2")
CHAT = uuid.uuid4()


def _chat(visibility: int, *, deleted: bool = False, title: str = "Plan") -> ChatFacts:
    return ChatFacts("t1", "owner", visibility, deleted, title)


class TestChatReferenceOutcome:
    @pytest.mark.parametrize(
        ("caller", "visibility", "outcome"),
        [
            (OWNER, PRIVATE, Outcome.ADDED),
            (PEER, PRIVATE, Outcome.NOTHING),  # a colleague's private chat: never named
            (PEER, TEAM, Outcome.ADDED),
            (PEER, PUBLIC, Outcome.ADDED),
        ],
    )
    def test_a_link_goes_to_who_may_list_the_chat(self, caller: Identity, visibility: int, outcome: Outcome) -> None:
        """threads_added of a link: GetArtifactChats' rule, read when the update is sent."""
        assert chat_reference_outcome("threads_added", _chat(visibility), 0, caller) is outcome

    @pytest.mark.parametrize(
        ("before", "now", "peer", "owner"),
        [
            (TEAM, PRIVATE, Outcome.REMOVED, Outcome.ADDED),  # made private: the colleague loses it, its owner not
            (PRIVATE, TEAM, Outcome.ADDED, Outcome.ADDED),  # made visible: appears
            (PRIVATE, PRIVATE, Outcome.NOTHING, Outcome.ADDED),  # renamed while private
            (PUBLIC, TEAM, Outcome.ADDED, Outcome.ADDED),
        ],
    )
    def test_a_change_becomes_what_each_reader_needs(
        self, before: int, now: int, peer: Outcome, owner: Outcome
    ) -> None:
        """A chat's change reaches its artifacts as threads_added: an update, an appearance or a removal."""
        assert chat_reference_outcome("threads_added", _chat(now), before, PEER) is peer
        assert chat_reference_outcome("threads_added", _chat(now), before, OWNER) is owner

    @pytest.mark.parametrize(
        ("before", "peer"),
        [(TEAM, Outcome.REMOVED), (PUBLIC, Outcome.REMOVED), (PRIVATE, Outcome.NOTHING), (0, Outcome.NOTHING)],
    )
    def test_a_removal_goes_to_who_could_list_the_chat_before(self, before: int, peer: Outcome) -> None:
        """threads_removed of a deleted or unlinked chat: only readers it had (by its visibility just before)."""
        deleted = _chat(PRIVATE, deleted=True)
        assert chat_reference_outcome("threads_removed", deleted, before, PEER) is peer
        assert chat_reference_outcome("threads_removed", deleted, before, OWNER) is Outcome.REMOVED

    def test_a_removal_without_its_past_falls_back_to_the_chat_as_it_is(self) -> None:
        """An unlink of a chat the caller may list now is theirs to know; an unknown chat is nobody's."""
        assert chat_reference_outcome("threads_removed", _chat(TEAM), 0, PEER) is Outcome.REMOVED
        assert chat_reference_outcome("threads_added", None, TEAM, OWNER) is Outcome.NOTHING

    def test_another_tenant_learns_nothing(self) -> None:
        """Not even of a PUBLIC chat: lists never cross tenants."""
        for case, before in (("threads_added", 0), ("threads_removed", PUBLIC)):
            assert chat_reference_outcome(case, _chat(PUBLIC), before, STRANGER) is Outcome.NOTHING


def _added(seq: int, title: str = "Linked", *, before: int = 0) -> tuple[FeedEntry, arts.ArtifactUpdate]:
    update = arts.ArtifactUpdate(version=3, checkpoint_token=f"cp{seq}")
    update.threads_added.threads_id = str(CHAT)
    update.threads_added.threads_title = title
    update.timestamp.FromDatetime(AT)
    return FeedEntry(FEED, "t1", update.SerializeToString(), AT, seq, chat_visibility_before=before), update


def _removed(seq: int, *, before: int) -> tuple[FeedEntry, arts.ArtifactUpdate]:
    update = arts.ArtifactUpdate(checkpoint_token=f"cp{seq}")
    update.threads_removed.threads_id = str(CHAT)
    return FeedEntry(FEED, "t1", update.SerializeToString(), AT, seq, chat_visibility_before=before), update


def _content(seq: int) -> tuple[FeedEntry, arts.ArtifactUpdate]:
    update = arts.ArtifactUpdate(version=4, checkpoint_token=f"cp{seq}")
    update.content_updated.body = b"x"
    return FeedEntry(FEED, "t1", update.SerializeToString(), AT, seq), update


class KnownChats(ChatDirectory):
    """A directory answering from a dict (and counting lookups)."""

    def __init__(self, chat: ChatFacts | None) -> None:
        self.chat = chat
        self.lookups = 0

    async def lookup(self, feed_key: str, named: dict[int, uuid.UUID]) -> dict[int, ChatFacts | None]:
        """Every named chat is ``chat``."""
        del feed_key
        self.lookups += 1
        return dict.fromkeys(named, self.chat)


async def _screen(
    directory: ChatDirectory, items: Iterable[tuple[FeedEntry, Update]], caller: Identity
) -> list[Update]:
    entries, updates = zip(*items, strict=True)
    screened = await UpdateScreen(directory).screen(list(entries), list(updates), caller)
    assert len(screened) == len(updates)  # aligned: None where withheld
    return [update for update in screened if update is not None]


class TestUpdateScreen:
    async def test_a_page_costs_one_lookup_and_keeps_its_order(self) -> None:
        """Several entries naming chats are looked up together; other updates pass untouched."""
        directory = KnownChats(_chat(TEAM, title="Plan"))
        items = [_content(1), _added(2, "Linked"), _content(3), _removed(4, before=TEAM)]
        sent = await _screen(directory, items, PEER)
        assert [u.WhichOneof("update") for u in sent] == [
            "content_updated",
            "threads_added",
            "content_updated",
            "threads_removed",
        ]
        assert directory.lookups == 1
        assert sent[0] is items[0][1]

    async def test_the_title_is_the_chats_as_it_is_sent_without_touching_the_shared_update(self) -> None:
        """A title empty or old in the feed arrives current; the rendered (shared) message stays as it was."""
        entry, update = _added(1, "")
        (sent,) = await _screen(KnownChats(_chat(TEAM, title="Renamed")), [(entry, update)], PEER)
        assert isinstance(sent, arts.ArtifactUpdate)
        assert (sent.threads_added.threads_title, sent.checkpoint_token, sent.version) == ("Renamed", "cp1", 3)
        assert update.threads_added.threads_title == ""
        same = _added(2, "Renamed")
        (unchanged,) = await _screen(KnownChats(_chat(TEAM, title="Renamed")), [same], PEER)
        assert unchanged is same[1]

    async def test_a_reader_who_lost_the_chat_gets_its_removal_at_the_same_position(self) -> None:
        """Made PRIVATE: the owner's list keeps it, a colleague's drops it, in place of threads_added."""
        item = _added(5, "Plan", before=TEAM)
        directory = KnownChats(_chat(PRIVATE))
        (own,) = await _screen(directory, [item], OWNER)
        (peer,) = await _screen(directory, [item], PEER)
        assert own.WhichOneof("update") == "threads_added"
        assert isinstance(peer, arts.ArtifactUpdate)
        assert peer.WhichOneof("update") == "threads_removed"
        assert (peer.threads_removed.threads_id, peer.checkpoint_token, peer.version) == (str(CHAT), "cp5", 3)
        assert peer.timestamp == item[1].timestamp

    async def test_withheld_updates_are_counted_and_leave_nothing(self) -> None:
        """A colleague's private chat: its link and unlink are sent as nothing at all."""
        directory = KnownChats(_chat(PRIVATE))
        before = screening.WITHHELD._value.get()
        sent = await _screen(directory, [_added(1), _content(2), _removed(3, before=PRIVATE)], PEER)
        assert [u.WhichOneof("update") for u in sent] == ["content_updated"]
        assert screening.WITHHELD._value.get() - before == 2

    @pytest.mark.parametrize("case", ["relation", "relation_removed"])
    async def test_a_chats_artifacts_are_named_only_within_their_tenant(self, case: str) -> None:
        """A PUBLIC chat's reader from another tenant learns nothing of its tenant's artifacts."""
        update = chats.ChatUpdate()
        getattr(update, case).artifact_id = str(uuid.uuid4())
        message = chats.ChatUpdate()
        message.message.parts.add().text.text = "hi"
        items = [
            (FeedEntry("thread:c", "t1", b"", AT, 1), update),
            (FeedEntry("thread:c", "t1", b"", AT, 2), message),
        ]
        directory = KnownChats(None)
        assert await _screen(directory, items, OWNER) == [update, message]
        assert await _screen(directory, items, STRANGER) == [message]
        assert directory.lookups == 0  # no read: the entry's tenant is the artifact's


class FakePool:
    """``ConnectionPool.connection()`` for ``reads.chat_facts`` patched out."""

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[object]:
        """A placeholder connection."""
        yield object()


class Answers:
    """``reads.chat_facts`` answering from a script of (head, chats), gated, counting calls."""

    def __init__(self, *answers: tuple[int, dict[uuid.UUID, ChatFacts]]) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, conn: object, feed_key: str, ids: Any) -> tuple[int, dict[uuid.UUID, ChatFacts]]:
        """The next scripted answer (the last one repeats)."""
        del conn, feed_key, ids
        self.calls += 1
        await self.gate.wait()
        return self.answers[min(self.calls, len(self.answers)) - 1]


def _directory(monkeypatch: pytest.MonkeyPatch, answers: Answers, **kwargs: Any) -> ChatDirectory:
    monkeypatch.setattr(reads, "chat_facts", answers)
    return ChatDirectory(FakePool(), retry_wait=0, **kwargs)  # type: ignore[arg-type]


class TestChatDirectory:
    async def test_many_subscribers_of_one_entry_cost_one_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Fifty streams sending the same link at once read the chat once."""
        answers = Answers((9, {CHAT: _chat(TEAM)}))
        answers.gate.clear()
        directory = _directory(monkeypatch, answers)
        waiting = [asyncio.create_task(directory.lookup(FEED, {9: CHAT})) for _ in range(50)]
        await asyncio.sleep(0)
        answers.gate.set()
        results = await asyncio.gather(*waiting)
        assert answers.calls == 1
        assert {r[9] for r in results} == {_chat(TEAM)}

    async def test_a_read_is_reused_only_while_fresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Within max_age the result serves later subscribers; after it, the chat is read again."""
        answers = Answers((9, {CHAT: _chat(TEAM)}))
        directory = _directory(monkeypatch, answers, max_age=3600)
        await directory.lookup(FEED, {9: CHAT})
        await directory.lookup(FEED, {9: CHAT})
        assert answers.calls == 1
        stale = _directory(monkeypatch, answers, max_age=-1)
        await stale.lookup(FEED, {9: CHAT})
        await stale.lookup(FEED, {9: CHAT})
        assert answers.calls == 3

    async def test_a_read_serves_the_entries_its_snapshot_holds(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Read for entry 9 (chat deleted there): replaying entries 3 and 9 uses it; entry 10 needs a new read."""
        answers = Answers((9, {CHAT: _chat(TEAM, deleted=True)}), (10, {CHAT: _chat(TEAM)}))
        directory = _directory(monkeypatch, answers, max_age=3600)
        await directory.lookup(FEED, {9: CHAT})
        assert await directory.lookup(FEED, {3: CHAT, 9: CHAT}) == {
            3: _chat(TEAM, deleted=True),
            9: _chat(TEAM, deleted=True),
        }
        assert answers.calls == 1
        assert await directory.lookup(FEED, {10: CHAT}) == {10: _chat(TEAM)}
        assert await directory.lookup(FEED, {3: CHAT}) == {3: _chat(TEAM)}  # the newest read serves the older entry
        assert answers.calls == 2

    async def test_a_snapshot_behind_the_entry_or_without_the_chat_is_read_again(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A replica not at the entry yet, then a chat not projected yet: asked again until both are there."""
        answers = Answers((8, {}), (9, {}), (9, {CHAT: _chat(TEAM, title="Late")}))
        found = await _directory(monkeypatch, answers).lookup(FEED, {9: CHAT})
        assert (answers.calls, found[9]) == (3, _chat(TEAM, title="Late"))

    async def test_a_chat_that_never_appears_is_nobodys_after_the_bound(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bounded: the stream goes on, the update is withheld."""
        answers = Answers((9, {}))
        found = await _directory(monkeypatch, answers, retries=3).lookup(FEED, {9: CHAT})
        assert (answers.calls, found) == (4, {9: None})

    async def test_a_read_waiting_for_its_chat_holds_up_no_other_feed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """One feed's chat is not projected yet: another feed's lookup is answered meanwhile."""
        other = uuid.uuid4()
        arrived = asyncio.Event()

        async def facts(conn: object, feed_key: str, ids: Any) -> tuple[int, dict[uuid.UUID, ChatFacts]]:
            del conn, ids
            if feed_key == FEED and not arrived.is_set():
                return 9, {}  # not there yet: asked again
            return 9, {CHAT: _chat(TEAM), other: _chat(PUBLIC)}

        monkeypatch.setattr(reads, "chat_facts", facts)
        directory = ChatDirectory(FakePool(), retry_wait=0.001, retries=100_000)  # type: ignore[arg-type]
        waiting = asyncio.create_task(directory.lookup(FEED, {9: CHAT}))
        assert await directory.lookup("artifact:b", {9: other}) == {9: _chat(PUBLIC)}
        assert not waiting.done()
        arrived.set()
        assert await waiting == {9: _chat(TEAM)}

    async def test_a_failed_read_is_not_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The error reaches the subscriber; the next one reads again."""
        calls = SimpleNamespace(n=0)

        async def failing(conn: object, feed_key: str, ids: Any) -> tuple[int, dict[uuid.UUID, ChatFacts]]:
            del conn, feed_key, ids
            calls.n += 1
            raise OSError("down")

        monkeypatch.setattr(reads, "chat_facts", failing)
        directory = ChatDirectory(FakePool(), retry_wait=0)  # type: ignore[arg-type]
        for _ in range(2):
            with pytest.raises(OSError, match="down"):
                await directory.lookup(FEED, {9: CHAT})
        assert calls.n == 2
