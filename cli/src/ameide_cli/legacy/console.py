"""What a person sees: progress bars while importing, the report table, and the closing throughput line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ameide_cli.legacy.importer import Advance
from ameide_cli.legacy.report import Report

TASKS = ("chats", "messages", "documents", "suggestions")


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
            name,
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
                view.add_row(name, outcome, reason, str(count))
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
    view = Table(title="verification against " + str(report.verification.get("through", "?")), show_lines=False)
    for column in ("records", "compared", "equal", "different", "missing", "legacy sha256", "imported sha256"):
        view.add_column(column, justify="left" if column == "records" else "right")
    for name, check in sorted(report.verification.get("checks", {}).items()):
        view.add_row(
            name,
            str(check["compared"]),
            str(check["equal"]),
            str(check["different"]),
            str(check["missing"]),
            check["legacy_sha256"][:12],
            check["imported_sha256"][:12],
        )
    return view
