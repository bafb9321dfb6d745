"""Resumable live-update subscriptions: reconnect, resume from the last checkpoint, never deliver twice.

The server delivers at least once and in order per feed; after a reconnect it replays everything after the
token the SDK resumed from. The SDK saves each update's checkpoint before handing the update over, drops any
update at or below the last delivered position, and hides StreamControl messages unless asked for them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import grpc
import grpc.aio

from ameide_sdk.checkpoints import CheckpointStore, InMemoryCheckpointStore, checkpoint_position
from ameide_sdk.errors import RESUMABLE_CODES, ResumeExpired, is_resume_expired, is_transport_reset


class Update(Protocol):
    """What ChatUpdate and ArtifactUpdate have in common."""

    checkpoint_token: str

    def WhichOneof(self, oneof_group: Any, /) -> Any:  # noqa: ANN401, D102 - protobuf's own signature
        ...


U = TypeVar("U", bound=Update)

# Opens the server stream resuming after ``token`` ("" = from now).
StreamOpener = Callable[[str], AsyncIterable[U]]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How a subscription reconnects: jittered exponential backoff, at most ``max_attempts`` failures in a row.

    The count resets whenever a reconnected stream delivers anything, so a long-lived subscription survives
    any number of separate outages.
    """

    max_attempts: int = 8
    initial_backoff: float = 0.2
    max_backoff: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect number ``attempt`` (1-based), with full jitter on the top half."""
        ceiling = min(self.max_backoff, self.initial_backoff * float(2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography


class Subscription(Generic[U]):
    """An async iterator of one feed's updates that survives disconnects.

    Iterate it with ``async for``; ``checkpoint`` is the token to resume from later (also saved in the store).
    Raises ``ResumeExpired`` when the server no longer keeps updates that old.
    """

    def __init__(
        self,
        feed: str,
        opener: StreamOpener[U],
        *,
        resume_token: str | None,
        store: CheckpointStore | None,
        include_control: bool,
        policy: ReconnectPolicy,
    ) -> None:
        self.feed = feed
        self._opener = opener
        self._explicit_token = resume_token
        self._store: CheckpointStore = store if store is not None else InMemoryCheckpointStore()
        self._include_control = include_control
        self._policy = policy
        self._token = ""
        self._position: int | None = None
        self._iterator: AsyncGenerator[U, None] | None = None
        self.reconnects = 0

    @property
    def checkpoint(self) -> str:
        """The last checkpoint token seen ("" before the first)."""
        return self._token

    def __aiter__(self) -> AsyncIterator[U]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def aclose(self) -> None:
        """Stop iterating and cancel the server stream."""
        if self._iterator is not None:
            await self._iterator.aclose()

    async def _start_token(self) -> str:
        if self._explicit_token:
            return self._explicit_token
        return await self._store.load(self.feed) or ""

    async def _run(self) -> AsyncGenerator[U, None]:
        self._remember(await self._start_token())
        failures = 0
        while True:
            stream = self._opener(self._token)
            received = 0
            try:
                async for update in stream:
                    received += 1
                    if received > 1:
                        # Past the greeting, the server is really serving again: forget earlier failures.
                        failures = 0
                    if not await self._accept(update):
                        continue
                    yield update
            except grpc.aio.AioRpcError as error:
                failures = self._check_resumable(error, failures)
            else:
                return  # the server ended the feed (the chat or artifact was deleted)
            finally:
                cancel = getattr(stream, "cancel", None)
                if cancel is not None:
                    cancel()
            self.reconnects += 1
            await asyncio.sleep(self._policy.delay(failures))

    def _check_resumable(self, error: grpc.aio.AioRpcError, failures: int) -> int:
        if is_resume_expired(error):
            raise ResumeExpired(self.feed) from error
        if error.code() not in RESUMABLE_CODES and not is_transport_reset(error):
            raise error
        if failures + 1 >= self._policy.max_attempts:
            raise error
        return failures + 1

    async def _accept(self, update: U) -> bool:
        """Save the update's checkpoint and say whether to hand it over (False for duplicates and control)."""
        token = update.checkpoint_token
        position = checkpoint_position(token) if token else None
        if update.WhichOneof("update") == "control":
            # Heartbeats repeat the latest position with a fresher token: keep it, it stays valid for longer.
            if token and not self._is_behind(position):
                await self._save(token, position)
            return self._include_control
        if token and self._is_duplicate(token, position):
            return False
        if token:
            await self._save(token, position)
        return True

    def _is_behind(self, position: int | None) -> bool:
        return position is not None and self._position is not None and position < self._position

    def _is_duplicate(self, token: str, position: int | None) -> bool:
        if position is not None and self._position is not None:
            return position <= self._position
        return token == self._token

    def _remember(self, token: str) -> None:
        self._token = token
        self._position = checkpoint_position(token) if token else None

    async def _save(self, token: str, position: int | None) -> None:
        self._token = token
        if position is not None:
            self._position = position
        await self._store.save(self.feed, token)
