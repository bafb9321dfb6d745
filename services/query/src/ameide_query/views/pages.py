"""A page of rows as views return it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Keyset start for descending orders: sorts after every real row.
TOP_TIME = dt.datetime.max.replace(tzinfo=dt.UTC)
TOP_ID = uuid.UUID(int=(1 << 128) - 1)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one page (views ask for ``limit + 1`` rows, so ``has_more`` is exact) and the total count."""

    rows: list[T]
    total: int
    has_more: bool


def cut(rows: list[T], total: int, limit: int) -> Page[T]:
    """The page of at most ``limit`` rows out of ``limit + 1`` fetched."""
    return Page(rows=rows[:limit], total=total, has_more=len(rows) > limit)
