from __future__ import annotations

import asyncio
import uuid

import pytest

from ameide_command.adapters.outbox_hint import CHANNEL, OutboxHint
from ameide_eventstore import NewEvent, StreamAppend
from ameide_eventstore.sharding import shard_of

pytestmark = pytest.mark.unit


class FakeRedis:
    """Records PUBLISH calls; can be told to fail."""

    def __init__(self, *, fail: bool = False) -> None:
        self.published: list[tuple[str, str]] = []
        self.fail = fail
        self.closed = False

    async def publish(self, channel: str, message: str) -> int:
        """Record or fail."""
        if self.fail:
            raise OSError("redis is down")
        self.published.append((channel, message))
        return 1

    async def aclose(self) -> None:
        """Record closing."""
        self.closed = True


def append_for(stream_id: uuid.UUID) -> StreamAppend:
    """A one-event append."""
    return StreamAppend(stream_id, "chat", "t", 0, [NewEvent(uuid.uuid4(), "x", b"")])


async def wait_until(condition: object, attempts: int = 200) -> None:
    """Bounded polling for a background task's effect."""
    for _ in range(attempts):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


class TestOutboxHint:
    async def test_burst_of_commits_becomes_few_hints_naming_the_shards(self) -> None:
        """Commits mark shards; the background task publishes them on ameide:outbox, coalesced."""
        client = FakeRedis()
        hint = OutboxHint(client, shard_count=64)  # type: ignore[arg-type]
        streams = [uuid.uuid4() for _ in range(10)]
        for stream in streams:
            await hint([append_for(stream)])
        await wait_until(lambda: client.published)
        await hint.close()
        shards = {int(s) for _, message in client.published for s in message.split(",")}
        assert {channel for channel, _ in client.published} == {CHANNEL}
        assert shards == {shard_of(stream, 64) for stream in streams}
        assert len(client.published) < 10
        assert client.closed

    async def test_redis_down_never_fails_the_caller(self) -> None:
        """A failing PUBLISH is swallowed; the command's call returns normally."""
        client = FakeRedis(fail=True)
        hint = OutboxHint(client, shard_count=64)  # type: ignore[arg-type]
        await hint([append_for(uuid.uuid4())])
        await asyncio.sleep(0.01)
        await hint.close()
        assert client.published == []
