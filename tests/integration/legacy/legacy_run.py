"""Running ``ameide import-legacy`` in tests and reading what it stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg

from ameide_cli.legacy.cli import main

TENANT = "tenant-legacy"


def run_import(source: str, target: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Run the command in-process; return its exit status and JSON report."""
    report = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    status = main(
        ["--source", source, "--tenant", TENANT, "--database-url", target, "--quiet", "--report", str(report), *extra]
    )
    return status, json.loads(report.read_text())


def stored(target: str) -> list[tuple[Any, ...]]:
    """Every stored event: (stream id, stream type, version, event id, type, payload, metadata, position)."""
    with psycopg.connect(target) as conn:
        return conn.execute(
            "SELECT stream_id, stream_type, version, event_id, event_type, payload, metadata, global_position"
            " FROM es_events ORDER BY global_position"
        ).fetchall()


def tables(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's per-table section."""
    result: dict[str, dict[str, Any]] = report["tables"]
    return result
