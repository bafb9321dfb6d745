from datetime import UTC, datetime

import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_query.streams import rendering
from ameide_query.streams.kinds import chat_kind
from ameide_query.views import access
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec

pytestmark = pytest.mark.unit

CODEC = TokenCodec(b"rendering-test-secret-000")
AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _entry(seq: int, text: str = "hi") -> FeedEntry:
    update = threads_service_pb2.ChatUpdate()
    update.message.parts.add().text.text = text
    return FeedEntry("thread:c", "t1", update.SerializeToString(), AT, seq)


class TestRenderer:
    def test_update_carries_its_checkpoint_and_time(self) -> None:
        """The rendered update has a resume token for its sequence and the entry's time."""
        update = rendering.Renderer(CODEC).render(chat_kind(access), _entry(7), "t1")
        point = resume.parse(CODEC, update.checkpoint_token, tenant_id="t1", feed="thread:c", ttl_seconds=60)
        assert point.seq == 7
        assert update.timestamp.ToDatetime(tzinfo=UTC) == AT

    def test_one_render_per_entry_and_tenant(self) -> None:
        """Subscribers of one tenant share the render; another tenant gets its own token."""
        renderer, kind = rendering.Renderer(CODEC), chat_kind(access)
        first = renderer.render(kind, _entry(1), "t1")
        assert renderer.render(kind, _entry(1), "t1") is first
        assert renderer.render(kind, _entry(1), "t2") is not first

    def test_cache_is_bounded_by_bytes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Large payloads push older renders out instead of growing without bound."""
        monkeypatch.setattr(rendering, "_CACHE_BYTES", 1000)
        renderer, kind = rendering.Renderer(CODEC), chat_kind(access)
        old = renderer.render(kind, _entry(1, "x" * 600), "t1")
        renderer.render(kind, _entry(2, "y" * 600), "t1")
        assert renderer.render(kind, _entry(1, "x" * 600), "t1") is not old
        assert renderer._bytes <= 1000
