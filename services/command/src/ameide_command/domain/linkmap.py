"""The relations of a chat (its artifacts), kept in their snapshot encoding until one is looked at.

Every command on a chat loads and stores its snapshot: building a ``Link`` object per relation on every load (and
encoding each again on every store) would make each command O(relations) in Python. ``LinkMap`` keeps the compact
JSON form (``{id: [relation, epoch_micros, linked_by]}``) and decodes only the entries a decision reads, so a
snapshot round trip costs only the C JSON codec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from ameide_command.domain.model import Link, Relation

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Encoded = list[Any]  # [relation, epoch_micros, linked_by]


def to_micros(at: dt.datetime) -> int:
    """Microseconds since the epoch (exact, compact)."""
    return (at - _EPOCH) // dt.timedelta(microseconds=1)


def from_micros(micros: int) -> dt.datetime:
    """The UTC time ``micros`` microseconds after the epoch."""
    return _EPOCH + dt.timedelta(microseconds=micros)


def encode(link: Link) -> Encoded:
    """The snapshot form of one relation."""
    return [int(link.relation), to_micros(link.linked_at), link.linked_by]


class LinkMap(Mapping[str, Link]):
    """An immutable mapping of related ids to ``Link``s over their encoded form."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, Encoded] | None = None) -> None:
        self._raw: dict[str, Encoded] = dict(raw or {})

    @classmethod
    def of(cls, links: Mapping[str, Link]) -> LinkMap:
        """A ``LinkMap`` holding ``links`` (itself when it already is one)."""
        if isinstance(links, LinkMap):
            return links
        return cls({key: encode(link) for key, link in links.items()})

    def __getitem__(self, key: str) -> Link:
        relation, micros, linked_by = self._raw[key]
        return Link(Relation(relation), from_micros(micros), linked_by)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"LinkMap({self._raw!r})"

    def with_link(self, key: str, link: Link) -> LinkMap:
        """A copy with ``key`` related by ``link``."""
        raw = dict(self._raw)
        raw[key] = encode(link)
        return LinkMap(raw)

    def without(self, key: str) -> LinkMap:
        """A copy without ``key``."""
        raw = dict(self._raw)
        raw.pop(key, None)
        return LinkMap(raw)

    @property
    def raw(self) -> dict[str, Encoded]:
        """The encoded form (for snapshots; do not mutate)."""
        return self._raw
