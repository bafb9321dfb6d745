"""The import run: chats (with their messages) first, then documents (with their suggestions), then the rest.

Chats go first because the relations come from their messages: the tool calls found there decide each
document's primary chat, its links and which chat each version was edited from.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ameide_cli.legacy.chats import plan_chat
from ameide_cli.legacy.documents import plan_document
from ameide_cli.legacy.plan import StreamPlan
from ameide_cli.legacy.refs import DocumentRef
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import DocumentRow, MessageRow, SuggestionRow
from ameide_cli.legacy.source import LegacySource, Peekable, of_chat, of_document, on_document
from ameide_cli.legacy.writer import StreamWriter

# Called with (task name, rows done) as rows are processed: drives the progress bars.
Advance = Callable[[str, int], None]
FLUSH_EVENTS = 4000
USERS = "users are identities of the auth system: their ids are kept as owner ids"
VOTES = "the contract has no vote field"
STREAMS = "transient resumable-stream id"
OUT_OF_RANGE = "a timestamp no event can carry (infinity, BC, after year 9999 or NULL)"
PARENT_FAILED = {"Chat": "its chat failed", "Document": "its document failed (no version could be read)"}
TASK = {"Chat": "chats", "Message_v2": "messages", "Message": "messages", "Document": "documents"}


@dataclass(frozen=True, slots=True)
class Context:
    """What one run works with."""

    source: LegacySource
    writer: StreamWriter
    tenant_id: str
    report: Report
    advance: Advance
    # Chats and documents that failed (timestamps out of range): their messages and suggestions fail with them.
    failed: dict[str, set[uuid.UUID]] = field(default_factory=lambda: {"Chat": set(), "Document": set()})


class _Batch:
    """Plans waiting to be written, flushed by size."""

    def __init__(self, writer: StreamWriter) -> None:
        self._writer = writer
        self._plans: list[StreamPlan] = []
        self._events = 0

    async def add(self, plan: StreamPlan) -> None:
        self._plans.append(plan)
        self._events += plan.rows
        if self._events >= FLUSH_EVENTS:
            await self.flush()

    async def flush(self) -> None:
        plans, self._plans, self._events = self._plans, [], 0
        if plans:
            await self._writer.write(plans)


async def run(ctx: Context) -> None:
    """Import everything the source selects."""
    chat_ids = await ctx.source.ids("Chat")
    readable = await ctx.source.ids("Document")
    await _unreadable(ctx, readable)
    documents = readable - chat_ids
    refs = await _chats(ctx, documents)
    await _documents(ctx, refs, chat_ids)
    await _bulk(ctx)


async def _unreadable(ctx: Context, readable_documents: set[uuid.UUID]) -> None:
    """Fail the rows whose timestamps no event can carry; remember the chats and documents that fail whole."""
    for table in ("Chat", "Message_v2", "Message", "Document", "Suggestion"):
        rows = await ctx.source.unreadable(table)
        for row in rows:
            ctx.report.read(table)
            ctx.report.fail(table, row.key, OUT_OF_RANGE)
            if table in ctx.failed:
                ctx.failed[table].add(row.id)
        ctx.advance(TASK.get(table, "suggestions"), len(rows))
    # A document fails whole only when none of its versions can be read.
    ctx.failed["Document"] -= readable_documents


def _orphans(ctx: Context, rows: list[MessageRow]) -> None:
    for row in rows:
        ctx.report.read(row.table)
        key = f"{row.key} (chat {row.chat_id})"
        if row.chat_id in ctx.failed["Chat"]:
            ctx.report.fail(row.table, key, PARENT_FAILED["Chat"])
        else:
            ctx.report.skip(row.table, key, "chat does not exist")
    ctx.advance("messages", len(rows))


async def _chats(ctx: Context, documents: set[uuid.UUID]) -> dict[uuid.UUID, list[DocumentRef]]:
    chats = await ctx.source.chats()
    cursors = [await ctx.source.messages(table) for table in ctx.source.message_tables]
    batch = _Batch(ctx.writer)
    refs: dict[uuid.UUID, list[DocumentRef]] = defaultdict(list)
    async for chat in chats.rest():
        rows: list[MessageRow] = []
        for cursor in cursors:
            _orphans(ctx, await cursor.take_while(of_chat(chat.id, before=True)))
            rows += await cursor.take_while(of_chat(chat.id))
        ctx.report.read("Chat")
        for row in rows:
            ctx.report.read(row.table)
        result = plan_chat(chat, rows, tenant_id=ctx.tenant_id, documents=documents, report=ctx.report)
        for ref in result.refs:
            refs[ref.document_id].append(ref)
        await batch.add(result.plan)
        ctx.advance("chats", 1)
        ctx.advance("messages", len(rows))
    await batch.flush()
    for cursor in cursors:
        _orphans(ctx, [row async for row in cursor.rest()])
    return refs


async def _documents(ctx: Context, refs: dict[uuid.UUID, list[DocumentRef]], chat_ids: set[uuid.UUID]) -> None:
    versions = await ctx.source.documents(sorted(refs))
    suggestions = await ctx.source.suggestions(sorted(refs)) if "Suggestion" in ctx.source.tables else None
    batch = _Batch(ctx.writer)
    while (first := await versions.peek()) is not None:
        rows = await versions.take_while(of_document(first.id))
        mine = await _suggestions_of(ctx, suggestions, first.id)
        ctx.report.read("Document", len(rows))
        ctx.report.read("Suggestion", len(mine))
        ctx.advance("documents", len(rows))
        ctx.advance("suggestions", len(mine))
        if first.id in chat_ids:
            _skip_document(ctx, rows, mine, "document id is also a chat id (one stream per id)")
            continue
        plan = plan_document(rows, mine, refs.get(first.id, []), tenant_id=ctx.tenant_id, report=ctx.report)
        await batch.add(plan)
    await batch.flush()
    if suggestions is not None:
        await _orphan_suggestions(ctx, [row async for row in suggestions.rest()])


async def _suggestions_of(
    ctx: Context, suggestions: Peekable[SuggestionRow] | None, document_id: uuid.UUID
) -> list[SuggestionRow]:
    if suggestions is None:
        return []
    await _orphan_suggestions(ctx, await suggestions.take_while(on_document(document_id, before=True)))
    return await suggestions.take_while(on_document(document_id))


async def _orphan_suggestions(ctx: Context, rows: list[SuggestionRow]) -> None:
    for row in rows:
        ctx.report.read("Suggestion")
        key = f"Suggestion/{row.id} (document {row.document_id})"
        if row.document_id in ctx.failed["Document"]:
            ctx.report.fail("Suggestion", key, PARENT_FAILED["Document"])
        else:
            ctx.report.skip("Suggestion", key, "document does not exist")
    ctx.advance("suggestions", len(rows))


def _skip_document(ctx: Context, rows: list[DocumentRow], suggestions: list[SuggestionRow], reason: str) -> None:
    for row in rows:
        ctx.report.skip("Document", row.key, reason)
    for suggestion in suggestions:
        ctx.report.skip("Suggestion", f"Suggestion/{suggestion.id}", reason)


async def _bulk(ctx: Context) -> None:
    """Tables that are counted and reported, never imported."""
    _bulk_skip(ctx, "User", await ctx.source.count("User"), USERS)
    for table in ("Vote_v2", "Vote"):
        for upvoted, count in sorted((await ctx.source.votes(table)).items()):
            _bulk_skip(ctx, table, count, f"{VOTES} ({'upvote' if upvoted else 'downvote'})")
    _bulk_skip(ctx, "Stream", await ctx.source.count("Stream"), STREAMS)


def _bulk_skip(ctx: Context, table: str, count: int, reason: str) -> None:
    if count:
        ctx.report.read(table, count)
        ctx.report.skip(table, "", reason, count=count, listed=False)
