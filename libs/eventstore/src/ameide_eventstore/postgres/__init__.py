"""PostgreSQL implementation of the event store and of outbox consumption.

``ConnectionPool`` (``ameide_pg.pool``) is re-exported: the store takes one for its hot path.
"""

from ameide_eventstore.postgres.outbox import PostgresOutboxConsumer
from ameide_eventstore.postgres.store import PostgresEventStore
from ameide_pg.pool import ConnectionPool

__all__ = ["ConnectionPool", "PostgresEventStore", "PostgresOutboxConsumer"]
