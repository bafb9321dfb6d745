"""The one write path: idempotency fast path, load, decide, append; re-decide on version conflicts.

Round trips per command: one indexed read of the idempotency record (only with a key), one read of the stream
heads, one append transaction. A concurrent writer makes the append fail with ``ConcurrencyError``; the command
is then decided again on fresh state a bounded number of times, then ABORTED.

Retries queue per stream inside the process (``StreamLocks``): after a conflict, the commands contending for a
hot stream (twenty first messages about one artifact, a busy TEAM chat) take turns instead of colliding again
round after round. The first attempt takes no lock, so uncontended commands pay nothing; writers in other
processes are still handled by the version check and the bounded, jittered retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from google.protobuf.message import Message

from ameide_command.application.context import RequestContext
from ameide_command.application.loading import Aggregates, Loader
from ameide_eventstore import (
    ConcurrencyError,
    EventStore,
    IdempotencyKey,
    IdempotencyKeyReusedError,
    IdempotentWrite,
    StreamAppend,
)
from ameide_runtime.errors import Aborted, FailedPrecondition

R = TypeVar("R", bound=Message)

logger = logging.getLogger(__name__)

AfterCommit = Callable[[Sequence[StreamAppend]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Plan(Generic[R]):
    """What one decision produced: the appends (empty = nothing to change) and the response."""

    appends: list[StreamAppend]
    response: R


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What the caller gets: the response, and whether it is a replay of an earlier identical request."""

    response: R
    replayed: bool = False
    expires_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a conflicting command is decided again, and how long to wait in between (jittered)."""

    attempts: int = 5
    backoff_seconds: float = 0.002
    jitter: Callable[[], float] = field(default=random.random)


class StreamLocks:
    """One in-process lock per stream id, alive only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, stream_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of ``stream_ids`` (taken in sorted order, so two holders never deadlock)."""
        locks = []
        for stream_id in sorted(set(filter(None, stream_ids))):
            lock = self._locks.get(stream_id)
            if lock is None:
                lock = self._locks[stream_id] = asyncio.Lock()
            locks.append(lock)
        async with AsyncExitStack() as stack:
            for lock in locks:
                await stack.enter_async_context(lock)
            yield


def key_reused() -> FailedPrecondition:
    """The error for an idempotency key sent again with a different request."""
    return FailedPrecondition(
        "idempotency key was already used with a different request", reason="IDEMPOTENCY_KEY_REUSED"
    )


class Executor:
    """Runs decisions against the event store."""

    def __init__(
        self,
        store: EventStore,
        *,
        idempotency_ttl: dt.timedelta,
        retry: RetryPolicy | None = None,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self._store = store
        self._loader = Loader(store)
        self._ttl = idempotency_ttl
        self._retry = retry or RetryPolicy()
        self._after_commit = after_commit
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
        key = self._key(context)
        if key is not None:
            replay = await self._stored(context, key, response_type)
            if replay is not None:
                return replay

        async def once() -> Outcome[R]:
            plan = decide(await self._loader.load(chats, artifacts))
            if not plan.appends:
                return Outcome(plan.response)
            return await self._append(context, key, plan, response_type)

        for attempt in range(self._retry.attempts):
            try:
                if attempt == 0:
                    return await once()
                async with self._locks.hold([*chats, *artifacts]):
                    return await once()
            except ConcurrencyError as conflict:
                logger.debug("version conflict on %s (attempt %d)", conflict.stream_id, attempt + 1)
                await asyncio.sleep(self._retry.backoff_seconds * (attempt + 1) * self._retry.jitter())
        raise Aborted(
            "the chat or artifact kept changing concurrently; retry (with the same idempotency key)",
            reason="CONCURRENT_MODIFICATION",
        )

    def _key(self, context: RequestContext) -> IdempotencyKey | None:
        if context.idempotency is None:
            return None
        return IdempotencyKey(context.actor.tenant_id, context.actor.user_id, context.idempotency.key)

    async def _stored(self, context: RequestContext, key: IdempotencyKey, response_type: type[R]) -> Outcome[R] | None:
        stored = await self._store.get_idempotent_response(key)
        if stored is None:
            return None
        if context.idempotency is None or stored.request_hash != context.idempotency.request_hash:
            raise key_reused()
        return Outcome(response_type.FromString(stored.response), replayed=True, expires_at=stored.expires_at)

    async def _append(
        self, context: RequestContext, key: IdempotencyKey | None, plan: Plan[R], response_type: type[R]
    ) -> Outcome[R]:
        write = None
        if key is not None and context.idempotency is not None:
            response = plan.response.SerializeToString(deterministic=True)
            write = IdempotentWrite(key, context.idempotency.request_hash, response, self._ttl)
        try:
            result = await self._store.append(plan.appends, idempotency=write)
        except IdempotencyKeyReusedError as exc:
            raise key_reused() from exc
        if result.replayed:
            # A concurrent duplicate committed first: answer exactly what it answered.
            return Outcome(response_type.FromString(result.response), replayed=True, expires_at=result.expires_at)
        if self._after_commit is not None:
            await self._after_commit(plan.appends)
        return Outcome(plan.response, expires_at=result.expires_at)
