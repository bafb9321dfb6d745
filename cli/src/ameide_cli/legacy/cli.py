"""``ameide import-legacy``: arguments, the run, the report and the exit status.

Exit status: 0 = every row read is imported or skipped for a documented reason, and verification (if run) found
no difference; 1 = a row failed or verification found a difference (data would be lost); 2 = bad arguments;
3 = a database could not be reached (the run is resumable: run the same command again).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
from rich.console import Console
from sqlalchemy.ext.asyncio import create_async_engine

from ameide_cli.legacy import console, importer, verify
from ameide_cli.legacy.report import Report
from ameide_cli.legacy.source import LegacySource
from ameide_cli.legacy.text import fit
from ameide_cli.legacy.writer import AfterAppend, StreamWriter
from ameide_eventstore import TransientStoreError
from ameide_eventstore.postgres import PostgresEventStore
from ameide_pg.urls import sqlalchemy_url

EXIT_LOSS, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="ameide import-legacy",
        description="Import the legacy chat database (Vercel ai-chatbot schema) through the event store.",
    )
    parser.add_argument("--source", required=True, type=_text, help="legacy database URL (postgresql://...), read only")
    parser.add_argument(
        "--tenant", required=True, type=_tenant, help="tenant id every imported chat and artifact belongs to"
    )
    parser.add_argument(
        "--database-url", default="", type=_text, help="event store database (default: AMEIDE_DATABASE_URL)"
    )
    parser.add_argument("--dry-run", action="store_true", help="read and map everything, write nothing")
    parser.add_argument("--since", type=_timestamp, help="only rows created at or after this time (ISO 8601, UTC)")
    parser.add_argument("--verify", action="store_true", help="only verify an earlier import (imports nothing)")
    parser.add_argument("--no-verify", action="store_true", help="skip the verification after importing")
    parser.add_argument("--query-target", default="", type=_text, help="query service host:port to verify through")
    parser.add_argument(
        "--token", default="", type=_text, help="bearer token for the query service (one caller for all reads)"
    )
    parser.add_argument(
        "--jwt-secret",
        default="",
        type=_text,
        help="HS256 secret to mint a token per owner (default: AMEIDE_JWT_SECRET)",
    )
    parser.add_argument("--insecure-headers", action="store_true", help="identify as each owner by x-user-id headers")
    parser.add_argument("--report", type=Path, help="also write the full report as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _text(text: str) -> str:
    # Arguments that are not UTF-8 reach Python as lone surrogates; no URL, id or token can hold them (nor NUL).
    if fit(text) != text:
        raise argparse.ArgumentTypeError(f"must be valid UTF-8 without NUL characters: {text!r}")
    return text


def _tenant(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return _text(text)


def _timestamp(text: str) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 timestamp: {text!r}") from exc
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    args.database_url = args.database_url or os.environ.get("AMEIDE_DATABASE_URL", "")
    args.jwt_secret = args.jwt_secret or os.environ.get("AMEIDE_JWT_SECRET", "")
    out = console.open_console()
    if not args.database_url:
        out.print("ameide import-legacy: --database-url or AMEIDE_DATABASE_URL is required")
        return EXIT_USAGE
    try:
        report = asyncio.run(run(args, out))
    except (TransientStoreError, psycopg.OperationalError) as exc:
        message = f"ameide import-legacy: a database is unreachable ({exc}); the import is resumable: run it again"
        out.print(message, markup=False, highlight=False)
        return EXIT_UNREACHABLE
    return EXIT_LOSS if report.failures or report.verification.get("differences") else 0


async def run(args: argparse.Namespace, out: Console) -> Report:
    """Import (unless ``--verify``), then verify (unless ``--no-verify`` or a dry run); print the report."""
    report = Report()
    started = time.perf_counter()
    engine = create_async_engine(sqlalchemy_url(args.database_url), pool_size=4)
    store = PostgresEventStore(engine)
    try:
        async with LegacySource.open(args.source, since=args.since) as source:
            if not args.verify:
                totals = await _totals(source)
                writer = StreamWriter(
                    store,
                    tenant_id=args.tenant,
                    report=report,
                    dry_run=args.dry_run,
                    incremental=args.since is not None,
                    after_append=_pause_hook(os.environ.get("AMEIDE_LEGACY_TEST_PAUSE", "")),
                )
                with console.progress(out, totals, enabled=not args.quiet) as advance:
                    await importer.run(importer.Context(source, writer, args.tenant, report, advance))
            report.seconds = time.perf_counter() - started
            if args.verify or not (args.no_verify or args.dry_run):
                await verify.run(source, store, args, report, out)
    finally:
        await engine.dispose()
    _print(report, args, out)
    return report


def _pause_hook(spec: str) -> AfterAppend | None:
    """Test seam ("N:path"): once N events are appended, touch ``path`` and wait forever (to be killed there).

    Lets a test SIGKILL a real import at a known point instead of racing it with a timer.
    """
    if not spec:
        return None
    count, _, marker = spec.partition(":")

    async def pause(appended: int) -> None:
        if appended >= int(count):
            await asyncio.to_thread(Path(marker).touch)
            await asyncio.Event().wait()

    return pause


async def _totals(source: LegacySource) -> dict[str, int | None]:
    if source.since is not None:
        return dict.fromkeys(console.TASKS)
    messages = sum([await source.count(table) for table in source.message_tables])
    return {
        "chats": await source.count("Chat"),
        "messages": messages,
        "documents": await source.count("Document"),
        "suggestions": await source.count("Suggestion"),
    }


def _print(report: Report, args: argparse.Namespace, out: Console) -> None:
    if not args.verify:
        out.print(console.table(report))
        out.print(console.reasons(report))
    if report.verification:
        out.print(console.verification(report))
    if args.report is not None:
        # ASCII JSON: every code point of the legacy text it quotes is escaped, so any string can be written.
        args.report.write_text(json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=True), "utf-8")
    if not args.verify:
        out.print(console.closing_line(report, dry_run=args.dry_run))
