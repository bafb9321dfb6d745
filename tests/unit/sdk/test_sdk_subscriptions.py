"""Resumable subscriptions: reconnect on transient errors, resume from the checkpoint, never deliver twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import grpc.aio
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_sdk import (
    AmeideClient,
    FileCheckpointStore,
    InMemoryCheckpointStore,
    ReconnectPolicy,
    ResumeExpired,
    Subscription,
)
from ameide_sdk.checkpoints import checkpoint_position
from tests.unit.sdk.fakes import FakeServer, make_token, token_seq

pytestmark = pytest.mark.unit

CHAT = str(uuid.uuid4())


async def _sequences(subscription: Subscription[threads_service_pb2.ChatUpdate], limit: int = 100) -> list[int]:
    """Sequences of the message updates until the stream ends (or ``limit`` updates)."""
    seen: list[int] = []
    async for update in subscription:
        seen.append(update.message.sequence if update.HasField("message") else -1)
        if len(seen) >= limit:
            break
    return seen


class TestReconnect:
    """Transient stream errors are survived transparently."""

    async def test_resumes_after_transient_errors_without_gaps_or_duplicates(
        self, client: AmeideClient, server: FakeServer
    ) -> None:
        """UNAVAILABLE and RESOURCE_EXHAUSTED reconnect from the last checkpoint; replayed updates are dropped."""
        script = server.queries.script
        script.breaks = [(grpc.StatusCode.UNAVAILABLE, 3), (grpc.StatusCode.RESOURCE_EXHAUSTED, 4)]
        script.overlap = 2  # each resume re-sends the last two delivered updates (at-least-once)

        subscription = client.subscribe_chat(CHAT)
        assert list(range(1, 11)) == await _sequences(subscription)

        assert [0, 3, 5] == [token_seq(token) for token in script.resume_tokens]
        assert subscription.reconnects == 2
        assert token_seq(subscription.checkpoint) == 10

    async def test_transport_reset_is_resumed(self, client: AmeideClient, server: FakeServer) -> None:
        """A stream reset by the transport (INTERNAL RST_STREAM) is resumed like UNAVAILABLE."""
        server.queries.script.breaks = [(grpc.StatusCode.INTERNAL, 2)]
        server.queries.script.reset_details = "Received RST_STREAM with error code 2"

        assert list(range(1, 11)) == await _sequences(client.subscribe_chat(CHAT))

    async def test_gives_up_after_consecutive_failures(self, server: FakeServer) -> None:
        """Failures with no progress in between stop after max_attempts, with the last error."""
        server.queries.script.breaks = [(grpc.StatusCode.UNAVAILABLE, 0)] * 5
        server.queries.script.length = 0
        policy = ReconnectPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)
        async with AmeideClient(server.target, reconnect=policy) as client:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _sequences(client.subscribe_chat(CHAT))

        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(server.queries.script.resume_tokens) == 3

    @pytest.mark.parametrize("code", [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT])
    async def test_other_errors_end_the_subscription(
        self, client: AmeideClient, server: FakeServer, code: grpc.StatusCode
    ) -> None:
        """Losing access or a rejected token is final: raised at once, no reconnect."""
        server.queries.script.breaks = [(code, 2)]

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _sequences(client.subscribe_chat(CHAT))

        assert caught.value.code() == code
        assert len(server.queries.script.resume_tokens) == 1


class TestResume:
    """Where a subscription starts, and what it remembers."""

    async def test_break_then_subscribe_again_continues_after_last_update(
        self, client: AmeideClient, server: FakeServer
    ) -> None:
        """Stopping after N updates and subscribing with the same store delivers N+1.. with no gap or dupe."""
        store = InMemoryCheckpointStore()
        server.queries.script.overlap = 3

        first = client.subscribe_chat(CHAT, checkpoint_store=store)
        head = await _sequences(first, limit=4)
        await first.aclose()
        tail = await _sequences(client.subscribe_chat(CHAT, checkpoint_store=store))

        assert [1, 2, 3, 4] == head
        assert list(range(5, 11)) == tail
        assert token_seq(server.queries.script.resume_tokens[-1]) == 4

    async def test_explicit_resume_token_wins(self, client: AmeideClient) -> None:
        """resume_token (e.g. GetMessages' checkpoint_token) is where the stream starts."""
        store = InMemoryCheckpointStore()
        await store.save(f"thread:{CHAT}", make_token(2))

        seen = await _sequences(client.subscribe_chat(CHAT, resume_token=make_token(7), checkpoint_store=store))

        assert [8, 9, 10] == seen

    async def test_file_store_survives_a_restart(self, client: AmeideClient, tmp_path: Path) -> None:
        """A FileCheckpointStore written by one subscription resumes a later one (a new process)."""
        path = tmp_path / "checkpoints.json"
        first = client.subscribe_chat(CHAT, checkpoint_store=FileCheckpointStore(path))
        await _sequences(first, limit=6)
        await first.aclose()

        assert token_seq(await FileCheckpointStore(path).load(f"thread:{CHAT}") or "") == 6
        assert [7, 8, 9, 10] == await _sequences(
            client.subscribe_chat(CHAT, checkpoint_store=FileCheckpointStore(path))
        )

    async def test_expired_token_raises_resume_expired(self, client: AmeideClient, server: FakeServer) -> None:
        """FAILED_PRECONDITION RESUME_TOKEN_EXPIRED becomes ResumeExpired, telling the app to reload."""
        server.queries.script.expire_below = 5

        with pytest.raises(ResumeExpired, match="reload") as caught:
            await _sequences(client.subscribe_chat(CHAT, resume_token=make_token(2)))

        assert caught.value.feed == f"thread:{CHAT}"

    def test_bad_id_fails_before_calling(self, client: AmeideClient, server: FakeServer) -> None:
        """A malformed chat id is a ValueError; nothing is sent."""
        with pytest.raises(ValueError, match="threads_id must be a UUID"):
            client.subscribe_chat("chat-1")

        assert server.queries.script.resume_tokens == []


class TestControlMessages:
    """StreamControl messages keep the checkpoint fresh but stay out of the way."""

    async def test_hidden_by_default(self, client: AmeideClient, server: FakeServer) -> None:
        """Only data updates are yielded; heartbeats still refresh the saved token."""
        server.queries.script.heartbeat_every = 5
        store = InMemoryCheckpointStore()

        seen = await _sequences(client.subscribe_chat(CHAT, checkpoint_store=store))

        assert list(range(1, 11)) == seen
        # CAUGHT_UP at seq 10 came last with a fresher token for the same position.
        assert (await store.load(f"thread:{CHAT}") or "") == server_control_token(10)

    async def test_exposed_on_request(self, client: AmeideClient, server: FakeServer) -> None:
        """include_control=True yields SUBSCRIBED, the data, and CAUGHT_UP."""
        server.queries.script.length = 2

        kinds = [update.WhichOneof("update") async for update in client.subscribe_chat(CHAT, include_control=True)]

        assert ["control", "message", "message", "control"] == kinds


def server_control_token(seq: int) -> str:
    """The token the fake sends on control messages at ``seq``."""
    return make_token(seq, issued_at=2.0)


class TestArtifactSubscription:
    """subscribe_artifact behaves like subscribe_chat."""

    async def test_full_replay_is_deduplicated(self, client: AmeideClient, server: FakeServer) -> None:
        """A server that replays from the start after a reconnect still yields each version once."""
        versions = [update.version async for update in client.subscribe_artifact(str(uuid.uuid4()))]

        assert [1, 2, 3, 4] == versions
        assert [0, 2] == [token_seq(token) for token in server.artifacts.resume_tokens]

    async def test_a_chat_referenced_again_is_handed_over_again(self, client: AmeideClient, server: FakeServer) -> None:
        """threads_added for a chat already seen (renamed) is a new update, not a duplicate.

        Positions skip the updates withheld from the caller, and a replay after a reconnect yields each update once.
        """
        chat = str(uuid.uuid4())
        added = artifacts_service_pb2.ArtifactUpdate()
        added.threads_added.threads_id = chat
        added.threads_added.threads_title = "Draft"
        renamed = artifacts_service_pb2.ArtifactUpdate()
        renamed.CopyFrom(added)
        renamed.threads_added.threads_title = "Plan"
        removed = artifacts_service_pb2.ArtifactUpdate()
        removed.threads_removed.threads_id = chat
        server.artifacts.length, server.artifacts.break_after = 5, 3
        server.artifacts.scripted = {1: added, 3: renamed, 5: removed}  # 2 and 4 withheld from this caller
        subscription = client.subscribe_artifact(str(uuid.uuid4()))
        seen = [
            (update.WhichOneof("update"), update.threads_added.threads_title, token_seq(update.checkpoint_token))
            async for update in subscription
        ]
        assert seen == [("threads_added", "Draft", 1), ("threads_added", "Plan", 3), ("threads_removed", "", 5)]
        assert token_seq(subscription.checkpoint) == 5


class TestCheckpointPosition:
    """The SDK reads the sequence of service-shaped tokens and tolerates anything else."""

    @pytest.mark.parametrize(
        ("token", "expected"),
        [(make_token(42), 42), ("", None), ("garbage", None), ("e30.mac", None), ("!!!.mac", None)],
    )
    def test_position(self, token: str, expected: int | None) -> None:
        """Readable tokens give their seq; others give None (compared by value instead)."""
        assert expected == checkpoint_position(token)
