"""The event-store contract: appends, reads, snapshots, upcasting and idempotency records."""

# ruff: noqa: S101, PLR2004  # a pytest suite: asserts state expectations, literals are the expected values

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ameide_eventstore.errors import (
    ConcurrencyError,
    DuplicateEventError,
    IdempotencyKeyReusedError,
    TenantMismatchError,
)
from ameide_eventstore.events import (
    ExpectedVersion,
    IdempotencyKey,
    IdempotentWrite,
    NewEvent,
    StreamAppend,
)
from ameide_eventstore.ports import EventStore
from ameide_eventstore.upcasting import Upcasters

TENANT = "tenant-contract"
OLD_SHAPE = "contract.Renamed"


def _upcast_v1(payload: bytes) -> tuple[bytes, int]:
    return b"v2:" + payload, 2


def _upcast_v2(payload: bytes) -> tuple[bytes, int]:
    return payload.replace(b"v2:", b"v3:", 1), 3


# v1 -> v2 -> v3 of a contract-only event type: shows chains, and leaves every other type alone.
CONTRACT_UPCASTERS = Upcasters({(OLD_SHAPE, 1): _upcast_v1, (OLD_SHAPE, 2): _upcast_v2})


def event(event_type: str = "contract.Happened", payload: bytes = b"\x00\x01payload", **metadata: str) -> NewEvent:
    """A new event with a random id."""
    return NewEvent(uuid.uuid4(), event_type, payload, metadata=metadata or {"user_id": "u1", "tenant_id": TENANT})


def stream(
    stream_id: uuid.UUID,
    expected: int,
    count: int = 1,
    *,
    snapshot: bytes | None = None,
    tenant: str = TENANT,
    commutative: bool = False,
) -> StreamAppend:
    """An append of ``count`` events to one chat stream."""
    events = [event() for _ in range(count)]
    return StreamAppend(stream_id, "chat", tenant, expected, events, snapshot, commutative=commutative)


def idem(key: str, request_hash: bytes = b"h1", response: bytes = b"r1", ttl_s: float = 3600) -> IdempotentWrite:
    """An idempotency record for user u1."""
    return IdempotentWrite(IdempotencyKey(TENANT, "u1", key), request_hash, response, dt.timedelta(seconds=ttl_s))


class _AppendContract:
    """Appends, reads, snapshots and upcasting (fixture: ``store``)."""

    async def test_new_stream_then_exact_version(self, store: EventStore) -> None:
        """Versions count events; an exact expected version appends after the head."""
        sid = uuid.uuid4()
        first = await store.append([stream(sid, ExpectedVersion.NO_STREAM, 2)])
        second = await store.append([stream(sid, 2)])
        assert {sid: 2} == dict(first.versions)
        assert {sid: 3} == dict(second.versions)
        assert second.last_position > first.last_position
        assert [e.version for e in await store.read_stream(sid)] == [1, 2, 3]

    async def test_wrong_expected_version_reports_expected_and_actual(self, store: EventStore) -> None:
        """A stale writer gets ConcurrencyError(expected, actual) and writes nothing."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 3)])
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 1)])
        assert (sid, 1, 3) == (caught.value.stream_id, caught.value.expected, caught.value.actual)
        assert len(await store.read_stream(sid)) == 3

    async def test_new_stream_that_exists_conflicts(self, store: EventStore) -> None:
        """Expected version 0 on an existing stream is a conflict."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 2)])
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 0)])
        assert (caught.value.expected, caught.value.actual) == (0, 2)

    async def test_exact_version_on_missing_stream_conflicts(self, store: EventStore) -> None:
        """An exact version on a stream that does not exist reports actual 0."""
        sid = uuid.uuid4()
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 4)])
        assert caught.value.actual == 0
        assert await store.load_states([sid]) == {}

    async def test_any_creates_and_appends(self, store: EventStore) -> None:
        """ExpectedVersion.ANY creates a missing stream and appends to an existing one."""
        sid = uuid.uuid4()
        await store.append([stream(sid, ExpectedVersion.ANY, 2)])
        result = await store.append([stream(sid, ExpectedVersion.ANY)])
        assert {sid: 3} == dict(result.versions)

    async def test_stream_exists(self, store: EventStore) -> None:
        """ExpectedVersion.STREAM_EXISTS appends to an existing stream and rejects a missing one."""
        sid = uuid.uuid4()
        with pytest.raises(ConcurrencyError):
            await store.append([stream(sid, ExpectedVersion.STREAM_EXISTS)])
        await store.append([stream(sid, 0)])
        assert {sid: 2} == dict((await store.append([stream(sid, ExpectedVersion.STREAM_EXISTS)])).versions)

    async def test_multi_stream_append_is_atomic(self, store: EventStore) -> None:
        """When one stream conflicts, no stream of the append changes."""
        a, b = uuid.uuid4(), uuid.uuid4()
        await store.append([stream(b, 0)])
        with pytest.raises(ConcurrencyError):
            await store.append([stream(a, 0, snapshot=b"a"), stream(b, 5)])
        assert await store.load_states([a]) == {}
        assert await store.read_stream(a) == []
        result = await store.append([stream(a, 0), stream(b, 1, 2)])
        assert {a: 1, b: 3} == dict(result.versions)

    async def test_duplicate_event_id_is_reported(self, store: EventStore) -> None:
        """Re-appending a stored event id raises DuplicateEventError and writes nothing."""
        sid, other = uuid.uuid4(), uuid.uuid4()
        stored = event()
        await store.append([StreamAppend(sid, "chat", TENANT, 0, [stored])])
        with pytest.raises(DuplicateEventError) as caught:
            await store.append([stream(other, 0), StreamAppend(sid, "chat", TENANT, 1, [stored])])
        assert stored.event_id == caught.value.event_id
        assert await store.load_states([other]) == {}
        assert (await store.load_states([sid]))[sid].version == 1

    async def test_tenant_mismatch(self, store: EventStore) -> None:
        """A stream never changes tenant."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0)])
        for expected in (1, ExpectedVersion.ANY, ExpectedVersion.STREAM_EXISTS):
            with pytest.raises(TenantMismatchError):
                await store.append([stream(sid, expected, tenant="other-tenant")])

    async def test_snapshot_is_the_stream_state(self, store: EventStore) -> None:
        """load_states returns version and snapshot; a None snapshot keeps the previous one."""
        sid, missing = uuid.uuid4(), uuid.uuid4()
        await store.append([stream(sid, 0, 3, snapshot=b"state-3")])
        await store.append([stream(sid, 3)])
        states = await store.load_states([sid, missing])
        assert [sid] == list(states)
        state = states[sid]
        assert (state.stream_type, state.tenant_id, state.version, state.snapshot) == ("chat", TENANT, 4, b"state-3")
        await store.append([stream(sid, 4, snapshot=b"state-5")])
        assert (await store.load_states([sid]))[sid].snapshot == b"state-5"

    async def test_events_round_trip(self, store: EventStore) -> None:
        """Payload bytes, metadata, ids and types come back as appended."""
        sid = uuid.uuid4()
        sent = NewEvent(uuid.uuid4(), "contract.Rich", bytes(range(256)), 4, {"traceparent": "00-x", "user_id": "é"})
        await store.append([StreamAppend(sid, "artifact", TENANT, 0, [sent])])
        [got] = await store.read_stream(sid)
        assert (sent.event_id, sent.event_type, sent.payload, 4) == (
            got.event_id,
            got.event_type,
            got.payload,
            got.schema_version,
        )
        assert dict(sent.metadata) == dict(got.metadata)
        assert (got.stream_type, got.tenant_id, got.version) == ("artifact", TENANT, 1)

    async def test_read_stream_from_version_and_limit(self, store: EventStore) -> None:
        """read_stream honours from_version and limit."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 5)])
        assert [e.version for e in await store.read_stream(sid, from_version=3, limit=2)] == [3, 4]

    async def test_read_all_in_position_order(self, store: EventStore) -> None:
        """read_all returns events after a position in global order across streams."""
        a, b = uuid.uuid4(), uuid.uuid4()
        first = await store.append([stream(a, 0, 2)])
        second = await store.append([stream(b, 0), stream(a, 2)])
        events = await store.read_all(after_position=first.last_position - 2, limit=100)
        ours = [e for e in events if e.stream_id in {a, b}]
        positions = [e.global_position for e in ours]
        assert positions == sorted(positions)
        assert len(ours) == 4
        assert second.last_position == positions[-1]

    async def test_upcasters_apply_on_read(self, store: EventStore) -> None:
        """An old schema_version payload reads as the newest shape (chained upcasters)."""
        sid = uuid.uuid4()
        old = NewEvent(uuid.uuid4(), OLD_SHAPE, b"name", schema_version=1)
        await store.append([StreamAppend(sid, "chat", TENANT, 0, [old, event()])])
        [renamed, other] = await store.read_stream(sid)
        assert (renamed.payload, renamed.schema_version) == (b"v3:name", 3)
        assert other.schema_version == 1
        [from_all] = await store.read_all(after_position=renamed.global_position - 1, limit=1)
        assert from_all.payload == b"v3:name"


class CommutativeContract:
    """Commutative appends (``StreamAppend.commutative``), fixture ``store``."""

    async def test_commutative_appends_decided_at_one_version_all_land(self, store: EventStore) -> None:
        """Two commutative appends decided at version 1 both land.

        After a decision-changing append at version 4, a commutative one decided at 4 conflicts; at 5 it lands.
        """
        sid = uuid.uuid4()
        await store.append([stream(sid, 0)])
        first = await store.append([stream(sid, 1, commutative=True)])
        second = await store.append([stream(sid, 1, 2, commutative=True)])
        assert ({sid: 2}, {sid: 4}) == (dict(first.versions), dict(second.versions))
        await store.append([stream(sid, 4)])
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 4, commutative=True)])
        assert (sid, 4, 5) == (caught.value.stream_id, caught.value.expected, caught.value.actual)
        assert {sid: 6} == dict((await store.append([stream(sid, 5, commutative=True)])).versions)
        assert list(range(1, 7)) == [e.version for e in await store.read_stream(sid)]

    async def test_other_appends_still_name_the_current_version(self, store: EventStore) -> None:
        """After commutative appends, an exact (not commutative) append at an older version conflicts."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, snapshot=b"s1")])
        await store.append([stream(sid, 1, commutative=True)])
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 1)])
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert {sid: 3} == dict((await store.append([stream(sid, 2)])).versions)

    async def test_a_commutative_append_needs_an_existing_stream(self, store: EventStore) -> None:
        """A commutative append to a stream that does not exist conflicts (actual 0) and creates nothing."""
        sid = uuid.uuid4()
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([stream(sid, 1, commutative=True)])
        assert caught.value.actual == 0
        assert await store.load_states([sid]) == {}


class IdempotencyContract:
    """Idempotency records (fixture: ``store``)."""

    async def test_same_request_replays_stored_response(self, store: EventStore) -> None:
        """Same key and request: the first response, byte for byte, and no second effect."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        first = await store.append([stream(sid, 0)], idempotency=idem(key, response=b"\x00first"))
        again = await store.append([stream(sid, 1)], idempotency=idem(key, response=b"second"))
        assert (first.replayed, again.replayed) == (False, True)
        assert b"\x00first" == again.response == first.response
        assert first.expires_at == again.expires_at
        assert (await store.load_states([sid]))[sid].version == 1
        stored = await store.get_idempotent_response(IdempotencyKey(TENANT, "u1", key))
        assert stored is not None
        assert (stored.request_hash, stored.response) == (b"h1", b"\x00first")

    async def test_same_key_different_request(self, store: EventStore) -> None:
        """Same key, different request hash: IdempotencyKeyReusedError, nothing appended."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        await store.append([stream(sid, 0)], idempotency=idem(key))
        with pytest.raises(IdempotencyKeyReusedError):
            await store.append([stream(sid, 1)], idempotency=idem(key, request_hash=b"other"))
        assert (await store.load_states([sid]))[sid].version == 1

    async def test_keys_are_scoped_by_user(self, store: EventStore) -> None:
        """The same key of another user is another record."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        await store.append([stream(sid, 0)], idempotency=idem(key))
        other = IdempotentWrite(IdempotencyKey(TENANT, "u2", key), b"h1", b"r2")
        assert not (await store.append([stream(sid, 1)], idempotency=other)).replayed

    async def test_failed_append_keeps_no_record(self, store: EventStore) -> None:
        """A conflicting append stores no idempotency record; a retry can succeed."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        with pytest.raises(ConcurrencyError):
            await store.append([stream(sid, 3)], idempotency=idem(key))
        assert await store.get_idempotent_response(IdempotencyKey(TENANT, "u1", key)) is None
        assert not (await store.append([stream(sid, 0)], idempotency=idem(key))).replayed

    async def test_expired_record_is_replaced_and_collected(self, store: EventStore) -> None:
        """An expired record no longer replays, is replaced by a new call, and the janitor deletes it."""
        sid, key, gone = uuid.uuid4(), uuid.uuid4().hex, uuid.uuid4().hex
        await store.append([stream(sid, 0)], idempotency=idem(key, ttl_s=-1))
        assert await store.get_idempotent_response(IdempotencyKey(TENANT, "u1", key)) is None
        result = await store.append([stream(sid, 1)], idempotency=idem(key, request_hash=b"new", response=b"n"))
        assert (result.replayed, result.response) == (False, b"n")
        await store.append([stream(sid, 2)], idempotency=idem(gone, ttl_s=-1))
        assert await store.delete_expired_idempotency_records() >= 1
        assert await store.get_idempotent_response(IdempotencyKey(TENANT, "u1", key)) is not None
        assert (await store.load_states([sid]))[sid].version == 3


class EventStoreContract(_AppendContract, CommutativeContract, IdempotencyContract):
    """Behaviour every ``EventStore`` implementation shares (fixture: ``store``)."""
