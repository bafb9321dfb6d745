from datetime import UTC, datetime

import pytest

from ameide_readmodel.feed import keys as feed_keys
from ameide_readmodel.feed.entries import FeedEntry

pytestmark = pytest.mark.unit


class TestStreamLayout:
    def test_entry_round_trips_through_stream_fields(self) -> None:
        """What the publisher writes is what readers decode, to the microsecond."""
        entry = FeedEntry("thread:1", "t", b"\x00payload", datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42)
        fields = feed_keys.encode_fields(entry)
        assert feed_keys.decode_fields("thread:1", b"42-0", fields) == entry

    def test_a_chats_visibility_before_round_trips_and_is_absent_when_zero(self) -> None:
        """Only an update reporting a chat leaving carries the field; readers see 0 elsewhere."""
        at = datetime(2026, 1, 2, tzinfo=UTC)
        leaving = FeedEntry("artifact:1", "t", b"x", at, 3, chat_visibility_before=2)
        fields = feed_keys.encode_fields(leaving)
        assert fields[feed_keys.FIELD_CHAT_VISIBILITY_BEFORE] == b"2"
        assert feed_keys.decode_fields("artifact:1", b"3-0", fields) == leaving
        plain = feed_keys.encode_fields(FeedEntry("artifact:1", "t", b"x", at, 4))
        assert feed_keys.FIELD_CHAT_VISIBILITY_BEFORE not in plain
        assert feed_keys.decode_fields("artifact:1", b"4-0", plain).chat_visibility_before == 0

    def test_ids_and_keys(self) -> None:
        """Entry ids are <seq>-0 and keys carry the prefix."""
        assert feed_keys.entry_id(7) == "7-0"
        assert feed_keys.seq_of(b"7-0") == feed_keys.seq_of("7-0") == 7
        assert feed_keys.stream_key("artifact:a", "p:") == "p:artifact:a"
        assert feed_keys.epoch_key("p:") == "p:__epoch__"

    def test_malformed_fields_are_rejected(self) -> None:
        """A stream entry that is not a feed entry raises instead of yielding garbage."""
        with pytest.raises(KeyError):
            feed_keys.decode_fields("thread:1", b"1-0", {b"x": b"y"})
