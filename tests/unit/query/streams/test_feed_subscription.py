import asyncio
from datetime import UTC, datetime

import pytest

from ameide_query.streams.source import _contiguous
from ameide_query.streams.subscription import Subscription
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime.errors import Unavailable

pytestmark = pytest.mark.unit


_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(seq: int) -> FeedEntry:
    return FeedEntry("thread:x", "t", b"", _AT, seq)


class TestSubscription:
    def test_queue_keeps_order_and_tracks_the_head(self) -> None:
        """Entries come out in the order offered; known_head follows the highest sequence."""
        sub = Subscription("thread:x", maxsize=4)
        for seq in (1, 2, 3):
            sub.offer(_entry(seq))
        assert [sub.pop(), sub.pop()] == [_entry(1), _entry(2)]
        assert sub.known_head == 3

    def test_overflow_while_replaying_drops_without_cutting(self) -> None:
        """Before CAUGHT_UP a full queue just drops: replay fetches those entries anyway."""
        sub = Subscription("thread:x", maxsize=2)
        for seq in range(1, 6):
            sub.offer(_entry(seq))
        assert not sub.overflowed
        assert sub.known_head == 5
        assert [sub.pop(), sub.pop(), sub.pop()] == [_entry(1), _entry(2), None]

    def test_overflow_when_live_marks_the_subscriber_slow(self) -> None:
        """A live subscriber whose queue is full is marked to be cut."""
        sub = Subscription("thread:x", maxsize=2)
        sub.live = True
        for seq in range(1, 4):
            sub.offer(_entry(seq))
        assert sub.overflowed

    def test_note_head_never_goes_back(self) -> None:
        """Heads learned by polling only move forward."""
        sub = Subscription("thread:x", maxsize=2)
        sub.note_head(9)
        sub.note_head(3)
        assert sub.known_head == 9

    async def test_wait_wakes_on_offer_and_close(self) -> None:
        """wait() returns True once something happened, False after the time passed with nothing."""
        sub = Subscription("thread:x", maxsize=2)
        assert not await sub.wait(0)
        asyncio.get_running_loop().call_soon(sub.offer, _entry(1))
        assert await sub.wait(30)
        sub.close(Unavailable("bye"))
        assert await sub.wait(30)
        assert isinstance(sub.closed, Unavailable)


class TestContiguous:
    def test_stops_at_the_first_gap(self) -> None:
        """Only the run that continues the last delivered sequence is usable."""
        assert _contiguous([_entry(4), _entry(5), _entry(7)], 3) == [_entry(4), _entry(5)]
        assert _contiguous([_entry(5)], 3) == []


class TestGoLive:
    def test_replayed_entries_are_dropped_and_a_full_queue_emptied(self) -> None:
        """Going live never starts with a backlog that would cut a subscriber at once."""
        sub = Subscription("thread:x", maxsize=4)
        for seq in (1, 2, 3):
            sub.offer(_entry(seq))
        sub.go_live(3)
        assert [sub.pop(), sub.pop()] == [_entry(3), None]
        busy = Subscription("thread:x", maxsize=4)
        for seq in (5, 6, 7, 8):
            busy.offer(_entry(seq))
        busy.go_live(5)
        assert busy.pop() is None
        assert busy.known_head == 8
        assert busy.live
