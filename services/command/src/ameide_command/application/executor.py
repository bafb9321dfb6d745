"""The one write path: state, decide, one append; re-decide on version conflicts; replays from the append.

Round trips per command: the stream heads are read (``load_states``) unless this process appended the streams
last (``StateCache``); then one append transaction writes the events, snapshots and idempotency record. The
append claims the idempotency key first, so a repeated key needs no lookup beforehand: the claim finds the
stored record (after a concurrent duplicate commits) and the append answers its response, or rejects another
request under the key. Only when a repeated request can no longer be decided (today's state refuses it, or it
decides to change nothing) is the stored response looked up, so the retry still gets the original answer.
A concurrent writer makes the append fail with ``ConcurrencyError``; the command is then decided again on fresh
state a bounded number of times (``retries``), then ABORTED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic

from ameide_command.application.context import RequestContext
from ameide_command.application.errors import KeptChangingError, KeyReusedError, WriteRefusedError
from ameide_command.application.loading import Aggregates, Loader
from ameide_command.application.plan import Plan, R
from ameide_command.application.retries import RetryPolicy, StreamLocks
from ameide_command.application.state_cache import State, StateCache
from ameide_command.domain.errors import DomainError
from ameide_eventstore import (
    ConcurrencyError,
    EventStore,
    IdempotencyKey,
    IdempotencyKeyReusedError,
    IdempotentWrite,
    StreamAppend,
)

logger = logging.getLogger(__name__)

AfterCommit = Callable[[Sequence[StreamAppend]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What the caller gets: the response, and whether it is a replay of an earlier identical request."""

    response: R
    replayed: bool = False
    expires_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class _Command(Generic[R]):
    context: RequestContext
    key: IdempotencyKey | None
    decide: Callable[[Aggregates], Plan[R]]
    response_type: type[R]
    chats: Sequence[str]
    artifacts: Sequence[str]

    @property
    def stream_ids(self) -> list[str]:
        return [i for i in (*self.chats, *self.artifacts) if i]


# What makes a command fail for the client (as opposed to a bug): a repeated request is then answered as before.
_REFUSALS = (DomainError, WriteRefusedError)


class Executor:
    """Runs decisions against the event store."""

    def __init__(
        self,
        store: EventStore,
        *,
        idempotency_ttl: dt.timedelta,
        retry: RetryPolicy | None = None,
        after_commit: AfterCommit | None = None,
        cache: StateCache | None = None,
    ) -> None:
        self._store = store
        self._loader = Loader(store)
        self._ttl = idempotency_ttl
        self._retry = retry or RetryPolicy()
        self._after_commit = after_commit
        self._cache = cache or StateCache(capacity=0)
        self._locks = StreamLocks()

    async def run(
        self,
        context: RequestContext,
        decide: Callable[[Aggregates], Plan[R]],
        response_type: type[R],
        *,
        chats: Sequence[str] = (),
        artifacts: Sequence[str] = (),
    ) -> Outcome[R]:
        """Decide on the named aggregates and append the result; replay a stored response for a repeated key."""
        command = _Command(context, self._key(context), decide, response_type, chats, artifacts)
        try:
            return await self._decide_and_append(command)
        except _REFUSALS:
            # A retry of a request that succeeded is answered as it was then, whatever today's state says.
            replay = await self._stored(command) if command.key is not None else None
            if replay is None:
                raise
            return replay

    async def _decide_and_append(self, command: _Command[R]) -> Outcome[R]:
        for attempt in range(self._retry.attempts):
            try:
                if attempt == 0 and not self._locks.queued(command.stream_ids):
                    return await self._attempt(command)
                async with self._locks.hold(command.stream_ids):
                    return await self._attempt(command, use_cache=attempt == 0)
            except ConcurrencyError as conflict:
                logger.debug("version conflict on %s (attempt %d)", conflict.stream_id, attempt + 1)
                await asyncio.sleep(self._retry.delay(attempt))
        raise KeptChangingError

    async def _attempt(self, command: _Command[R], *, use_cache: bool = True) -> Outcome[R]:
        if use_cache:
            cached = self._cache.get(command.chats, command.artifacts)
            plan = _decide_on_cache(command, cached) if cached is not None else None
            if plan is not None:
                return await self._append(command, plan, cached=True)
        loaded = await self._loader.load(command.chats, command.artifacts)
        plan = command.decide(loaded)
        if not plan.appends:
            # Nothing to append (so no claim to find an earlier answer): a repeated key replays its record.
            stored = await self._stored(command) if command.key is not None else None
            return stored or Outcome(plan.response)
        return await self._append(command, plan, cached=False)

    def _key(self, context: RequestContext) -> IdempotencyKey | None:
        if context.idempotency is None:
            return None
        return IdempotencyKey(context.actor.tenant_id, context.actor.user_id, context.idempotency.key)

    async def _stored(self, command: _Command[R]) -> Outcome[R] | None:
        assert command.key is not None  # noqa: S101 - only called with a key
        stored = await self._store.get_idempotent_response(command.key)
        if stored is None:
            return None
        idempotency = command.context.idempotency
        if idempotency is None or stored.request_hash != idempotency.request_hash:
            raise KeyReusedError
        return Outcome(command.response_type.FromString(stored.response), replayed=True, expires_at=stored.expires_at)

    async def _append(self, command: _Command[R], plan: Plan[R], *, cached: bool) -> Outcome[R]:
        write = None
        idempotency = command.context.idempotency
        if command.key is not None and idempotency is not None:
            response = plan.response.SerializeToString(deterministic=True)
            write = IdempotentWrite(command.key, idempotency.request_hash, response, self._ttl)
        try:
            result = await self._store.append(plan.appends, idempotency=write)
        except ConcurrencyError:
            (self._cache.contend if cached else self._cache.evict)(command.stream_ids)
            raise
        except IdempotencyKeyReusedError as exc:
            raise KeyReusedError from exc
        except BaseException:
            self._cache.evict(command.stream_ids)  # the append may or may not have committed
            raise
        if result.replayed:
            # A concurrent duplicate committed first: answer exactly what it answered.
            self._cache.evict(command.stream_ids)
            return Outcome(
                command.response_type.FromString(result.response), replayed=True, expires_at=result.expires_at
            )
        self._cache.put(_as_appended(plan.states, result.versions))
        if self._after_commit is not None:
            await self._after_commit(plan.appends)
        return Outcome(plan.response, expires_at=result.expires_at)


def _as_appended(states: Mapping[str, State], versions: Mapping[uuid.UUID, int]) -> Mapping[str, State]:
    """The decided states at the versions the store gave them: a commutative append may land after others."""
    if all(versions.get(uuid.UUID(stream_id), state.version) == state.version for stream_id, state in states.items()):
        return states
    return {
        stream_id: dataclasses.replace(state, version=versions.get(uuid.UUID(stream_id), state.version))
        for stream_id, state in states.items()
    }


def _decide_on_cache(command: _Command[R], cached: Aggregates) -> Plan[R] | None:
    """A plan decided on cached state, or ``None`` when it must be decided on fresh state instead.

    Fresh state is needed when the decision failed (the cached state may be stale) or when it reads a cached
    stream without appending to it (no expected version would prove that stream current).
    """
    try:
        plan = command.decide(cached)
    except _REFUSALS:
        return None
    if not plan.appends or not set(command.stream_ids) <= set(plan.states):
        return None
    return plan
