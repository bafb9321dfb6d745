"""The command app wired with in-memory fakes through the real bootstrap, plus request helpers."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from google.protobuf.message import Message

from ameide_command.application.context import IdempotencyRequest, RequestContext, request_hash
from ameide_command.application.retries import RetryPolicy
from ameide_command.bootstrap import CommandApp, bootstrap
from ameide_command.config import CommandSettings
from ameide_command.domain import events
from ameide_command.domain.model import Actor
from ameide_eventstore import EventStore
from ameide_eventstore.memory import InMemoryEventStore
from ameide_runtime.settings import AuthSettings
from tests.unit.command.command_builders import T0

SETTINGS = CommandSettings(
    auth=AuthSettings(token_secret="command-tests-token-secret"),
    agent_by_kind={"bpmn": "bpmn-assistant"},
    default_agent="general-assistant",
)


class SequentialIds:
    """Predictable ids: 00000000-0000-4000-8000-000000000001, ...002, ..."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> uuid.UUID:
        """The next id."""
        return uuid.UUID(f"00000000-0000-4000-8000-{next(self._counter):012d}")


class TickingClock:
    """Each call is one second after the previous one, starting at ``T0``."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self) -> dt.datetime:
        """The next second."""
        return T0 + dt.timedelta(seconds=next(self._counter))


@asynccontextmanager
async def command_app(
    store: EventStore | None = None, *, retry: RetryPolicy | None = None, random_ids: bool = False
) -> AsyncIterator[CommandApp]:
    """The command app over an in-memory store, predictable (or random) ids and a ticking clock."""
    async with bootstrap(
        SETTINGS,
        event_store=store or InMemoryEventStore(),
        clock=TickingClock(),
        id_factory=uuid.uuid4 if random_ids else SequentialIds(),
        retry=retry,
    ) as app:
        yield app


def context(actor: Actor, *, key: str = "", request: bytes = b"", method: str = "Test") -> RequestContext:
    """A request context for ``actor``; with ``key`` an idempotent one bound to ``request``."""
    idempotency = IdempotencyRequest(key, request_hash(method, request)) if key else None
    return RequestContext(actor=actor, request_id="req-1", correlation_id="corr-1", idempotency=idempotency)


async def history(store: EventStore, stream_id: str) -> list[str]:
    """The short event type names of a stream, oldest first."""
    return [event.event_type.rsplit(".", 1)[-1] for event in await store.read_stream(uuid.UUID(stream_id))]


async def payloads(store: EventStore, stream_id: str) -> Sequence[Message]:
    """The decoded payloads of a stream, oldest first."""
    recorded = await store.read_stream(uuid.UUID(stream_id))
    decoded = [events.decode(event.event_type, event.payload) for event in recorded]
    return [payload for payload in decoded if payload is not None]
