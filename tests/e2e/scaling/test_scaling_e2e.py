"""Scaling on one host: 2 command and 2 query workers (``--workers 2``) and 3 projector processes under load.

Every event is projected exactly once (read model and live-update feed checked against the event log), and when
one projector is SIGKILLed in the middle of the writes the other two take over its outbox shards and project
everything written afterwards. Waits are bounded polls on conditions, never sleeps that decide the outcome.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from tests.e2e.observability.obs_harness import Deployment, deployment, private_database, wait_for

pytestmark = pytest.mark.e2e

PROJECTORS = ("projector-1", "projector-2", "projector-3")
SHARDS = 64
WRITERS = 4
CHATS_PER_WRITER = 3
MESSAGES_PER_CHAT = 8
# One connection per writer (no shared subchannel), so the writers spread over the SO_REUSEPORT workers.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


@dataclass
class Written:
    """What the writers got back from the command service."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    chats: dict[str, tuple[tuple[tuple[str, str], ...], str]] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)
    progress: threading.Event = field(default_factory=threading.Event)
    half: int = WRITERS * CHATS_PER_WRITER * MESSAGES_PER_CHAT // 2


@pytest.fixture(name="scaled")
def fixture_scaled(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Deployment, str]]:
    """Two command workers, two query workers, three projectors, one private database."""
    logs = tmp_path_factory.mktemp("scaling-logs")
    with private_database(postgres_server_url) as url, deployment(url, redis_url, logs) as deployed:
        deployed.add("command", workers=2, metrics=False)
        deployed.add("query", workers=2, metrics=False)
        deployed.start_many(["command", "query", *PROJECTORS])
        yield deployed, url.replace("postgresql+psycopg://", "postgresql://", 1)


def _owned(deployed: Deployment, names: tuple[str, ...]) -> dict[str, int] | None:
    owned = {name: int(deployed.metric(name, "ameide_projector_shards_owned") or 0) for name in names}
    return owned if sum(owned.values()) == SHARDS and all(owned.values()) else None


def _write(deployed: Deployment, written: Written, writer: int) -> None:
    caller = deployed.metadata(f"user-{writer}", f"tenant-{uuid.uuid4()}")
    with grpc.insecure_channel(deployed.command_target, options=OWN_CONNECTION) as channel:
        stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        chat_ids = [
            stub.CreateChat(threads_service_pb2.CreateChatRequest(title=f"w{writer}c{c}"), metadata=caller).threads.id
            for c in range(CHATS_PER_WRITER)
        ]
        for index in range(MESSAGES_PER_CHAT * CHATS_PER_WRITER):
            chat_id = chat_ids[index % CHATS_PER_WRITER]
            text = threads_types_pb2.TextPart(text=f"writer {writer} message {index}")
            message = threads_types_pb2.ChatMessageInput(role="user", parts=[threads_types_pb2.MessagePart(text=text)])
            sent = stub.SendMessage(
                threads_service_pb2.SendMessageRequest(threads_id=chat_id, message=message), metadata=caller
            )
            with written.lock:
                written.messages.add(sent.message.id)
                written.chats[chat_id] = (caller, sent.consistency_token)
                if len(written.messages) >= written.half:
                    written.progress.set()


def _scalar(conn: psycopg.Connection[tuple[int, ...]], query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _feed_message_ids(conn: psycopg.Connection[tuple[int, ...]]) -> list[str]:
    ids = []
    for (payload,) in conn.execute("SELECT payload FROM rm_feed WHERE feed_key LIKE 'thread:%'"):
        update = threads_service_pb2.ChatUpdate.FromString(bytes(payload))
        if update.WhichOneof("update") == "message":
            ids.append(update.message.id)
    return ids


def _assert_projected_exactly_once(database: str, written: Written) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        wait_for(lambda: _scalar(conn, "SELECT count(*) FROM es_outbox") == 0, "the outbox to drain")
        assert _scalar(conn, "SELECT count(*) FROM es_dead_letters") == 0
        # Every stream's projected version is its event count: nothing lost, nothing applied twice.
        behind = """SELECT count(*) FROM es_streams s LEFT JOIN rm_stream_versions v USING (stream_id)
                    WHERE v.version IS DISTINCT FROM s.version"""
        assert _scalar(conn, behind) == 0
        sent_events = _scalar(conn, "SELECT count(*) FROM es_events WHERE event_type LIKE '%.MessageSentEvent'")
        assert sent_events == len(written.messages)
        assert _scalar(conn, "SELECT count(*) FROM rm_messages") == len(written.messages)
        assert _scalar(conn, "SELECT count(DISTINCT id) FROM rm_messages") == len(written.messages)
        assert _scalar(conn, "SELECT coalesce(sum(message_count), 0) FROM rm_chats") == len(written.messages)
        # Feeds: gapless 1..head per feed, no sequence twice, and every sent message in its feed exactly once.
        holes = """SELECT count(*) FROM (SELECT f.feed_key FROM rm_feed f JOIN rm_feed_heads h USING (feed_key)
                   GROUP BY f.feed_key, h.seq
                   HAVING count(*) <> h.seq OR count(DISTINCT f.seq) <> h.seq OR max(f.seq) <> h.seq) AS bad"""
        assert _scalar(conn, holes) == 0
        feed_ids = _feed_message_ids(conn)
        assert len(feed_ids) == len(set(feed_ids))
        assert set(feed_ids) == written.messages


def test_two_plus_two_workers_and_three_projectors_project_each_event_once(scaled: tuple[Deployment, str]) -> None:
    """Balanced shards, writes over both command workers, a projector SIGKILLed mid-load: exactly once."""
    deployed, database = scaled
    before = wait_for(lambda: _owned(deployed, PROJECTORS), "the three projectors to share every shard")
    written = Written()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        writers = [pool.submit(_write, deployed, written, index) for index in range(WRITERS)]
        assert written.progress.wait(timeout=300), [w.exception() for w in writers if w.done()]
        deployed.kill("projector-2")
        for future in writers:
            future.result()
    survivors = ("projector-1", "projector-3")
    after = wait_for(lambda: _owned(deployed, survivors), "the survivors to own the killed projector's shards")
    assert before["projector-2"] > 0
    assert sum(after.values()) == SHARDS
    assert all(after[name] >= before[name] for name in survivors)
    assert len(written.messages) == WRITERS * CHATS_PER_WRITER * MESSAGES_PER_CHAT

    _assert_projected_exactly_once(database, written)
    # The query workers serve every chat at the version of its last write.
    with grpc.insecure_channel(deployed.query_target, options=OWN_CONNECTION) as channel:
        stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
        for chat_id, (caller, token) in written.chats.items():
            request = threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=token)
            assert stub.GetChat(request, metadata=caller).threads.message_count == MESSAGES_PER_CHAT
