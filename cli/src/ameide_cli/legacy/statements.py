"""The SQL the importer runs on the legacy database: reads only, prebuilt once.

Each reading statement has an "all rows" form and a ``--since`` form. The ``--since`` form selects whole
aggregates that changed: every chat with a row at or after ``since`` (the chat itself or one of its messages), with
all of its messages, and every document with a version or a suggestion at or after ``since`` (or named in
``extra``: documents that newly imported tool calls touched), with all of its versions and suggestions.
Whole aggregates let the importer recompute each stream's events exactly as a full run would.
"""

from __future__ import annotations

from psycopg import sql

# Tables are quoted identifiers: the legacy schema (Drizzle) uses camelCase names.
TABLES = ("User", "Chat", "Message_v2", "Message", "Vote_v2", "Vote", "Document", "Suggestion", "Stream")

TABLE_EXISTS = sql.SQL("SELECT to_regclass(%s) IS NOT NULL")


def count(table: str) -> sql.Composed:
    """Number of rows of ``table``."""
    return sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))


IDS = {
    "Chat": sql.SQL('SELECT id FROM "Chat"'),
    "Document": sql.SQL('SELECT DISTINCT id FROM "Document"'),
    "User": sql.SQL('SELECT id FROM "User"'),
}

VOTES = {
    table: sql.SQL('SELECT "isUpvoted", count(*) FROM {} GROUP BY 1').format(sql.Identifier(table))
    for table in ("Vote_v2", "Vote")
}


def _changed_chats(message_tables: tuple[str, ...]) -> sql.Composed:
    selects: list[sql.Composable] = [sql.SQL('SELECT id FROM "Chat" WHERE "createdAt" >= %(since)s')]
    selects += [
        sql.SQL('SELECT "chatId" FROM {} WHERE "createdAt" >= %(since)s').format(sql.Identifier(table))
        for table in message_tables
    ]
    return sql.SQL(" UNION ").join(selects)


def _changed_documents(*, with_suggestions: bool) -> sql.Composed:
    selects: list[sql.Composable] = [
        sql.SQL('SELECT id FROM "Document" WHERE "createdAt" >= %(since)s OR id = ANY(%(extra)s)')
    ]
    if with_suggestions:
        selects.append(sql.SQL('SELECT "documentId" FROM "Suggestion" WHERE "createdAt" >= %(since)s'))
    return sql.SQL(" UNION ").join(selects)


_CHATS = sql.SQL('SELECT id, "createdAt", title, "userId", visibility FROM "Chat" {where} ORDER BY id')
# Both message tables read with the same columns; the older one has no attachments column.
_MESSAGES = sql.SQL(
    'SELECT id, "chatId", role, {body}::text, {attachments}, "createdAt" FROM {table} {where}'
    ' ORDER BY "chatId", "createdAt", id'
)
_DOCUMENTS = sql.SQL(
    'SELECT id, "createdAt", title, content, "text", "userId" FROM "Document" {where} ORDER BY id, "createdAt"'
)
_SUGGESTIONS = sql.SQL(
    'SELECT id, "documentId", "documentCreatedAt", "originalText", "suggestedText", description, "isResolved",'
    ' "userId", "createdAt" FROM "Suggestion" {where} ORDER BY "documentId", "createdAt", id'
)


def _where(column: str, changed: sql.Composed, *, orphans: bool) -> sql.Composed:
    # Rows of aggregates that changed; with ``orphans`` also new rows whose parent is missing (to report them).
    clause = sql.SQL("WHERE {column} IN ({changed})").format(column=sql.Identifier(column), changed=changed)
    if orphans:
        clause = sql.SQL('{clause} OR "createdAt" >= %(since)s').format(clause=clause)
    return clause


def chats(message_tables: tuple[str, ...], *, since: bool) -> sql.Composed:
    """Chats ordered by id."""
    where = _where("id", _changed_chats(message_tables), orphans=False) if since else sql.SQL("")
    return _CHATS.format(where=where)


def messages(table: str, message_tables: tuple[str, ...], *, since: bool) -> sql.Composed:
    """Messages of one table ordered by chat, time, id (the chat merge-join order)."""
    return _MESSAGES.format(
        table=sql.Identifier(table),
        body=sql.Identifier("parts" if table == "Message_v2" else "content"),
        attachments=sql.SQL('"attachments"::text') if table == "Message_v2" else sql.SQL("NULL::text"),
        where=_where("chatId", _changed_chats(message_tables), orphans=True) if since else sql.SQL(""),
    )


def documents(*, since: bool, with_suggestions: bool) -> sql.Composed:
    """Document versions ordered by id, then time."""
    changed = _changed_documents(with_suggestions=with_suggestions)
    return _DOCUMENTS.format(where=_where("id", changed, orphans=False) if since else sql.SQL(""))


def suggestions(*, since: bool) -> sql.Composed:
    """Suggestions ordered by document, time, id (the document merge-join order)."""
    changed = _changed_documents(with_suggestions=True)
    return _SUGGESTIONS.format(where=_where("documentId", changed, orphans=True) if since else sql.SQL(""))
