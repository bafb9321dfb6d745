"""The SQL the importer runs on the legacy database: reads only, prebuilt once.

Each reading statement has an "all rows" form and a ``--since`` form. The ``--since`` form selects whole
aggregates that changed: every chat with a row at or after ``since`` (the chat itself or one of its messages), with
all of its messages, and every document with a version or a suggestion at or after ``since`` (or named in
``extra``: documents that newly imported tool calls touched), with all of its versions and suggestions.
Whole aggregates let the importer recompute each stream's events exactly as a full run would.

Rows are read only when their timestamps can be carried by an event: years 1 to 9999 (Python's datetime and
protobuf's Timestamp). PostgreSQL also stores 'infinity', '-infinity', BC dates and later years (and a column
without its NOT NULL constraint may hold NULL); ``UNREADABLE`` lists those rows, which fail.
"""

from __future__ import annotations

from psycopg import sql

# Tables are quoted identifiers: the legacy schema (Drizzle) uses camelCase names.
TABLES = ("User", "Chat", "Message_v2", "Message", "Vote_v2", "Vote", "Document", "Suggestion", "Stream")

TABLE_EXISTS = sql.SQL("SELECT to_regclass(%s) IS NOT NULL")


def count(table: str) -> sql.Composed:
    """Number of rows of ``table``."""
    return sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))


# The timestamp columns of each table read: a row is read when every one is in range.
TIMESTAMPS = {
    "Chat": ("createdAt",),
    "Message_v2": ("createdAt",),
    "Message": ("createdAt",),
    "Document": ("createdAt",),
    "Suggestion": ("createdAt", "documentCreatedAt"),
}


def _in_range(table: str) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{column} >= '0001-01-01' AND {column} < '10000-01-01'").format(column=sql.Identifier(column))
        for column in TIMESTAMPS[table]
    )


def _out_of_range(table: str) -> sql.Composed:
    # With the timestamps as text: what the report lists for each row no event can carry.
    shown = sql.SQL(", ").join(
        sql.SQL("coalesce({}::text, 'NULL')").format(sql.Identifier(column)) for column in TIMESTAMPS[table]
    )
    return sql.SQL("SELECT id, concat_ws(' / ', {shown}) FROM {table} WHERE NOT coalesce({ok}, false)").format(
        shown=shown, table=sql.Identifier(table), ok=_in_range(table)
    )


# Rows whose timestamps no event can carry: (id, the timestamps as text).
UNREADABLE = {table: _out_of_range(table) for table in TIMESTAMPS}

IDS: dict[str, sql.SQL | sql.Composed] = {
    "Chat": sql.SQL('SELECT id FROM "Chat"'),
    "Document": sql.SQL('SELECT DISTINCT id FROM "Document" WHERE {}').format(_in_range("Document")),
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


def _where(table: str, column: str, changed: sql.Composed | None, *, orphans: bool) -> sql.Composed:
    """The rows of ``table`` an event can carry.

    With ``changed`` (a --since run) only those of aggregates that changed, and with ``orphans`` also new rows whose
    parent is missing (to report them).
    """
    in_range = _in_range(table)
    if changed is None:
        return sql.SQL("WHERE {}").format(in_range)
    clause = sql.SQL("{column} IN ({changed})").format(column=sql.Identifier(column), changed=changed)
    if orphans:
        clause = sql.SQL('{clause} OR "createdAt" >= %(since)s').format(clause=clause)
    return sql.SQL("WHERE {in_range} AND ({clause})").format(in_range=in_range, clause=clause)


def chats(message_tables: tuple[str, ...], *, since: bool) -> sql.Composed:
    """Chats ordered by id."""
    return _CHATS.format(where=_where("Chat", "id", _changed_chats(message_tables) if since else None, orphans=False))


def messages(table: str, message_tables: tuple[str, ...], *, since: bool) -> sql.Composed:
    """Messages of one table ordered by chat, time, id (the chat merge-join order)."""
    changed = _changed_chats(message_tables) if since else None
    return _MESSAGES.format(
        table=sql.Identifier(table),
        body=sql.Identifier("parts" if table == "Message_v2" else "content"),
        attachments=sql.SQL('"attachments"::text') if table == "Message_v2" else sql.SQL("NULL::text"),
        where=_where(table, "chatId", changed, orphans=True),
    )


def documents(*, since: bool, with_suggestions: bool) -> sql.Composed:
    """Document versions ordered by id, then time."""
    changed = _changed_documents(with_suggestions=with_suggestions) if since else None
    return _DOCUMENTS.format(where=_where("Document", "id", changed, orphans=False))


def suggestions(*, since: bool) -> sql.Composed:
    """Suggestions ordered by document, time, id (the document merge-join order)."""
    changed = _changed_documents(with_suggestions=True) if since else None
    return _SUGGESTIONS.format(where=_where("Suggestion", "documentId", changed, orphans=True))
