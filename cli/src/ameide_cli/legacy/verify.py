"""Verification: read the legacy data again and compare every record with what the query side returns.

Checked, per record: chats (title, owner, visibility, creation time), messages (role, every part,
attachments and time, rebuilt into the legacy shape), document versions (title, kind, content, in order),
suggestions (every field), relations (each chat <-> document link with its type) and primary chats. Rows the
import skipped for a reported reason are not expected. The query side may lag the event store: each record is
waited for (bounded) until its view has reached the stream's stored version.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text

from ameide_cli.legacy import canonical, documents
from ameide_cli.legacy.chats import VISIBILITY, choose_messages
from ameide_cli.legacy.checks import Checks
from ameide_cli.legacy.parts import map_message
from ameide_cli.legacy.refs import STRENGTH, DocumentRef, Relation, document_refs
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.rows import ChatRow, DocumentRow, MessageRow, SuggestionRow
from ameide_cli.legacy.source import LegacySource, of_chat, of_document, on_document
from ameide_cli.legacy.store_view import StoreView
from ameide_cli.legacy.text import Notes, fit
from ameide_cli.legacy.views import View
from ameide_command.application.loading import load_stream
from ameide_command.domain.model import ArtifactState
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from ameide_eventstore import EventStore, StreamState

T = TypeVar("T")
POLL_SECONDS = 0.2


def make_view(args: argparse.Namespace, store: EventStore) -> View:
    """The query service when ``--query-target`` is given, else the event store."""
    if not args.query_target:
        return StoreView(store)
    from ameide_cli.legacy.grpc_view import Credentials, GrpcView  # noqa: PLC0415 - gRPC only when asked for

    credentials = Credentials(
        args.tenant, token=args.token, jwt_secret=args.jwt_secret, insecure_headers=args.insecure_headers
    )
    return GrpcView(args.query_target, credentials)


async def run(source: LegacySource, store: EventStore, args: argparse.Namespace, report: Report, out: Console) -> None:
    """Compare and put the result in ``report.verification``."""
    view = make_view(args, store)
    verifier = Verifier(view, store, wait_seconds=float(getattr(args, "wait", 60.0)))
    verifier.partial_refs = source.since is not None
    try:
        with out.status(Text("verifying against " + view.through)):
            refs = await verifier.chats(source)
            await verifier.documents(source, refs)
    finally:
        await view.close()
    report.verification = verifier.checks.summary(view.through)


async def _shown_version(store: EventStore, head: StreamState) -> int:
    """The version a view shows once it reflects the stream: an artifact's counts content/metadata changes only."""
    if head.stream_type == "chat":
        return head.version
    folded = await load_stream(store, head)
    return folded.content_version if isinstance(folded, ArtifactState) else head.version


class Verifier:
    """Compares legacy records with a view."""

    def __init__(self, view: View, store: EventStore, *, wait_seconds: float) -> None:
        self.view = view
        self.store = store
        self.wait = wait_seconds
        self.checks = Checks()
        self.partial_refs = False

    async def _when_projected(self, stream_id: uuid.UUID, read: Callable[[], Awaitable[T | None]]) -> T | None:
        """``read()`` once it reflects the stream's stored version (or the last try when time runs out)."""
        heads = await self.store.load_states([stream_id])
        version = await _shown_version(self.store, heads[stream_id]) if stream_id in heads else 0
        deadline = time.monotonic() + self.wait
        while True:
            found = await read()
            if found is not None and getattr(found, "version", 0) >= version:
                return found
            if version == 0 or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(POLL_SECONDS)

    async def chats(self, source: LegacySource) -> dict[uuid.UUID, list[DocumentRef]]:
        """Check chats and messages; return the document references their messages hold."""
        chat_cursor = await source.chats()
        cursors = [await source.messages(table) for table in source.message_tables]
        documents = await source.ids("Document") - await source.ids("Chat")
        refs: dict[uuid.UUID, list[DocumentRef]] = {}
        async for chat in chat_cursor.rest():
            rows: list[MessageRow] = []
            for cursor in cursors:
                await cursor.take_while(of_chat(chat.id, before=True))
                rows += await cursor.take_while(of_chat(chat.id))
            chosen = choose_messages(chat.id, rows, Report())
            await self._chat(chat, chosen)
            for row in chosen:
                found = document_refs(
                    map_message(row).parsed, chat_id=chat.id, message_id=row.id, at=row.created_at, user_id=""
                )
                for ref in found:
                    if ref.document_id in documents:
                        refs.setdefault(ref.document_id, []).append(ref)
        return refs

    async def _chat(self, chat: ChatRow, rows: list[MessageRow]) -> None:
        owner = str(chat.user_id)
        expected = {
            "title": fit(chat.title),
            "owner": owner,
            "visibility": int(VISIBILITY.get(chat.visibility.strip().lower(), types_pb2.CHAT_VISIBILITY_PRIVATE)),
            "at": canonical.micros(chat.created_at),
        }
        got = await self._when_projected(chat.id, lambda: self.view.chat(chat.id, owner))
        actual = None
        if got is not None:
            actual = {
                "title": got.title,
                "owner": got.user_id,
                "visibility": int(got.visibility),
                "at": canonical.micros(got.created_at.ToDatetime(tzinfo=dt.UTC)),
            }
        self.checks["chats"].add(str(chat.id), expected, actual)
        imported = {message.id: message for message in await self.view.messages(chat.id, owner)}
        for row in rows:
            message = imported.get(str(row.id))
            form = canonical.imported_message(message, row.table) if message is not None else None
            self.checks["messages"].add(row.key, canonical.legacy_message(row), form)

    async def documents(self, source: LegacySource, refs: dict[uuid.UUID, list[DocumentRef]]) -> None:
        """Check document versions, suggestions, links and primary chats."""
        chat_ids = await source.ids("Chat")
        versions = await source.documents(sorted(refs))
        suggestions = await source.suggestions(sorted(refs)) if "Suggestion" in source.tables else None
        while (first := await versions.peek()) is not None:
            rows = await versions.take_while(of_document(first.id))
            mine: list[SuggestionRow] = []
            if suggestions is not None:
                await suggestions.take_while(on_document(first.id, before=True))
                mine = await suggestions.take_while(on_document(first.id))
            if first.id not in chat_ids:
                await self._document(rows, mine, refs.get(first.id, []))

    async def _document(
        self, rows: list[DocumentRow], suggestions: list[SuggestionRow], refs: list[DocumentRef]
    ) -> None:
        first = rows[0]
        owner = str(first.user_id)
        view = await self._when_projected(first.id, lambda: self.view.artifact(first.id, owner))
        imported = list(await self.view.versions(first.id, owner)) if view is not None else []
        # The documented normalisations are expected: the text policy, the first version's kind for every version.
        fitted = [documents.fit_version(row, Notes()) for row in rows]
        for index, row in enumerate(fitted):
            expected = {"title": row.title, "kind": fitted[0].kind, "content": row.content or ""}
            got = imported[index] if index < len(imported) else None
            actual = (
                None
                if got is None
                else {"title": got.title, "kind": got.kind, "content": documents.legacy_text(got.content)}
            )
            self.checks["document versions"].add(row.key, expected, actual)
        annotations = (
            {a.data.get("suggestion_id", ""): a for a in await self.view.annotations(first.id, owner)} if view else {}
        )
        for suggestion in suggestions:
            found = annotations.get(str(suggestion.id))
            fitted_suggestion = documents.fit_suggestion(suggestion, Notes())
            expected_data: dict[str, Any] = {"type": "suggestion", **documents.suggestion_data(fitted_suggestion)}
            actual_data = None if found is None else {"type": found.annotation_type, **found.data}
            self.checks["suggestions"].add(f"Suggestion/{suggestion.id}", expected_data, actual_data)
        self._links(first, view, refs)

    def _links(self, first: DocumentRow, view: Any, refs: list[DocumentRef]) -> None:  # noqa: ANN401 - ArtifactView
        strongest: dict[str, Relation] = {}
        for ref in refs:
            known = strongest.get(str(ref.chat_id))
            if known is None or STRENGTH[ref.relation] > STRENGTH[known]:
                strongest[str(ref.chat_id)] = ref.relation
        linked = {} if view is None else {link.threads_id: int(link.relation_type) for link in view.threads_refs}
        for chat_id, relation in sorted(strongest.items()):
            self.checks["relations"].add(f"{chat_id}->{first.id}", int(relation), linked.get(chat_id))
        creators = sorted(
            (r for r in refs if r.relation == types_pb2.RELATION_TYPE_CREATED), key=lambda r: (r.at, r.chat_id)
        )
        if self.partial_refs and not creators:
            return  # a --since run reads only changed chats: the creating chat may not be among them
        expected_primary = str(creators[0].chat_id) if creators else ""
        self.checks["primary chats"].add(
            str(first.id), expected_primary, None if view is None else view.primary_threads_id
        )
