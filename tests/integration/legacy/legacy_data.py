"""A realistic legacy database (Vercel ai-chatbot schema) with the malformed cases the importer must survive.

``build(url, seed)`` creates the tables from tests/support/legacy_schema.sql and fills them: users, chats of both
visibilities, AI SDK 5 and 4 message parts (text, files, reasoning, tool calls creating and updating documents,
suggestions), the older "Message" format (plain and migrated), document versions of every kind, suggestions,
votes and streams; plus broken rows: non-array and invalid parts, parts without a type, odd roles, attachments of
the wrong shape, dangling foreign keys (messages, suggestions, tool calls naming missing documents), a document
whose id is also a chat's id, and the text a JavaScript app leaves behind (lone surrogates and NUL as JSON
escapes, parts as one object, encoded twice, as a bare string). ``Expected`` records what was written, for the
assertions.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

SCHEMA = Path(__file__).resolve().parents[2] / "support" / "legacy_schema.sql"
# Legacy timestamps are naive UTC (`timestamp without time zone`).
START = dt.datetime(2024, 3, 1, 9, 0, 0)  # noqa: DTZ001
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()


@dataclass
class Expected:
    """What the generator wrote (ids grouped by what the importer should make of them)."""

    users: list[uuid.UUID] = field(default_factory=list)
    chats: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    messages: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    orphan_messages: set[uuid.UUID] = field(default_factory=set)
    superseded_messages: set[uuid.UUID] = field(default_factory=set)
    documents: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    colliding_document: uuid.UUID | None = None
    javascript_chat: uuid.UUID | None = None
    suggestions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    orphan_suggestions: set[uuid.UUID] = field(default_factory=set)
    links: dict[tuple[uuid.UUID, uuid.UUID], int] = field(default_factory=dict)
    primary: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    dangling_refs: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    votes: int = 0
    streams: int = 0
    rows: int = 0


class Generator:
    """Writes one legacy database; deterministic for a seed."""

    def __init__(self, conn: psycopg.Connection[Any], seed: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.expected = Expected()
        self.clock = START

    def new_id(self) -> uuid.UUID:
        """A random id from the seeded generator."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def tick(self, seconds: float = 7.0) -> dt.datetime:
        """Advance the legacy clock (microsecond resolution, as Postgres keeps)."""
        self.clock += dt.timedelta(seconds=seconds * self.rng.uniform(0.5, 1.5), microseconds=self.rng.randrange(999))
        return self.clock

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Insert one row (JSON values given as text go in verbatim)."""
        columns = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join(["%s"] * len(row))
        self.conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(row.values()))  # noqa: S608
        self.expected.rows += 1

    def user(self) -> uuid.UUID:
        """A user (never read back by the importer beyond counting)."""
        user_id = self.new_id()
        self.insert("User", {"id": user_id, "email": f"u{len(self.expected.users)}@example.com", "password": "x"})
        self.expected.users.append(user_id)
        return user_id

    def chat(
        self,
        owner: uuid.UUID,
        *,
        visibility: str = "private",
        chat_id: uuid.UUID | None = None,
        title: str | None = None,
    ) -> uuid.UUID:
        """A chat."""
        chat_id = chat_id or self.new_id()
        if title is None:
            title = self.rng.choice(["Trip to Lisbon", "Quarterly plan", "Python help", "Ünïcode ✓ title", ""])
        created = self.tick(60)
        self.insert(
            "Chat", {"id": chat_id, "createdAt": created, "title": title, "userId": owner, "visibility": visibility}
        )
        self.expected.chats[chat_id] = {"owner": owner, "title": title, "visibility": visibility, "at": created}
        return chat_id

    def message(
        self,
        chat_id: uuid.UUID,
        role: str,
        parts: Any,
        *,
        attachments: Any = None,
        table: str = "Message_v2",
        message_id: uuid.UUID | None = None,
        orphan: bool = False,
        at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """A message; ``parts``/``attachments`` given as str are written verbatim, else as JSON."""
        message_id = message_id or self.new_id()
        text = parts if isinstance(parts, str) else json.dumps(parts, ensure_ascii=False)
        row: dict[str, Any] = {"id": message_id, "chatId": chat_id, "role": role, "createdAt": at or self.tick()}
        if table == "Message_v2":
            row["parts"] = text
            row["attachments"] = attachments if isinstance(attachments, str) else json.dumps(attachments or [])
        else:
            row["content"] = text
        self.insert(table, row)
        if orphan:
            self.expected.orphan_messages.add(message_id)
        else:
            self.expected.messages.setdefault(message_id, {"chat": chat_id, "table": table, "role": role})
        return message_id

    def document(
        self,
        owner: uuid.UUID,
        kind: str,
        versions: int,
        *,
        document_id: uuid.UUID | None = None,
        content: str | None = "",
        title: str = "",
    ) -> uuid.UUID:
        """A document with ``versions`` versions (each a row)."""
        document_id = document_id or self.new_id()
        rows = self.expected.documents.setdefault(document_id, [])
        for index in range(versions):
            body = _content(kind, index) if content == "" else content
            row = {
                "id": document_id,
                "createdAt": self.tick(3),
                "title": title or f"{kind} document",
                "content": body,
                "text": kind,
                "userId": owner,
            }
            self.insert("Document", row)
            rows.append(row)
        return document_id


def _content(kind: str, index: int) -> str:
    if kind == "image":
        return PNG
    if kind == "code":
        return f"def main():\n    print({index})\n"
    if kind == "sheet":
        return f"a,b\n{index},{index * 2}\n"
    return f"# Draft {index}\n\nSome *markdown* text, version {index}.\n"


def build(url: str, seed: int, *, chats: int = 120) -> Expected:
    """Create and fill the legacy database at ``url``."""
    from tests.integration.legacy import legacy_scenarios  # noqa: PLC0415 - split for size

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        generator = Generator(conn, seed)
        legacy_scenarios.fill(generator, chats=chats)
        return generator.expected
