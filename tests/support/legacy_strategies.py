"""Hypothesis strategies for legacy rows: any code point in text, any JSON in JSON columns, every known shape.

``datasets`` draws whole legacy databases: users, chats, messages of both tables (some orphaned), documents with
versions (now and then sharing a chat's id, or changing kind), suggestions (some naming missing versions).

``*_json`` strategies give a JSON column's text as the JavaScript app wrote it (``js_json``); text columns are
given as Python strings, which tests that store them in PostgreSQL pass through ``js_text`` first.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ameide_cli.legacy.rows import ChatRow, DocumentRow, MessageRow, SuggestionRow
from tests.support.legacy_js import js_json

# Hypothesis leaves surrogates out of text unless asked: these are what the importer must survive.
_AWKWARD = ["\x00", "\ud83d", "\ude00", "\udc80", "\ufffd", "\uffff", "😀", "\u202e", "\x1f", "\\", '"', "[", "/", "]"]
CHARACTERS = st.one_of(st.characters(codec=None), st.characters(categories=["Cs"]), st.sampled_from(_AWKWARD))
TEXT = st.text(CHARACTERS, max_size=12)
ROLES = st.one_of(
    st.sampled_from(["user", "assistant", "system", "tool", "function", "data", "User", " assistant "]), TEXT
)
PART_TYPES = st.one_of(
    st.sampled_from(
        [
            "text",
            "file",
            "reasoning",
            "step-start",
            "source-url",
            "tool-createDocument",
            "tool-invocation",
            "x-legacy-parts",
        ]
    ),
    TEXT,
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)),
    max_leaves=8,
)


def _image_data() -> st.SearchStrategy[str]:
    return st.one_of(st.binary(max_size=12).map(lambda data: base64.b64encode(data).decode()), TEXT)


def parts(documents: list[uuid.UUID] | None = None) -> st.SearchStrategy[Any]:
    """One message part: the shapes the legacy app writes (with any text in them), odd types, any JSON."""
    ids = st.sampled_from([str(d) for d in documents]) if documents else st.uuids().map(str)
    return st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, TEXT),
        st.builds(lambda t, s: {"type": "text", "text": t, "state": s}, TEXT, st.sampled_from(["done", "streaming"])),
        st.builds(lambda t: {"text": t}, TEXT),
        st.builds(lambda t: {"type": "text", "content": t}, TEXT),
        st.builds(lambda m, u: {"type": "file", "mediaType": m, "url": u}, st.sampled_from(["image/png", "x"]), TEXT),
        st.builds(lambda d: {"type": "file", "mimeType": "image/png", "data": d}, _image_data()),
        st.builds(lambda t: {"type": "reasoning", "text": t, "providerMetadata": {}}, TEXT),
        st.builds(
            lambda i, t: {
                "type": "tool-createDocument",
                "state": "output-available",
                "input": {},
                "output": {"id": i, "title": t},
            },
            ids,
            TEXT,
        ),
        st.builds(lambda i: {"type": "tool-updateDocument", "input": {"id": i}, "output": {"id": i}}, ids),
        st.builds(lambda kind, value: {"type": kind, "value": value}, PART_TYPES, JSON),
        JSON,
    )


def bodies(documents: list[uuid.UUID] | None = None) -> st.SearchStrategy[str]:
    """A message's parts column as JSON text: an array of parts, or one of the other shapes it has been seen in."""
    part = parts(documents)
    listed = st.lists(part, max_size=4)
    return st.one_of(
        listed.map(js_json),
        part.map(js_json),  # one part object
        listed.map(lambda value: js_json(js_json(value))),  # encoded twice
        TEXT.map(js_json),  # a bare string (the older format's plain text)
        st.builds(lambda t, p: js_json({"role": "user", "content": t, "parts": p}), TEXT, listed),
        st.builds(lambda content: js_json({"role": "assistant", "content": content}), st.one_of(TEXT, listed)),
        JSON.map(js_json),
        st.integers(101, 300).map(lambda depth: "[" * depth + "]" * depth),  # deeper than the importer reads
    )


def attachments() -> st.SearchStrategy[str]:
    """A "Message_v2" attachments column as JSON text."""
    entry = st.one_of(
        st.builds(lambda n, u, c: {"name": n, "url": u, "contentType": c}, TEXT, TEXT, TEXT),
        JSON,
    )
    listed = st.lists(entry, max_size=3)
    return st.one_of(listed.map(js_json), entry.map(js_json), listed.map(lambda v: js_json(js_json(v))))


# Legacy timestamps: naive UTC in the database, aware here (as ``rows.utc`` makes them).
AT = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
TIMES = st.integers(0, 10**9).map(lambda micros: AT + dt.timedelta(microseconds=micros))


@dataclass
class Dataset:
    """Generated legacy rows (every id unique in its table, as the legacy schema's keys require)."""

    users: list[uuid.UUID]
    chats: list[ChatRow]
    messages: list[MessageRow]
    documents: list[DocumentRow]
    suggestions: list[SuggestionRow]

    @property
    def rows(self) -> int:
        """Rows of the tables the importer reads."""
        return len(self.chats) + len(self.messages) + len(self.documents) + len(self.suggestions)


def _one_in(draw: st.DrawFn, times: int) -> bool:
    return draw(st.integers(1, times)) == 1


def _mostly(draw: st.DrawFn, known: list[uuid.UUID]) -> uuid.UUID:
    """One of ``known`` nine times in ten (when there are any), else an id nothing has."""
    if known and not _one_in(draw, 10):
        return draw(st.sampled_from(known))
    return draw(st.uuids(version=4))


def _messages(draw: st.DrawFn, chat_ids: list[uuid.UUID], document_ids: list[uuid.UUID]) -> list[MessageRow]:
    messages = []
    for table in ("Message_v2", "Message"):
        for message_id in draw(st.lists(st.uuids(version=4), max_size=4, unique=True)):
            body = draw(bodies(document_ids))
            column = draw(attachments()) if table == "Message_v2" else None
            chat_id = _mostly(draw, chat_ids)
            messages.append(MessageRow(table, message_id, chat_id, draw(ROLES), body, column, draw(TIMES)))
    return messages


def _documents(draw: st.DrawFn, document_ids: list[uuid.UUID], users: list[uuid.UUID]) -> list[DocumentRow]:
    documents = []
    for document_id in document_ids:
        kind = draw(st.one_of(st.sampled_from(["text", "code", "sheet", "image"]), TEXT))
        for at in draw(st.lists(TIMES, min_size=1, max_size=3, unique=True)):
            content = draw(st.one_of(st.none(), TEXT, st.just("aGVsbG8=")))
            title = draw(TEXT)
            # A later version is now and then of another kind (the first one's is kept).
            version_kind = draw(TEXT) if _one_in(draw, 5) else kind
            documents.append(DocumentRow(document_id, at, title, content, version_kind, draw(st.sampled_from(users))))
    return documents


def _suggestions(draw: st.DrawFn, documents: list[DocumentRow], users: list[uuid.UUID]) -> list[SuggestionRow]:
    suggestions = []
    for suggestion_id in draw(st.lists(st.uuids(version=4), max_size=3, unique=True)):
        document_id = _mostly(draw, sorted({row.id for row in documents}))
        versions = [row.created_at for row in documents if row.id == document_id]
        names = draw(st.sampled_from(versions)) if versions and not _one_in(draw, 4) else draw(TIMES)
        texts = draw(st.tuples(TEXT, TEXT, st.one_of(st.none(), TEXT)))
        author = draw(st.sampled_from(users))
        suggestions.append(
            SuggestionRow(suggestion_id, document_id, names, *texts, draw(st.booleans()), author, draw(TIMES))
        )
    return suggestions


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A few users' chats, messages (both tables, some orphaned), documents with versions, and suggestions."""
    users = draw(st.lists(st.uuids(version=4), min_size=1, max_size=2, unique=True))
    chat_ids = draw(st.lists(st.uuids(version=4), min_size=1, max_size=3, unique=True))
    # A document id is now and then also a chat's id (one stream per id: skipped).
    document_ids: list[uuid.UUID] = []
    for _ in range(draw(st.integers(0, 2))):
        document_id = _mostly(draw, chat_ids if _one_in(draw, 10) else [])
        if document_id not in document_ids:
            document_ids.append(document_id)
    visibility = st.one_of(st.sampled_from(["private", "public", "shared"]), TEXT)
    chats = [
        ChatRow(chat_id, draw(TIMES), draw(TEXT), draw(st.sampled_from(users)), draw(visibility))
        for chat_id in chat_ids
    ]
    messages = _messages(draw, chat_ids, document_ids)
    documents = _documents(draw, document_ids, users)
    suggestions = _suggestions(draw, documents, users)
    return Dataset(users, chats, messages, documents, suggestions)
