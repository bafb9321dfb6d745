"""The legacy database as rows in memory: a fake ``LegacySource`` that reads them in the real one's orders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from ameide_cli.legacy.rows import ChatRow, DocumentRow, MessageRow, SuggestionRow
from ameide_cli.legacy.source import LegacySource, Peekable, Unreadable

T = TypeVar("T")


class _Cursor:
    """The part of a server-side cursor ``Peekable`` uses."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = list(rows)

    async def fetchmany(self, size: int) -> list[Any]:
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken


def _peekable(rows: list[T], key: Callable[[T], Any]) -> Peekable[T]:
    return Peekable(cast("Any", _Cursor(sorted(rows, key=key))), lambda row: row)


@dataclass
class MemorySource:
    """Legacy rows in memory, read as ``LegacySource`` reads PostgreSQL (every table present, no --since)."""

    chats_: list[ChatRow] = field(default_factory=list)
    messages_: list[MessageRow] = field(default_factory=list)
    documents_: list[DocumentRow] = field(default_factory=list)
    suggestions_: list[SuggestionRow] = field(default_factory=list)
    since: None = None
    tables: frozenset[str] = frozenset({"Chat", "Message_v2", "Message", "Document", "Suggestion"})
    message_tables: tuple[str, ...] = ("Message_v2", "Message")

    def source(self) -> LegacySource:
        """This fake where the importer and the verifier take the real source."""
        return cast("LegacySource", self)

    async def count(self, table: str) -> int:
        """Rows of ``table``."""
        rows: dict[str, list[Any]] = {"Chat": self.chats_, "Document": self.documents_, "Suggestion": self.suggestions_}
        if table in rows:
            return len(rows[table])
        return sum(1 for row in self.messages_ if row.table == table)

    async def ids(self, table: str) -> set[uuid.UUID]:
        """Every id of "Chat" or "Document"."""
        if table == "Chat":
            return {row.id for row in self.chats_}
        return {row.id for row in self.documents_} if table == "Document" else set()

    async def votes(self, table: str) -> dict[bool, int]:
        """No votes."""
        del table
        return {}

    async def unreadable(self, table: str) -> list[Unreadable]:
        """None: a Python datetime is always within the years an event can carry."""
        del table
        return []

    async def chats(self) -> Peekable[ChatRow]:
        """Chats by id."""
        return _peekable(self.chats_, lambda row: row.id)

    async def messages(self, table: str) -> Peekable[MessageRow]:
        """Messages of ``table`` by chat, time, id."""
        mine = [row for row in self.messages_ if row.table == table]
        return _peekable(mine, lambda row: (row.chat_id, row.created_at, row.id))

    async def documents(self, extra: list[uuid.UUID]) -> Peekable[DocumentRow]:
        """Versions by document, time."""
        del extra
        return _peekable(self.documents_, lambda row: (row.id, row.created_at))

    async def suggestions(self, extra: list[uuid.UUID]) -> Peekable[SuggestionRow]:
        """Suggestions by document, time, id."""
        del extra
        return _peekable(self.suggestions_, lambda row: (row.document_id, row.created_at, row.id))
