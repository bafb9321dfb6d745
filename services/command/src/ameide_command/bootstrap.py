"""Composition root of the command deployable: CommandSettings -> engine, event store, handlers, servicers, bindings.

``ameide serve command`` enters ``bootstrap(settings)`` and serves ``app.bindings``. Tests pass overrides
(``event_store=InMemoryEventStore()``, ``clock=...``, ``id_factory=...``) and call the handlers directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import create_async_engine

from ameide_command.adapters.outbox_hint import OutboxHint
from ameide_command.application.artifact_handlers import ArtifactHandlers
from ameide_command.application.chat_handlers import ChatHandlers
from ameide_command.application.context import Clock, IdFactory, random_id, utc_now
from ameide_command.application.deps import Deps
from ameide_command.application.ensure_handler import EnsureHandler
from ameide_command.application.executor import AfterCommit, Executor
from ameide_command.application.retries import RetryPolicy
from ameide_command.application.state_cache import DEFAULT_CAPACITY, StateCache
from ameide_command.config import CommandSettings
from ameide_command.domain.model import AgentPolicy
from ameide_command.entrypoints import artifact_servicer, chat_servicer
from ameide_command.entrypoints.errors import COMMAND_ERRORS
from ameide_command.entrypoints.validation import Limits
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc
from ameide_eventstore import EventStore
from ameide_eventstore.postgres import ConnectionPool, PostgresEventStore
from ameide_runtime.grpc_server import ServiceBinding
from ameide_runtime.redis_client import redis_client
from ameide_runtime.tokens import TokenCodec

# Connections kept per process: enough for the append + load + idempotency reads of many concurrent RPCs. The
# hot path (append, load_states, idempotency lookup) has its own bare psycopg pool; the engine only serves the
# rare replay of a stream without a snapshot.
POOL_SIZE = 20
POOL_OVERFLOW = 10
ENGINE_POOL_SIZE = 2


@dataclass(slots=True)
class CommandApp:
    """What the command deployable serves, and its handlers (for in-process tests and benchmarks)."""

    bindings: list[ServiceBinding]
    event_store: EventStore
    chats: ChatHandlers
    artifacts: ArtifactHandlers
    ensure: EnsureHandler
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@asynccontextmanager
async def bootstrap(
    settings: CommandSettings,
    *,
    event_store: EventStore | None = None,
    clock: Clock | None = None,
    id_factory: IdFactory | None = None,
    retry: RetryPolicy | None = None,
    publish_hints: bool | None = None,
    state_cache_size: int = DEFAULT_CAPACITY,
) -> AsyncIterator[CommandApp]:
    """Build the command app; everything opened here is closed on exit, in reverse order.

    ``publish_hints`` (default: only with the Postgres store) enables the Redis "new events" hint;
    ``state_cache_size`` bounds the cache of streams this process appended last (0 = always read stream heads).
    """
    async with AsyncExitStack() as stack:
        if event_store is None:
            url = settings.stores.require_database()
            engine = create_async_engine(url, pool_size=ENGINE_POOL_SIZE, max_overflow=POOL_OVERFLOW)
            stack.push_async_callback(engine.dispose)
            pool = ConnectionPool(url, size=POOL_SIZE + POOL_OVERFLOW)
            stack.push_async_callback(pool.close)
            event_store = PostgresEventStore(
                engine, shard_count=settings.outbox_shards, pool=pool, group_commit=settings.group_commit
            )
            publish_hints = True if publish_hints is None else publish_hints
        after_commit: AfterCommit | None = None
        if publish_hints and settings.stores.redis_url:
            hint = OutboxHint(redis_client(settings.stores.redis_url), shard_count=settings.outbox_shards)
            stack.push_async_callback(hint.close)
            after_commit = hint
        executor = Executor(
            event_store,
            idempotency_ttl=dt.timedelta(hours=settings.idempotency_ttl_hours),
            retry=retry,
            after_commit=after_commit,
            cache=StateCache(state_cache_size),
        )
        deps = Deps(
            executor=executor,
            tokens=TokenCodec(settings.auth.token_key()),
            clock=clock or utc_now,
            new_id=id_factory or random_id,
            agents=AgentPolicy(by_kind=dict(settings.agent_by_kind), default=settings.default_agent),
            max_title_chars=settings.max_title_chars,
        )
        limits = Limits.from_settings(settings)
        chats, artifacts, ensure = ChatHandlers(deps), ArtifactHandlers(deps), EnsureHandler(deps)
        bindings = [
            ServiceBinding(
                chat_servicer.SERVICE,
                threads_service_pb2_grpc.add_ChatCommandServiceServicer_to_server,
                chat_servicer.ChatCommandServicer(chats, ensure, limits),
                COMMAND_ERRORS,
            ),
            ServiceBinding(
                artifact_servicer.SERVICE,
                artifacts_service_pb2_grpc.add_ArtifactCommandServiceServicer_to_server,
                artifact_servicer.ArtifactCommandServicer(artifacts, limits),
                COMMAND_ERRORS,
            ),
        ]
        yield CommandApp(bindings, event_store, chats, artifacts, ensure)
