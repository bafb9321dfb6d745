"""``ameide bench [names...] [--quick] [--database-url URL] [--redis-url URL] [--output DIR]``.

Runs every scenario (or the named ones) on one PostgreSQL and one Redis: ``--database-url``/``--redis-url``, else
``AMEIDE_DATABASE_URL``/``AMEIDE_REDIS_URL``, else embedded servers started for the run. Each scenario works in a
scratch database of its own on that server (created, migrated to head, dropped afterwards), and measures its
baselines in the same run. Prints one table (figure, baseline, ratio, the design's target and whether it is met)
and writes ``bench-<mode>-<UTC time>.{json,png,txt}`` plus ``latest.{json,png,txt}`` under ``--output``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import grpc.aio
import psycopg
import redis
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from ameide_bench import plot, summary
from ameide_bench.report import Row
from ameide_cli.errors import CliError, first_line, redact
from ameide_pg.urls import libpq_url


@dataclass(frozen=True, slots=True)
class Scenario:
    """A benchmark module (``ameide_bench.<name>.run``) and how long it usually takes here (quick, full)."""

    title: str
    seconds: tuple[float, float]
    uses_redis: bool = True


SCENARIOS: dict[str, Scenario] = {
    "eventstore": Scenario(
        "event store: append vs raw SQL vs eventsourcing, outbox drain", (12, 100), uses_redis=False
    ),
    "command": Scenario("command RPCs vs a bare gRPC echo", (12, 60)),
    "query": Scenario("query RPCs vs their floor and raw SQL", (12, 150)),
    # On a primary and replica of its own (embedded binaries), whatever --database-url says.
    "replica": Scenario("query RPCs on a streaming replica vs its primary", (25, 120)),
    "projector": Scenario("projector vs raw INSERT", (8, 30)),
    "capacity": Scenario("command deployable at 1-3 processes vs the capacity model", (30, 90)),
    "streams": Scenario("commit -> subscriber propagation", (15, 70)),
    "live": Scenario("presence and draft signals -> subscriber, 50 concurrent drafts", (25, 80)),
    "screening": Scenario("stream updates screened per subscriber vs unscreened / per-subscriber reads", (6, 15)),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``ameide bench`` argument parser."""
    parser = _Parser(prog="ameide bench", description="Run the benchmark scenarios; print and save the results.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"scenarios to run (default: all of {', '.join(SCENARIOS)})"
    )
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke run (small data, short cells)")
    parser.add_argument("--database-url", help="a PostgreSQL server (any database on it; default AMEIDE_DATABASE_URL)")
    parser.add_argument("--redis-url", help="a Redis server (default AMEIDE_REDIS_URL)")
    parser.add_argument("--output", type=Path, default=Path("bench/results"), help="results folder (bench/results)")
    return parser


@contextlib.contextmanager
def stores(database_url: str, redis_url: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The server URLs to use (embedded servers when a URL is empty) and how each was provided."""
    with contextlib.ExitStack() as stack:
        kinds = {
            "postgres": "external" if database_url else "embedded",
            "redis": "external" if redis_url else "embedded",
        }
        if not database_url or not redis_url:
            from ameide_cli.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: PLC0415 - only when needed

            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ameide-bench-")))
            if not database_url:
                database_url = stack.enter_context(EmbeddedPostgres(scratch / "postgres")).url("postgres")
            if not redis_url:
                redis_url = stack.enter_context(EmbeddedRedis(scratch / "redis")).url
        _check_reachable(database_url, redis_url)
        yield database_url, redis_url, kinds


def _check_reachable(database_url: str, redis_url: str) -> None:
    libpq = libpq_url(database_url)
    try:
        psycopg.connect(libpq, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise CliError(f"cannot reach PostgreSQL at {redact(libpq)}: {first_line(exc)}") from None
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise CliError(f"cannot reach Redis at {redis_url}: {first_line(exc)}") from None
    finally:
        client.close()


async def _run_scenario(name: str, database_url: str, redis_url: str, *, quick: bool) -> list[Row]:
    module = importlib.import_module(f"ameide_bench.{name}")
    if SCENARIOS[name].uses_redis:
        rows: list[Row] = await module.run(database_url, redis_url, quick=quick)
    else:
        rows = await module.run(database_url, quick=quick)
    return rows


def describe_error(exc: BaseException) -> str:
    """One line for a failed scenario (a gRPC error's own first line is only "<AioRpcError of RPC ...")."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{type(exc).__name__} {exc.code().name}: {first_line(Exception(exc.details() or ''))}"
    return f"{type(exc).__name__}: {first_line(exc)}"


class _Ticker:
    """Advances a scenario's bar along its usual duration (the scenarios report no progress themselves)."""

    def __init__(self, progress: Progress, task: TaskID, expected: float) -> None:
        self._progress, self._task, self._expected = progress, task, expected
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(0.25):
            share = min(0.99, (time.monotonic() - started) / self._expected)
            self._progress.update(self._task, completed=share * 100)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._progress.update(self._task, completed=100)


async def run_all(names: Sequence[str], result: summary.RunResult, database_url: str, redis_url: str) -> None:
    """Run the scenarios one after another with progress bars; a failing scenario is recorded, not fatal."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        overall = progress.add_task(f"ameide bench ({len(names)} scenarios)", total=len(names))
        for name in names:
            scenario = SCENARIOS[name]
            task = progress.add_task(f"  {name}: {scenario.title}", total=100)
            outcome = summary.ScenarioResult(name)
            started = time.monotonic()
            with _Ticker(progress, task, scenario.seconds[0 if result.quick else 1]):
                try:
                    outcome.rows = await _run_scenario(name, database_url, redis_url, quick=result.quick)
                except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' figures
                    outcome.error = describe_error(exc)
            outcome.seconds = time.monotonic() - started
            result.scenarios.append(outcome)
            status = f"failed: {outcome.error}" if outcome.error else f"{len(outcome.rows)} figures"
            progress.console.print(f"{'✘' if outcome.error else '✔'} {name} in {outcome.seconds:.0f}s: {status}")
            progress.remove_task(task)
            progress.advance(overall)


def print_results(result: summary.RunResult, console: Console) -> None:
    """The table (met targets green, missed red) and the summary line."""
    mode = "quick" if result.quick else "full"
    console.print(
        Text(f"ameide bench ({mode}), {os.cpu_count()} CPUs, {result.started_at:%Y-%m-%d %H:%M} UTC", style="bold")
    )
    for line in summary.render_table(result).splitlines():
        text = Text(line)
        text.highlight_regex(r"\byes \([^)]*\)", "green")
        text.highlight_regex(r"\bNO \([^)]*\)|failed: .*", "bold red")
        console.print(text)
    console.print(summary.summary_line(result))


def write_results(result: summary.RunResult, output: Path, console: Console) -> list[Path]:
    """JSON, text table and PNG chart, timestamped and as ``latest.*``; the written paths."""
    output.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{'quick' if result.quick else 'full'}-{result.started_at:%Y%m%dT%H%M%SZ}"
    document = summary.to_json(result)
    written = [output / f"{stem}.json", output / f"{stem}.txt"]
    summary.write_json(document, written[0])
    written[1].write_text(summary.render_table(result) + "\n" + summary.summary_line(result) + "\n", encoding="utf-8")
    try:
        plot.write_chart(document, output / f"{stem}.png")
        written.append(output / f"{stem}.png")
    except plot.PlotUnavailableError as exc:
        console.print(Text(str(exc), style="yellow"))
    for path in list(written):
        latest = output / f"latest{path.suffix}"
        shutil.copyfile(path, latest)
        written.append(latest)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ameide bench`` (also ``python -m ameide_bench.cli``)."""
    args = build_parser().parse_args(argv)
    unknown = [name for name in args.names if name not in SCENARIOS]
    if unknown:
        build_parser().error(f"unknown scenario {', '.join(unknown)} (choose from {', '.join(SCENARIOS)})")
    names = list(dict.fromkeys(args.names)) or list(SCENARIOS)
    database_url = args.database_url or os.environ.get("AMEIDE_DATABASE_URL", "")
    redis_url = args.redis_url or os.environ.get("AMEIDE_REDIS_URL", "")
    console = Console(highlight=False, soft_wrap=True)
    with stores(database_url, redis_url) as (database_url, redis_url, kinds):
        result = summary.RunResult(quick=args.quick, started_at=datetime.now(UTC), servers=kinds)
        asyncio.run(run_all(names, result, database_url, redis_url))
        result.finished_at = datetime.now(UTC)
    print_results(result, console)
    for path in write_results(result, args.output, console):
        console.print(f"wrote {path}", style="dim")
    return 1 if any(s.error for s in result.scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
