"""The outcome of one ``ameide bench`` run: one table for every scenario, and the JSON written beside the chart.

The table shows each figure, the baseline measured in the same run, their ratio, and the design's target with
whether it is met. Everything here is pure (no timing, no I/O but ``write_json``), so it is unit-tested.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ameide_bench.report import Row
from ameide_bench.targets import Check, check

SCHEMA_VERSION = 1
HEADER = ("area", "figure", "value", "unit", "p50 ms", "p95 ms", "baseline (same run)", "baseline", "ratio",
          "target", "met")  # fmt: skip
NUMERIC = frozenset({2, 4, 5, 7, 8})


@dataclass(slots=True)
class ScenarioResult:
    """The rows of one scenario (or the one-line error that stopped it) and how long it took."""

    name: str
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""


@dataclass(slots=True)
class RunResult:
    """Everything one run measured."""

    quick: bool
    started_at: datetime
    servers: dict[str, str]
    scenarios: list[ScenarioResult] = field(default_factory=list)
    finished_at: datetime | None = None

    def checks(self) -> list[tuple[str, Row, Check]]:
        """Every target check of the run: (scenario, row, check)."""
        return [(s.name, row, c) for s in self.scenarios for row in s.rows for c in check(row, s.rows)]


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "" if value is None else "n/a"
    return f"{value:,.{digits}f}"


def _figure(value: float | None) -> str:
    """A figure with the digits it needs: two below 100 (so a 0.14 ms baseline is not printed as 0), none above."""
    return _num(value, 2 if abs(value or 0) < 100 else 0)


def _met(c: Check) -> str:
    if c.met is None:
        return "n/a"
    return f"yes ({c.actual_text})" if c.met else f"NO ({c.actual_text})"


def table_lines(result: RunResult) -> list[tuple[str, ...]]:
    """The table's cells, one tuple per line; a row's further targets get lines of their own below it."""
    lines: list[tuple[str, ...]] = []
    for scenario in result.scenarios:
        if scenario.error:
            lines.append((scenario.name, f"failed: {scenario.error}", *[""] * (len(HEADER) - 2)))
            continue
        for row in scenario.rows:
            checks = check(row, scenario.rows)
            first = checks[0] if checks else None
            lines.append((
                scenario.name, row.name, _figure(row.figure), row.unit,
                _num(row.p50_ms, 2), _num(row.p95_ms, 2), row.baseline_name or "", _figure(row.baseline_figure),
                "" if row.ratio is None else f"{row.ratio:.2f}x",
                first.target if first else "", _met(first) if first else "",
            ))  # fmt: skip
            lines.extend(("", "", "", "", "", "", "", "", "", c.target, _met(c)) for c in checks[1:])
    return lines


def render_table(result: RunResult) -> str:
    """The table as fixed-width text (stable and diff-friendly; colors are added when printing)."""
    lines = table_lines(result)
    widths = [max(len(line[i]) for line in [HEADER, *lines]) for i in range(len(HEADER))]

    def fmt(values: Sequence[str]) -> str:
        cells = (
            v.rjust(w) if i in NUMERIC else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )
        return " | ".join(cells).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    out = [fmt(HEADER), rule]
    previous = None
    for line in lines:
        if previous is not None and line[0] and line[0] != previous:
            out.append(rule)
        previous = line[0] or previous
        out.append(fmt(line))
    return "\n".join(out)


def summary_line(result: RunResult) -> str:
    """How many targets were met, and which were missed."""
    checks = result.checks()
    measured = [(s, r, c) for s, r, c in checks if c.met is not None]
    missed = [f"{r.name}: {c.target} ({c.actual_text})" for _s, r, c in measured if not c.met]
    text = f"targets met: {len(measured) - len(missed)}/{len(measured)}"
    failed = [s.name for s in result.scenarios if s.error]
    if failed:
        text += f"; scenarios failed: {', '.join(failed)}"
    return text + (f"; missed: {'; '.join(missed)}" if missed else "")


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def _check_json(c: Check) -> dict[str, Any]:
    return {"target": c.target, "quantity": c.quantity, "threshold": c.threshold, "actual": _clean(c.actual),
            "unit": c.unit.strip(), "met": c.met}  # fmt: skip


def _row_json(row: Row, rows: Sequence[Row]) -> dict[str, Any]:
    return {
        "name": row.name, "figure": _clean(row.figure), "unit": row.unit, "p50_ms": _clean(row.p50_ms),
        "p95_ms": _clean(row.p95_ms), "baseline_name": row.baseline_name,
        "baseline_figure": _clean(row.baseline_figure), "ratio": _clean(row.ratio), "note": row.note,
        "checks": [_check_json(c) for c in check(row, rows)],
    }  # fmt: skip


def to_json(result: RunResult) -> dict[str, Any]:
    """A JSON-ready document of the run (NaN becomes null)."""
    checks = [c for _s, _r, c in result.checks() if c.met is not None]
    return {
        "schema_version": SCHEMA_VERSION,
        "mode": "quick" if result.quick else "full",
        "started_at": result.started_at.isoformat(),
        "finished_at": (result.finished_at or datetime.now(UTC)).isoformat(),
        "host": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "servers": result.servers,
        "scenarios": [
            {
                "name": s.name,
                "seconds": round(s.seconds, 2),
                "error": s.error or None,
                "rows": [_row_json(row, s.rows) for row in s.rows],
            }
            for s in result.scenarios
        ],
        "targets": {"measured": len(checks), "met": sum(1 for c in checks if c.met)},
    }


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write ``document`` as indented JSON (strict: no NaN)."""
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
