"""Appending planned streams: only what is missing, with the command side's snapshot, in few transactions.

For each stream the writer compares the plan with what is stored:

- no stream: append everything (expected version 0);
- as many events as planned (a full run): complete, nothing to do; ``--since`` runs also check the last event id;
- fewer, and the last stored event is the planned one at that position (a full run that was interrupted): append
  the planned tail;
- anything else (later writes by the new system, ``--since`` runs): read the stored event ids and append the planned
  events that are missing.

Small streams are appended together (one multi-stream transaction per batch); a stream with more events than one
chunk is appended alone, chunk after chunk, each chunk carrying the snapshot of its end. When a batch fails (a
concurrent writer), each of its streams is retried alone from freshly loaded state.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ameide_cli.legacy.artifact_links import linked_chats
from ameide_cli.legacy.plan import Planned, StreamPlan
from ameide_cli.legacy.report import Report
from ameide_command.application.loading import load_stream, read_stream
from ameide_command.application.recording import dump, evolve, new_event
from ameide_command.domain.model import ArtifactState, ChatState
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2
from ameide_eventstore import (
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    EventStoreError,
    NewEvent,
    StreamAppend,
    StreamState,
    TenantMismatchError,
)

ATTEMPTS = 3
# Called after each successful append with the number of events appended so far in this run.
AfterAppend = Callable[[int], Awaitable[None]]
# Outcome precedence: any other status is a failure reason.
_RANK = {"appended": 2, "already": 1}


@dataclass(slots=True)
class Pending:
    """Events to append to one stream, built on its current state."""

    plan: StreamPlan
    expected: int
    planned: list[Planned] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    snapshots: list[bytes | None] = field(default_factory=list)


class StreamWriter:
    """Appends stream plans to the event store (or, dry, only counts what it would append)."""

    def __init__(
        self,
        store: EventStore,
        *,
        tenant_id: str,
        report: Report,
        dry_run: bool = False,
        incremental: bool = False,
        batch_events: int = 2000,
        chunk_events: int = 1000,
        after_append: AfterAppend | None = None,
    ) -> None:
        self._store = store
        self._tenant = tenant_id
        self._report = report
        self._dry = dry_run
        self._incremental = incremental
        self._batch = batch_events
        self._chunk = chunk_events
        # Per write(): what became of each planned event (appended wins over already; failed only if neither).
        self._outcome: dict[uuid.UUID, tuple[Planned, str]] = {}
        self._after_append = after_append
        self.appended = 0

    async def write(self, plans: list[StreamPlan]) -> None:
        """Bring every planned stream up to its plan."""
        heads = await self._store.load_states([plan.stream_id for plan in plans])
        batch: list[Pending] = []
        for plan in plans:
            pending = await self._pending(plan, heads.get(plan.stream_id))
            if pending is None or not pending.events:
                continue
            if len(pending.events) > self._chunk:
                await self._write_alone(pending)
                continue
            if sum(len(p.events) for p in batch) + len(pending.events) > self._batch:
                await self._write_batch(batch)
                batch = []
            batch.append(pending)
        await self._write_batch(batch)
        self._flush()

    def _mark(self, planned: Planned, status: str) -> None:
        previous = self._outcome.get(planned.event_id)
        if previous is None or _RANK.get(status, 0) > _RANK.get(previous[1], 0):
            self._outcome[planned.event_id] = (planned, status)

    def _flush(self) -> None:
        for planned, status in self._outcome.values():
            stats = self._report.table(planned.table)
            if status == "appended":
                stats.appended += 1
            elif status == "already":
                stats.already += 1
            else:
                self._report.fail(planned.table, planned.key, status)
        self._outcome.clear()

    async def _pending(self, plan: StreamPlan, head: StreamState | None) -> Pending | None:
        """What is missing from one stream, built on its state; ``None`` when the stream cannot take the plan."""
        if head is not None and (head.stream_type != plan.stream_type or head.tenant_id != self._tenant):
            reason = f"stream {plan.stream_id} already exists as a {head.stream_type} of tenant {head.tenant_id!r}"
            for planned in plan.events:
                self._mark(planned, reason)
            return None
        missing = await self._missing(plan, head)
        pending_ids = {planned.event_id for planned in missing}
        for planned in plan.events:
            if planned.event_id not in pending_ids:
                self._mark(planned, "already")
        current = None if head is None else await load_stream(self._store, head)
        linked = await self._linked_chats(head, missing)
        return self._build(plan, 0 if head is None else head.version, current, linked, missing)

    async def _linked_chats(self, head: StreamState | None, missing: list[Planned]) -> set[str]:
        """The chats a stored artifact stream is linked to, read only when the plan has links to add to it.

        An artifact's decision state does not keep its chats (they are unbounded), so its own history tells.
        """
        adds_links = any(isinstance(p.payload, artifacts_events_pb2.ArtifactChatLinkedEvent) for p in missing)
        if head is None or not adds_links:
            return set()
        return await linked_chats(self._store, head.stream_id)

    async def _missing(self, plan: StreamPlan, head: StreamState | None) -> list[Planned]:
        if head is None:
            return list(plan.events)
        version = head.version
        if version <= plan.rows:
            last = plan.events[version - 1].event_id if version else None
            if not self._incremental and version == plan.rows:
                return []
            stored = await self._store.read_stream(plan.stream_id, from_version=version, limit=1)
            if stored and stored[0].event_id == last and (not self._incremental or version == plan.rows):
                return list(plan.events[version:])
        stored_ids = {event.event_id for event in await read_stream(self._store, plan.stream_id)}
        return [planned for planned in plan.events if planned.event_id not in stored_ids]

    def _build(
        self,
        plan: StreamPlan,
        version: int,
        current: ChatState | ArtifactState | None,
        linked: set[str],
        missing: list[Planned],
    ) -> Pending:
        pending = Pending(plan, version)
        for planned in missing:
            if _already_linked(current, linked, planned):
                # The relation exists already (recorded by the new system): keep the existing one, as linking does.
                self._mark(planned, "already")
                continue
            payload = planned.payload
            if isinstance(payload, threads_events_pb2.MessageSentEvent):
                # The message's position in its chat, exactly as the command side numbers it.
                payload.message.sequence = (current.message_count if isinstance(current, ChatState) else 0) + 1
            current = evolve(plan.stream_type, current, payload, planned.at, planned.user_id)
            if isinstance(payload, artifacts_events_pb2.ArtifactChatLinkedEvent):
                linked.add(payload.threads_id)
            pending.planned.append(planned)
            pending.events.append(
                new_event(payload, event_id=planned.event_id, metadata=planned.metadata(self._tenant))
            )
            pending.snapshots.append(dump(current) if len(pending.events) % self._chunk == 0 else None)
        if pending.snapshots and current is not None:
            pending.snapshots[-1] = dump(current)
        return pending

    def _appends(self, pending: Pending, start: int, stop: int) -> StreamAppend:
        return StreamAppend(
            stream_id=pending.plan.stream_id,
            stream_type=pending.plan.stream_type,
            tenant_id=self._tenant,
            expected_version=pending.expected + start,
            events=pending.events[start:stop],
            snapshot=pending.snapshots[stop - 1],
        )

    async def _done(self, planned: list[Planned]) -> None:
        for item in planned:
            self._mark(item, "appended")
        self.appended += len(planned)
        if self._after_append is not None:
            await self._after_append(self.appended)

    async def _write_batch(self, batch: list[Pending]) -> None:
        if not batch:
            return
        if self._dry:
            for pending in batch:
                await self._done(pending.planned)
            return
        try:
            await self._store.append([self._appends(p, 0, len(p.events)) for p in batch])
        except (ConcurrencyError, DuplicateEventError, TenantMismatchError):
            # Someone else wrote to one of these streams meanwhile: redo each stream alone from its stored state.
            for pending in batch:
                await self._retry(pending.plan)
            return
        for pending in batch:
            await self._done(pending.planned)

    async def _write_alone(self, pending: Pending) -> None:
        for start in range(0, len(pending.events), self._chunk):
            stop = min(start + self._chunk, len(pending.events))
            if not self._dry:
                try:
                    await self._store.append([self._appends(pending, start, stop)])
                except (ConcurrencyError, DuplicateEventError, TenantMismatchError):
                    await self._retry(pending.plan)
                    return
            await self._done(pending.planned[start:stop])

    async def _retry(self, plan: StreamPlan) -> None:
        error: EventStoreError | None = None
        for _ in range(ATTEMPTS):
            heads = await self._store.load_states([plan.stream_id])
            pending = await self._pending(plan, heads.get(plan.stream_id))
            if pending is None or not pending.events:
                return
            try:
                for start in range(0, len(pending.events), self._chunk):
                    stop = min(start + self._chunk, len(pending.events))
                    await self._store.append([self._appends(pending, start, stop)])
                    await self._done(pending.planned[start:stop])
            except (ConcurrencyError, DuplicateEventError, TenantMismatchError) as exc:
                error = exc
                continue
            return
        for planned in plan.events:
            self._mark(planned, f"could not append after {ATTEMPTS} attempts: {error}")


def _already_linked(current: ChatState | ArtifactState | None, linked_chats: set[str], planned: Planned) -> bool:
    payload = planned.payload
    if isinstance(payload, threads_events_pb2.ArtifactAssociatedEvent) and isinstance(current, ChatState):
        return payload.artifact_id in current.artifacts
    if isinstance(payload, artifacts_events_pb2.ArtifactChatLinkedEvent):
        return payload.threads_id in linked_chats
    return False
