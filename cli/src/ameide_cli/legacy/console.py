"""What a person sees: progress bars while importing, the report table, and the closing throughput line.

Legacy text reaches the console (reasons name the legacy roles, kinds and visibilities, errors quote the
databases): it is never read as markup, and what the terminal's encoding cannot show (a lone surrogate on any
terminal, non-ASCII text on an ASCII one) is written as a backslash escape instead of failing the run.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ameide_cli.legacy.importer import Advance
from ameide_cli.legacy.report import Report

TASKS = ("chats", "messages", "documents", "suggestions")


class EscapingStream(io.TextIOBase):
    """A text stream that writes what its encoding cannot encode as backslash escapes."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    @property
    def encoding(self) -> str:  # type: ignore[override] # read-only here, as on sys.stdout
        """The wrapped stream's encoding (rich draws ASCII boxes when it is not UTF-8)."""
        return self._encoding

    def write(self, text: str) -> int:
        """Write ``text``, escaping what cannot be encoded."""
        self._stream.write(text.encode(self._encoding, "backslashreplace").decode(self._encoding))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal (progress bars only on one)."""
        return self._stream.isatty()


def open_console(stream: IO[str] | None = None) -> Console:
    """The command's console on ``stream`` (default: standard output)."""
    return Console(file=cast("IO[str]", EscapingStream(stream or sys.stdout)))


@contextmanager
def progress(console: Console, totals: Mapping[str, int | None], *, enabled: bool) -> Iterator[Advance]:
    """Progress bars for the row groups of ``totals``; yields the callback that advances them."""
    if not enabled:
        yield lambda _task, _count: None
        return
    columns = (
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        ids: dict[str, TaskID] = {name: bars.add_task(name, total=totals.get(name)) for name in TASKS}

        def advance(task: str, count: int) -> None:
            if count:
                bars.advance(ids[task], count)

        yield advance


def table(report: Report) -> Table:
    """The per-table report."""
    view = Table(title="legacy import", show_lines=False)
    for column in ("table", "read", "imported", "of which now", "normalised", "skipped", "failed"):
        view.add_column(column, justify="left" if column == "table" else "right")
    for name, stats in sorted(report.tables.items()):
        view.add_row(
            Text(name),
            str(stats.read),
            str(stats.imported),
            str(stats.appended),
            str(sum(stats.normalised.values())),
            str(sum(stats.skipped.values())),
            str(sum(stats.failed.values())),
        )
    return view


def reasons(report: Report) -> Table:
    """Why rows were skipped, normalised or failed, with counts."""
    view = Table(title="reasons", show_lines=False)
    for column in ("table", "outcome", "reason", "rows"):
        view.add_column(column, justify="right" if column == "rows" else "left")
    for name, stats in sorted(report.tables.items()):
        for outcome, counter in (
            ("skipped", stats.skipped),
            ("normalised", stats.normalised),
            ("failed", stats.failed),
        ):
            for reason, count in sorted(counter.items()):
                view.add_row(Text(name), outcome, Text(reason), str(count))
    return view


def closing_line(report: Report, *, dry_run: bool) -> str:
    """The last line: rows, time and throughput."""
    rate = report.rows_read / report.seconds if report.seconds > 0 else 0.0
    verb = "checked (dry run)" if dry_run else "imported"
    appended = sum(stats.appended for stats in report.tables.values())
    return (
        f"{verb} {report.rows_read} legacy rows ({appended} new events) in {report.seconds:.1f} s: {rate:,.0f} rows/s"
    )


def verification(report: Report) -> Table:
    """The checksum comparison: per kind of record, compared, equal, different, missing."""
    view = Table(title=Text("verification against " + str(report.verification.get("through", "?"))), show_lines=False)
    for column in ("records", "compared", "equal", "different", "missing", "legacy sha256", "imported sha256"):
        view.add_column(column, justify="left" if column == "records" else "right")
    for name, check in sorted(report.verification.get("checks", {}).items()):
        view.add_row(
            Text(name),
            str(check["compared"]),
            str(check["equal"]),
            str(check["different"]),
            str(check["missing"]),
            check["legacy_sha256"][:12],
            check["imported_sha256"][:12],
        )
    return view
