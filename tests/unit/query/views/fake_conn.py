"""A stand-in for a read-pool connection: answers each compiled statement with the rows a test gives it.

The views' SQL is covered by the integration tests against PostgreSQL; these fakes let the row handling around it
(outer-join NULL rows, page cuts, byte caps, version composition, access checks) be tested in microseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self


class FakeCursor:
    """The rows of one executed statement."""

    def __init__(self, conn: FakeConn) -> None:
        self._conn = conn
        self._rows: list[Any] = []

    async def execute(
        self, sql: str, params: Mapping[str, object], *, prepare: bool | None = None, binary: bool | None = None
    ) -> Self:
        """Run ``sql``: look its answer up (the given rows are already values, whatever the result format)."""
        del prepare, binary
        self._rows = list(self._conn.answer(sql, params))
        return self

    async def fetchone(self) -> Any:
        """The first row, or ``None``."""
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        """Every row."""
        return self._rows


class FakeConn:
    """Rows per statement (keyed by the compiled SQL text); every execution is recorded."""

    def __init__(self, answers: Mapping[str, Sequence[Any]]) -> None:
        self._answers = answers
        self.executed: list[tuple[str, dict[str, object]]] = []

    def answer(self, sql: str, params: Mapping[str, object]) -> Sequence[Any]:
        """The rows given for ``sql``."""
        self.executed.append((sql, dict(params)))
        return self._answers[sql]

    async def execute(self, sql: str, params: Mapping[str, object], *, prepare: bool | None = None) -> FakeCursor:
        """``conn.execute``: a cursor over the statement's rows."""
        return await FakeCursor(self).execute(sql, params, prepare=prepare)

    def cursor(self, *, row_factory: object = None) -> FakeCursor:
        """``conn.cursor(row_factory=...)``: the given rows are already in the shape the view asks for."""
        del row_factory
        return FakeCursor(self)
