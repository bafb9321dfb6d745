"""In-memory event store and outbox consumer honouring the same contract as the Postgres ones (for tests)."""

from ameide_eventstore.memory.outbox import InMemoryOutboxConsumer
from ameide_eventstore.memory.store import DeadLetter, InMemoryEventStore, OutboxRow

__all__ = ["DeadLetter", "InMemoryEventStore", "InMemoryOutboxConsumer", "OutboxRow"]
