"""The auditor can fail: planted defects in a scratch database are each reported (a clean verdict means something)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_core_proto.threads.v1 import threads_events_pb2 as events
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_migrations import upgrade
from tests.reliability.rel_client import Caller
from tests.reliability.rel_load import Ledger, Op, send_op
from tests.reliability.rel_logcheck import ASSOCIATED, CHAT_CREATED, KeyEffects, _complete, check_ledger, check_log
from tests.reliability.rel_modelcheck import check_feed, compare_with_rebuild
from tests.reliability.rel_servers import PgCluster
from tests.support.servers import fresh_database

pytestmark = pytest.mark.reliability

WHO = Caller("auditor-user", "auditor-tenant", ())
_EVENT = sa.text(
    "INSERT INTO es_events (tenant_id, stream_id, stream_type, version, event_id, event_type, schema_version, "
    "payload, metadata) VALUES (:tenant, :stream, 'chat', :version, :event_id, :type, 1, :payload, "
    "CAST(:metadata AS jsonb))"
)
_STREAM = sa.text(
    "INSERT INTO es_streams (stream_id, tenant_id, stream_type, version) VALUES (:stream, :tenant, 'chat', :version)"
)


@pytest.fixture(scope="module", name="scratch")
async def fixture_scratch(pg: PgCluster) -> AsyncIterator[AsyncEngine]:
    """A migrated database of its own (the planted defects must not reach the scenarios' database)."""
    if not pg.running():
        pg.start()
    with fresh_database(pg.url, f"ameide_audit_{uuid.uuid4().hex[:10]}") as url:
        upgrade(url)
        engine = create_async_engine(url, pool_size=2, max_overflow=0)
        yield engine
        await engine.dispose()


async def _append(engine: AsyncEngine, stream: uuid.UUID, version: int, message: Message, key: str) -> None:
    metadata = f'{{"tenant_id": "{WHO.tenant_id}", "user_id": "{WHO.user_id}", "idempotency_key": "{key}"}}'
    async with engine.begin() as conn:
        await conn.execute(
            _EVENT,
            {
                "tenant": WHO.tenant_id,
                "stream": stream,
                "version": version,
                "event_id": uuid.uuid4(),
                "type": message.DESCRIPTOR.full_name,
                "payload": message.SerializeToString(),
                "metadata": metadata,
            },
        )


async def test_lost_duplicated_and_mismatched_writes_are_reported(scratch: AsyncEngine) -> None:
    """An acknowledged write missing from the log, one logged twice, one logged with another id: all reported."""
    stream = uuid.uuid4()
    lost, twice, other = (send_op(WHO, str(stream), text) for text in ("lost", "twice", "other"))
    for op, ids in ((lost, []), (twice, ["m-1", "m-2"]), (other, ["m-3"])):
        op.ack = chat.SendMessageResponse(message=types.ChatMessage(id=f"ack-{op.key}", threads_id=str(stream)))
        for version, message_id in enumerate(ids, start=1):
            sent = events.MessageSentEvent(message_id=message_id, threads_id=str(stream))
            await _append(scratch, uuid.uuid4(), version, sent, op.key)
    async with scratch.connect() as conn:
        found = await check_ledger(conn, Ledger([lost, twice, other]))
    assert [lost.key in item for item in found.lost] == [True]
    assert [twice.key in item for item in found.duplicated] == [True]
    assert any(other.key in item for item in found.mismatched), found.mismatched


async def test_a_broken_log_and_a_drifted_read_model_are_reported(scratch: AsyncEngine) -> None:
    """A version gap, a stream not starting with its creation, a stray read-model row, a gappy feed: reported."""
    stream = uuid.uuid4()
    async with scratch.begin() as conn:
        await conn.execute(_STREAM, {"stream": stream, "tenant": WHO.tenant_id, "version": 3})
    await _append(scratch, stream, 1, events.MessageSentEvent(message_id="x", threads_id=str(stream)), "k1")
    await _append(scratch, stream, 3, events.MessageSentEvent(message_id="y", threads_id=str(stream)), "k2")
    now = dt.datetime.now(dt.UTC)
    async with scratch.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO rm_stream_versions (stream_id, tenant_id, version) VALUES (:id, 't', 1)"),
            {"id": uuid.uuid4()},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO rm_feed (feed_key, seq, tenant_id, payload, occurred_at) "
                "VALUES ('thread:x', 2, 't', '', :t)"
            ),
            {"t": now},
        )
    async with scratch.connect() as conn:
        log = await check_log(conn)
    rebuild = await compare_with_rebuild(scratch)
    feed = await check_feed(scratch)
    assert any("versions 1..3" in problem for problem in log), log
    assert any("starts with" in problem for problem in log), log
    assert any("only in the live model" in problem for problem in rebuild), rebuild
    assert any("thread:x" in problem for problem in feed), feed


def test_an_unanswered_ensure_that_half_applied_is_reported() -> None:
    """A chat created by an Ensure without its message is half-applied (checked on the key's event types)."""
    op = Op("ensure_new", WHO, "k", chat.EnsureChatForArtifactAndSendMessageRequest())
    assert not _complete(op, KeyEffects(types=[CHAT_CREATED, ASSOCIATED]))
    assert _complete(op, KeyEffects(types=[]))
