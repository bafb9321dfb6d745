"""Reading the legacy database: read-only, one consistent snapshot, server-side cursors in merge-join order.

The whole run reads inside one REPEATABLE READ, READ ONLY transaction, so every table is seen at the same instant
and the importer cannot write to the legacy database even by mistake. Large tables are streamed through
server-side cursors (the legacy schema has no index on "chatId", so one ordered scan per table beats any
per-chat lookup), and consumers merge them by key.

Text columns are read as the database holds them: a SQL_ASCII database returns bytes, read here as UTF-8 with
invalid bytes kept as lone surrogates for the text policy to replace (``text.decode``). Rows whose timestamps no
event can carry are not read with the others; ``unreadable`` lists them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import sql

from ameide_cli.legacy import statements
from ameide_cli.legacy.rows import ChatRow, DocumentRow, MessageRow, SuggestionRow, utc
from ameide_cli.legacy.text import decode
from ameide_pg.urls import libpq_url

T = TypeVar("T")
FETCH = 2000


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row whose timestamps no event can carry (see ``statements.UNREADABLE``)."""

    table: str
    id: uuid.UUID
    timestamps: str

    @property
    def key(self) -> str:
        """The row's key as listed in reports."""
        if self.table == "Chat":
            return str(self.id)
        if self.table == "Document":
            return f"Document/{self.id}@{self.timestamps}"
        return f"{self.table}/{self.id} ({self.timestamps})"


class Peekable(Generic[T]):
    """Rows of a server-side cursor, fetched in batches, with one row of look-ahead."""

    def __init__(self, cursor: psycopg.AsyncServerCursor[Any], convert: Callable[[Any], T]) -> None:
        self._cursor = cursor
        self._convert = convert
        self._buffer: list[T] = []
        self._done = False

    async def peek(self) -> T | None:
        """The next row without consuming it; ``None`` at the end."""
        if not self._buffer and not self._done:
            rows = await self._cursor.fetchmany(FETCH)
            self._done = len(rows) < FETCH
            self._buffer = [self._convert(row) for row in reversed(rows)]
        return self._buffer[-1] if self._buffer else None

    async def take_while(self, keep: Callable[[T], bool]) -> list[T]:
        """Consume and return the leading rows for which ``keep`` holds."""
        taken: list[T] = []
        while (row := await self.peek()) is not None and keep(row):
            taken.append(self._buffer.pop())
        return taken

    async def rest(self) -> AsyncIterator[T]:
        """Consume every remaining row."""
        while (row := await self.peek()) is not None:
            self._buffer.pop()
            yield row


def of_chat(chat_id: uuid.UUID, *, before: bool = False) -> Callable[[MessageRow], bool]:
    """Messages of ``chat_id`` (``before``: of chats ordered before it, i.e. of missing chats)."""
    if before:
        return lambda row: row.chat_id < chat_id
    return lambda row: row.chat_id == chat_id


def of_document(document_id: uuid.UUID) -> Callable[[DocumentRow], bool]:
    """Versions of ``document_id``."""
    return lambda row: row.id == document_id


def on_document(document_id: uuid.UUID, *, before: bool = False) -> Callable[[SuggestionRow], bool]:
    """Suggestions on ``document_id`` (``before``: on documents ordered before it, i.e. missing ones)."""
    if before:
        return lambda row: row.document_id < document_id
    return lambda row: row.document_id == document_id


def _naive_utc(at: dt.datetime) -> dt.datetime:
    # Legacy columns are `timestamp without time zone` in UTC: compare like with like.
    return at.astimezone(dt.UTC).replace(tzinfo=None)


class LegacySource:
    """The legacy tables, read in one snapshot."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], tables: frozenset[str], since: dt.datetime | None) -> None:
        self._conn = conn
        self.tables = tables
        self.since = since
        self._cursors = 0

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, since: dt.datetime | None = None) -> AsyncIterator[LegacySource]:
        """Connect read-only and start the snapshot transaction."""
        conn = await psycopg.AsyncConnection.connect(libpq_url(url))
        try:
            await conn.set_read_only(True)
            await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
            tables = frozenset([table for table in statements.TABLES if await _exists(conn, table)])
            yield cls(conn, tables, since)
        finally:
            await conn.rollback()
            await conn.close()

    @property
    def message_tables(self) -> tuple[str, ...]:
        """The message tables present, newest format first."""
        return tuple(table for table in ("Message_v2", "Message") if table in self.tables)

    def _params(self, extra: list[uuid.UUID] | None = None) -> dict[str, Any]:
        since = None if self.since is None else _naive_utc(self.since)
        return {"since": since, "extra": extra or []}

    async def count(self, table: str) -> int:
        """Rows in ``table`` (0 when the table does not exist)."""
        if table not in self.tables:
            return 0
        row = await (await self._conn.execute(statements.count(table))).fetchone()
        return int(row[0]) if row else 0

    async def unreadable(self, table: str) -> list[Unreadable]:
        """The rows of ``table`` whose timestamps no event can carry (every run lists them: they never import)."""
        if table not in self.tables or table not in statements.UNREADABLE:
            return []
        rows = await (await self._conn.execute(statements.UNREADABLE[table])).fetchall()
        return [Unreadable(table, row[0], decode(row[1])) for row in rows]

    async def ids(self, table: str) -> set[uuid.UUID]:
        """Every id of "Chat", "Document" or "User"."""
        if table not in self.tables:
            return set()
        rows = await (await self._conn.execute(statements.IDS[table])).fetchall()
        return {row[0] for row in rows}

    async def votes(self, table: str) -> dict[bool, int]:
        """Votes of ``table`` counted by up/down."""
        if table not in self.tables:
            return {}
        rows = await (await self._conn.execute(statements.VOTES[table])).fetchall()
        return {bool(row[0]): int(row[1]) for row in rows}

    async def _stream(self, query: sql.Composed, params: dict[str, Any], convert: Callable[[Any], T]) -> Peekable[T]:
        self._cursors += 1
        cursor = self._conn.cursor(name=f"legacy_{self._cursors}")
        await cursor.execute(query, params)
        return Peekable(cursor, convert)

    async def chats(self) -> Peekable[ChatRow]:
        """Chats ordered by id."""
        query = statements.chats(self.message_tables, since=self.since is not None)
        return await self._stream(query, self._params(), _chat)

    async def messages(self, table: str) -> Peekable[MessageRow]:
        """Messages of ``table`` ordered by chat, time, id."""
        query = statements.messages(table, self.message_tables, since=self.since is not None)
        return await self._stream(query, self._params(), lambda row: _message(table, row))

    async def documents(self, extra: list[uuid.UUID]) -> Peekable[DocumentRow]:
        """Document versions ordered by id, time (``extra``: documents to include in a ``--since`` run)."""
        query = statements.documents(since=self.since is not None, with_suggestions="Suggestion" in self.tables)
        return await self._stream(query, self._params(extra), _document)

    async def suggestions(self, extra: list[uuid.UUID]) -> Peekable[SuggestionRow]:
        """Suggestions ordered by document, time, id."""
        return await self._stream(
            statements.suggestions(since=self.since is not None), self._params(extra), _suggestion
        )


async def _exists(conn: psycopg.AsyncConnection[Any], table: str) -> bool:
    row = await (await conn.execute(statements.TABLE_EXISTS, [sql.Identifier(table).as_string(conn)])).fetchone()
    return bool(row and row[0])


def _optional(value: str | bytes | None) -> str | None:
    return None if value is None else decode(value)


def _chat(row: Any) -> ChatRow:  # noqa: ANN401 - a driver row
    return ChatRow(id=row[0], created_at=utc(row[1]), title=decode(row[2]), user_id=row[3], visibility=decode(row[4]))


def _message(table: Any, row: Any) -> MessageRow:  # noqa: ANN401 - a driver row
    return MessageRow(
        table=table,
        id=row[0],
        chat_id=row[1],
        role=decode(row[2]),
        body=decode(row[3]),
        attachments=_optional(row[4]),
        created_at=utc(row[5]),
    )


def _document(row: Any) -> DocumentRow:  # noqa: ANN401 - a driver row
    return DocumentRow(
        id=row[0],
        created_at=utc(row[1]),
        title=decode(row[2]),
        content=_optional(row[3]),
        kind=decode(row[4]),
        user_id=row[5],
    )


def _suggestion(row: Any) -> SuggestionRow:  # noqa: ANN401 - a driver row
    return SuggestionRow(
        id=row[0],
        document_id=row[1],
        document_created_at=utc(row[2]),
        original_text=decode(row[3]),
        suggested_text=decode(row[4]),
        description=_optional(row[5]),
        is_resolved=row[6],
        user_id=row[7],
        created_at=utc(row[8]),
    )
