"""Adapters of the command deployable to infrastructure other than the event store (Redis)."""
