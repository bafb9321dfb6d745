"""What the acceptance run measured (reported, never asserted): a table at the end and a JSON file.

``AMEIDE_BROWSER_REPORT`` (set by tox.ini) names the JSON file; the table is printed whenever something was measured.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

REPORT_ENV = "AMEIDE_BROWSER_REPORT"


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0..1)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass
class Figure:
    """One measured figure: samples (ms) summarised as p50/p95/max, or a single value with its unit."""

    name: str
    unit: str
    samples: list[float] = dataclasses.field(default_factory=list)
    value: float | None = None
    target: str = ""
    notes: str = ""

    def summary(self) -> dict[str, float]:
        """p50, p95 and max of the samples (empty without samples)."""
        if not self.samples:
            return {}
        return {
            "p50": percentile(self.samples, 0.50),
            "p95": percentile(self.samples, 0.95),
            "max": max(self.samples),
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, the summary included."""
        return {**dataclasses.asdict(self), **self.summary(), "n": len(self.samples)}


FIGURES: list[Figure] = []


def record_samples(name: str, samples: list[float], *, unit: str = "ms", target: str = "", notes: str = "") -> Figure:
    """Add a distribution of samples to the report."""
    figure = Figure(name=name, unit=unit, samples=list(samples), target=target, notes=notes)
    FIGURES.append(figure)
    return figure


def record_value(name: str, value: float, *, unit: str, notes: str = "") -> Figure:
    """Add a single value to the report."""
    figure = Figure(name=name, unit=unit, value=value, notes=notes)
    FIGURES.append(figure)
    return figure


def _number(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(figures: list[Figure]) -> str:
    """A Markdown table of the figures."""
    lines = ["| figure | n | p50 | p95 | max | value | target | notes |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for figure in figures:
        summary = figure.summary()
        cells = [_number(summary[key]) + f" {figure.unit}" if summary else "" for key in ("p50", "p95", "max")]
        value = f"{_number(figure.value)} {figure.unit}" if figure.value is not None else ""
        count = str(len(figure.samples)) if figure.samples else ""
        lines.append(f"| {figure.name} | {count} | {' | '.join(cells)} | {value} | {figure.target} | {figure.notes} |")
    return "\n".join(lines)
