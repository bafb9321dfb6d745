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
