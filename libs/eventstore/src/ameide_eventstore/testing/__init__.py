"""Contract suites as pytest base classes; every implementation must pass them.

Subclass ``EventStoreContract`` (appends, reads, idempotency) with a ``store`` fixture built with
``upcasters=CONTRACT_UPCASTERS``, and ``OutboxConsumerContract`` with ``store`` and ``make_consumer`` fixtures.
Tests isolate themselves with random stream ids, so a shared database is fine for the store contract.
"""

from ameide_eventstore.testing.consumer_contract import MakeConsumer, OutboxConsumerContract, wait_until
from ameide_eventstore.testing.store_contract import (
    CONTRACT_UPCASTERS,
    TENANT,
    EventStoreContract,
    IdempotencyContract,
    event,
    idem,
    stream,
)

__all__ = [
    "CONTRACT_UPCASTERS",
    "TENANT",
    "EventStoreContract",
    "IdempotencyContract",
    "MakeConsumer",
    "OutboxConsumerContract",
    "event",
    "idem",
    "stream",
    "wait_until",
]
