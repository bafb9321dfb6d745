"""One StreamChatUpdates / StreamArtifactUpdates call: authorise, replay after the token, then follow live."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter

from ameide_core_proto.threads.v1 import threads_types_pb2
from ameide_pg.pool import ConnectionPool
from ameide_query.live.drafts import DraftStore
from ameide_query.live.snapshots import Snapshots
from ameide_query.streams import reads
from ameide_query.streams.checks import CheckResult, SharedChecks
from ameide_query.streams.hub import FeedHub
from ameide_query.streams.kinds import FeedKind, Update
from ameide_query.streams.live_view import LiveView
from ameide_query.streams.rendering import Renderer
from ameide_query.streams.screening import UpdateScreen
from ameide_query.streams.signal_follower import NoSignals, SignalFollower
from ameide_query.streams.source import EntrySource
from ameide_query.streams.subscription import Subscription
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime import resume
from ameide_runtime.errors import ResourceExhausted
from ameide_runtime.identity import Identity
from ameide_runtime.tokens import TokenCodec

Kind = threads_types_pb2.StreamControl.Kind

CUT_SLOW = Counter("ameide_live_slow_subscribers_total", "Live streams ended because the subscriber fell behind")
COALESCED = Counter("ameide_live_coalesced_total", "Full-state updates skipped because a newer one was queued")
# Each quiet period lasts a random 75-100 % of the heartbeat interval. Streams opened together, or all woken by one
# message to a busy chat, would otherwise heartbeat (and re-check access with a query) in the same instant: 300
# such streams stalled other clients' reads for a quarter of a second every interval. Never longer than the
# interval, so clients can still treat a silent interval as a dead connection.
HEARTBEAT_JITTER = 0.25


@dataclass(frozen=True, slots=True)
class StreamDeps:
    """What every session shares (owned by ``LiveUpdates``)."""

    db: ConnectionPool
    hub: FeedHub
    source: EntrySource
    codec: TokenCodec
    renderer: Renderer
    ttl_seconds: int
    heartbeat_seconds: float
    queue_size: int
    fetch_batch: int
    heartbeat_checks: SharedChecks
    snapshots: Snapshots
    drafts: DraftStore
    screen: UpdateScreen


class _Ended(Exception):  # noqa: N818 - control flow, never leaves the session
    """The resource is gone for everyone (deleted): end the stream normally."""


class Session:
    """The state of one live stream: the caller, the feed and the next sequence the client needs."""

    def __init__(
        self, deps: StreamDeps, kind: FeedKind, caller: Identity, resource_id: uuid.UUID, *, signals: bool = False
    ) -> None:
        self._deps = deps
        self._with_signals = signals
        self._signals = NoSignals()
        self._kind = kind
        self._caller = caller
        self._id = resource_id
        self._feed = kind.feed_of(str(resource_id))
        self._expected = 1
        self._heartbeat_due = 0.0
        self._sent()

    async def run(self, resume_token: str) -> AsyncIterator[Update]:
        """The stream's updates (raises the documented errors)."""
        async with self._deps.db.connection() as conn:
            if await self._kind.readable(conn, self._caller, self._id) is None:
                raise self._kind.not_found(self._id)
            head = await reads.head(conn, self._feed)
        if resume_token:
            point = resume.parse(
                self._deps.codec,
                resume_token,
                tenant_id=self._caller.tenant_id,
                feed=self._feed,
                ttl_seconds=self._deps.ttl_seconds,
            )
            start, token, valid_until = point.seq, resume_token, point.valid_until(self._deps.ttl_seconds)
        else:
            start, token, valid_until = head, self._token(head), time.time() + self._deps.ttl_seconds
        self._expected = start + 1
        sub = Subscription(self._feed, maxsize=self._deps.queue_size, signals=self._with_signals)
        self._deps.hub.add(sub, head)
        if self._with_signals:
            self._signals = self._follower(sub)
        try:
            yield self._control(Kind.KIND_SUBSCRIBED, token, valid_until)
            # Replay what existed when the call started; later entries are live.
            while self._expected <= head:
                if sub.closed is not None:
                    raise sub.closed
                async for update in self._screened(await self._fetch(head)):
                    yield update
                    await self._after(update)
            sub.go_live(self._expected)
            yield self._control(Kind.KIND_CAUGHT_UP, self._token(self._expected - 1))
            for signal in await self._signals.begin():
                yield signal
            async for update in self._follow(sub):
                yield update
        except _Ended:
            return
        finally:
            self._deps.hub.remove(sub)

    async def _follow(self, sub: Subscription) -> AsyncIterator[Update]:
        while True:
            if sub.closed is not None:
                raise sub.closed
            if sub.overflowed:
                CUT_SLOW.inc()
                yield self._control(Kind.KIND_FELL_BEHIND, self._token(self._expected - 1))
                raise ResourceExhausted(
                    "subscriber fell too far behind; resume with the last checkpoint_token", reason="FELL_BEHIND"
                )
            # Durable updates first; live signals when none is waiting.
            progressed = self._expected
            sent = False
            async for update in self._durable(sub):
                sent = True
                yield update
            if not sent and self._expected == progressed:
                for signal in await self._signals.drain(self._expected - 1):
                    sent = True
                    yield signal
            # Entries withheld from this caller (screening) are progress too: look for the next at once.
            if sent or self._expected != progressed:
                continue
            idle = self._heartbeat_due - time.monotonic()
            if idle <= 0 or not await sub.wait(idle):
                await self._check_access(sub)
                yield self._control(Kind.KIND_HEARTBEAT, self._token(self._expected - 1))
                for signal in await self._signals.heartbeat(self._expected - 1):
                    yield signal

    async def _durable(self, sub: Subscription) -> AsyncIterator[Update]:
        """The next durable updates, each followed by the signals that waited for it."""
        async for update in self._screened(await self._next_entries(sub)):
            yield update
            await self._after(update)
            for signal in self._signals.after_durable(update, self._expected - 1):
                yield signal

    async def _next_entries(self, sub: Subscription) -> list[FeedEntry]:
        """The entries to send next: the queued one that follows, else what is known to exist but not queued."""
        entry = sub.pop()
        while entry is not None and entry.seq < self._expected:
            entry = sub.pop()
        if entry is not None and entry.seq == self._expected:
            return [self._coalesce(sub, entry)]
        if entry is not None or sub.known_head >= self._expected:
            # A gap (an entry that never reached the queue) or entries only known by their sequence.
            return await self._fetch(max(sub.known_head, entry.seq if entry else 0))
        return []

    def _follower(self, sub: Subscription) -> SignalFollower:
        view = LiveView(
            feed_key=self._feed,
            tenant_id=self._caller.tenant_id,
            is_chat=self._kind.id_field == "threads_id",
            snapshots=self._deps.snapshots,
            drafts=self._deps.drafts,
        )
        return SignalFollower(view, self._deps.hub, sub, self._deps.snapshots)

    def _coalesce(self, sub: Subscription, entry: FeedEntry) -> FeedEntry:
        """Under load, skip a full-state update that the next queued one replaces (its checkpoint covers both)."""
        if not self._kind.coalescible:
            return entry
        while (queued := sub.peek()) is not None and queued.seq == entry.seq + 1:
            case = self._case(entry)
            if case not in self._kind.coalescible or self._case(queued) != case:
                break
            entry = sub.pop() or queued
            COALESCED.inc()
        return entry

    def _case(self, entry: FeedEntry) -> str | None:
        return self._deps.renderer.render(self._kind, entry, self._caller.tenant_id).WhichOneof("update")

    async def _fetch(self, upto: int) -> list[FeedEntry]:
        return await self._deps.source.fetch(
            self._feed, after=self._expected - 1, upto=upto, limit=self._deps.fetch_batch
        )

    async def _after(self, update: Update) -> None:
        """End the stream after an update that removes the resource or the caller's access."""
        case = update.WhichOneof("update")
        if case in self._kind.terminal:
            raise _Ended
        if case in self._kind.recheck:
            await self._check_access(None)

    async def _check_access(self, sub: Subscription | None) -> None:
        """Fresh after an update that may change access; on a heartbeat (``sub``), shared with same-key streams."""
        if sub is None:
            found = await self._read_access(with_head=False)
        else:
            key = (self._kind.id_field, self._id, self._caller.tenant_id, self._caller.user_id)
            found = await self._deps.heartbeat_checks.check(key, lambda: self._read_access(with_head=True))
        if not found.readable:
            raise self._kind.not_found(self._id)
        if sub is not None:
            # A safety net: an entry whose notification was lost is still found within one heartbeat.
            sub.note_head(found.head)

    async def _read_access(self, *, with_head: bool) -> CheckResult:
        async with self._deps.db.connection() as conn:
            readable = await self._kind.readable(conn, self._caller, self._id)
            head = await reads.head(conn, self._feed) if with_head else 0
        return CheckResult(readable=readable is not None, head=head)

    async def _screened(self, entries: list[FeedEntry]) -> AsyncIterator[Update]:
        """The updates of ``entries`` the caller may receive (``screening``), each at its own position.

        The stream's position then moves past the withheld ones too: the next checkpoint covers them.
        """
        if not entries:
            return
        rendered = [self._deps.renderer.render(self._kind, entry, self._caller.tenant_id) for entry in entries]
        screened = await self._deps.screen.screen(entries, rendered, self._caller)
        for entry, update in zip(entries, screened, strict=True):
            if update is not None:
                self._expected = entry.seq + 1
                self._sent()
                yield update
        self._expected = entries[-1].seq + 1

    def _control(self, kind: threads_types_pb2.StreamControl.Kind.ValueType, token: str, valid: float = 0) -> Update:
        update = self._kind.message_type()
        update.control.kind = kind
        if valid:
            update.control.resume_valid_until.FromDatetime(datetime.fromtimestamp(valid, UTC))
        update.checkpoint_token = token
        update.timestamp.FromDatetime(datetime.now(UTC))
        self._sent()
        return update

    def _sent(self) -> None:
        """Something went out: the next heartbeat is due after a jittered quiet period."""
        quiet = self._deps.heartbeat_seconds * (1 - HEARTBEAT_JITTER * random.random())  # noqa: S311 - not crypto
        self._heartbeat_due = time.monotonic() + quiet

    def _token(self, seq: int) -> str:
        return self._deps.renderer.token(tenant_id=self._caller.tenant_id, feed=self._feed, seq=seq)
