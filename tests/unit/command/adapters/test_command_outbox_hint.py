from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.exceptions

from ameide_command.adapters import outbox_hint
from ameide_command.adapters.outbox_hint import CHANNEL, OutboxHint
from ameide_eventstore import NewEvent, StreamAppend
from ameide_eventstore.sharding import shard_of

pytestmark = pytest.mark.unit


class FakeConnection:
    """Records the commands written on it; can be told to fail."""

    def __init__(self, client: FakeRedis) -> None:
        self._client = client
        self.commands: list[tuple[str, ...]] = []
        self.disconnected = False
        # Replies Redis sent although asked not to (it refused CLIENT REPLY OFF): errors or plain values.
        self.unread: list[object] = []

    async def connect(self) -> None:
        """Fail when Redis is down."""
        if self._client.fail:
            raise OSError("redis is down")

    async def send_command(self, *args: str, check_health: bool = True) -> None:
        """Record the command (PUBLISH also on the client), or fail."""
        assert not check_health  # a health check would read a reply that never comes
        if self._client.fail:
            raise OSError("redis is down")
        self.commands.append(args)
        if args[0] == "PUBLISH":
            assert self.commands[0] == ("CLIENT", "REPLY", "OFF")  # replies off before the first hint
            self._client.published.append((args[1], args[2]))

    async def can_read(self) -> bool:
        """Whether a reply waits to be read."""
        return bool(self.unread)

    async def read_response(self, *, disable_decoding: bool, disconnect_on_error: bool) -> object:
        """The oldest unread reply; an error reply raises, as redis-py does."""
        assert disable_decoding
        assert not disconnect_on_error
        reply = self.unread.pop(0)
        if isinstance(reply, redis.exceptions.ResponseError):
            raise reply
        return reply

    async def disconnect(self) -> None:
        """Record disconnecting."""
        self.disconnected = True


class FakePool:
    """Hands out fake connections."""

    def __init__(self, client: FakeRedis) -> None:
        self._client = client

    def make_connection(self) -> FakeConnection:
        """A new connection, remembered on the client."""
        connection = FakeConnection(self._client)
        self._client.connections.append(connection)
        return connection


class FakeRedis:
    """Records what is PUBLISHed on its connections; can be told to fail."""

    def __init__(self, *, fail: bool = False) -> None:
        self.published: list[tuple[str, str]] = []
        self.connections: list[FakeConnection] = []
        self.connection_pool = FakePool(self)
        self.fail = fail
        self.closed = False

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
        assert len(client.connections) == 1
        assert client.connections[0].disconnected

    async def test_redis_down_never_fails_the_caller(self) -> None:
        """A failing PUBLISH is swallowed; the command's call returns normally."""
        client = FakeRedis(fail=True)
        hint = OutboxHint(client, shard_count=64)  # type: ignore[arg-type]
        await hint([append_for(uuid.uuid4())])
        await asyncio.sleep(0.01)
        await hint.close()
        assert client.published == []

    async def test_a_failed_write_reconnects_for_the_next_hint(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A hint lost to a broken connection is followed by one on a new connection (replies off again)."""
        monkeypatch.setattr(outbox_hint, "RETRY_PAUSE_SECONDS", 0.0)
        client = FakeRedis(fail=True)
        hint = OutboxHint(client, shard_count=64)  # type: ignore[arg-type]
        stream = uuid.uuid4()
        await hint([append_for(stream)])
        await wait_until(lambda: client.connections)
        client.fail = False
        await hint([append_for(stream)])
        await wait_until(lambda: client.published)
        await hint.close()
        assert client.published == [(CHANNEL, str(shard_of(stream, 64)))]
        assert len(client.connections) == 2
        assert client.connections[0].disconnected

    async def test_replies_sent_anyway_are_read_and_dropped(self) -> None:
        """Where Redis refused CLIENT REPLY OFF, the replies that come are drained before each hint, never piled up."""
        client = FakeRedis()
        hint = OutboxHint(client, shard_count=64)  # type: ignore[arg-type]
        first, second = uuid.uuid4(), uuid.uuid4()
        await hint([append_for(first)])
        await wait_until(lambda: client.published)
        connection = client.connections[0]
        connection.unread.extend([redis.exceptions.ResponseError("NOPERM no permissions to run 'client'"), 1])
        await hint([append_for(second)])
        await wait_until(lambda: len(client.published) == 2)
        await hint.close()
        assert connection.unread == []
        assert client.published[1] == (CHANNEL, str(shard_of(second, 64)))
        assert len(client.connections) == 1  # the refusal is not a broken connection
