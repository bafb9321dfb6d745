"""A small table printer shared by the benchmark scenarios: each figure next to its baseline and the ratio."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure, optionally with a baseline measured in the same run.

    Attributes:
        name: What was measured ("ours append 1 stream c=8").
        figure: The value (higher is better unless the unit says otherwise).
        unit: Unit of ``figure`` and ``baseline_figure`` ("tx/s", "events/s", "ms").
        baseline_name: What the figure is compared with, if anything.
        baseline_figure: The baseline's value in the same unit.
        p50_ms: Median latency of one operation, when it applies.
        p95_ms: 95th percentile latency of one operation, when it applies.
        note: Anything the reader needs to interpret the row.
    """

    name: str
    figure: float
    unit: str
    baseline_name: str | None = None
    baseline_figure: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Figure / baseline_figure (None without a usable baseline)."""
        if self.baseline_figure is None or self.baseline_figure == 0 or math.isnan(self.baseline_figure):
            return None
        if math.isnan(self.figure):
            return None
        return self.figure / self.baseline_figure


def _num(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def format_table(rows: Sequence[Row], *, title: str | None = None) -> str:
    """Render rows as a fixed-width text table (stable, diff-friendly, no terminal tricks)."""
    header = ("scenario", "value", "unit", "p50 ms", "p95 ms", "baseline", "baseline value", "ratio", "note")
    cells = [
        (
            row.name,
            _num(row.figure),
            row.unit,
            _num(row.p50_ms, 2),
            _num(row.p95_ms, 2),
            row.baseline_name or "",
            _num(row.baseline_figure),
            "" if row.ratio is None else f"{row.ratio:.2f}x",
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    numeric = {1, 3, 4, 6, 7}

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return " | ".join(parts).rstrip()

    out = [title] if title else []
    out += [line(header), "-+-".join("-" * w for w in widths), *(line(c) for c in cells)]
    return "\n".join(out)


def print_table(rows: Sequence[Row], *, title: str | None = None) -> None:
    """Print ``format_table``."""
    print(format_table(rows, title=title))
