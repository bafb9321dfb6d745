"""PostgreSQL implementation of the event store and of outbox consumption."""

from ameide_eventstore.postgres.connections import ConnectionPool
from ameide_eventstore.postgres.outbox import PostgresOutboxConsumer
from ameide_eventstore.postgres.store import PostgresEventStore

__all__ = ["ConnectionPool", "PostgresEventStore", "PostgresOutboxConsumer"]
