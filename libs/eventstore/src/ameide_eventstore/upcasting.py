"""Upcasters: old payload shapes are rewritten to the current shape when events are read."""

from __future__ import annotations

from collections.abc import Callable, Mapping

# payload bytes of (event_type, schema_version) -> (payload bytes, new schema_version)
Upcaster = Callable[[bytes], tuple[bytes, int]]

# Upcasting chains are short; a bound stops a registry whose upcaster never raises the version.
_MAX_STEPS = 64


class Upcasters:
    """A registry of upcasters keyed by ``(event_type, schema_version)``, applied as a chain on read."""

    def __init__(self, upcasters: Mapping[tuple[str, int], Upcaster] | None = None) -> None:
        self._upcasters: dict[tuple[str, int], Upcaster] = dict(upcasters or {})

    def register(self, event_type: str, schema_version: int, upcaster: Upcaster) -> None:
        """Register the upcaster that turns ``schema_version`` payloads of ``event_type`` into a newer shape."""
        self._upcasters[event_type, schema_version] = upcaster

    def __bool__(self) -> bool:
        return bool(self._upcasters)

    def upcast(self, event_type: str, schema_version: int, payload: bytes) -> tuple[bytes, int]:
        """Apply every registered step until no upcaster matches; return the payload and its final version."""
        for _ in range(_MAX_STEPS):
            upcaster = self._upcasters.get((event_type, schema_version))
            if upcaster is None:
                return payload, schema_version
            payload, new_version = upcaster(payload)
            if new_version <= schema_version:
                raise ValueError(f"upcaster for {event_type} v{schema_version} did not raise the version")
            schema_version = new_version
        raise ValueError(f"upcaster chain for {event_type} is longer than {_MAX_STEPS} steps")


def as_upcasters(upcasters: Upcasters | Mapping[tuple[str, int], Upcaster] | None) -> Upcasters:
    """Accept a registry or a plain mapping."""
    if isinstance(upcasters, Upcasters):
        return upcasters
    return Upcasters(upcasters)
