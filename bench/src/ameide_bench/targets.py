"""The performance targets of the design (section 10), checked against the rows of one benchmark run.

Each target names the rows it applies to (by the row's name and, where a figure appears with several baselines,
by the baseline's name) and the quantity it bounds: the figure, the ratio to the baseline, the p95 latency, or
the p95 latency relative to the baseline row's p95.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ameide_bench.report import Row

Quantity = Callable[[Row, Sequence[Row]], "float | None"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le, ">=": operator.ge}


def figure(row: Row, _rows: Sequence[Row]) -> float | None:
    """The row's own figure."""
    return row.figure


def ratio(row: Row, _rows: Sequence[Row]) -> float | None:
    """Figure / baseline figure."""
    return row.ratio


def p95(row: Row, _rows: Sequence[Row]) -> float | None:
    """The row's p95 latency in ms."""
    return row.p95_ms


def baseline_row(row: Row, rows: Sequence[Row]) -> Row | None:
    """The row that measured ``row``'s baseline ("raw SQL GetMessages" is measured as "raw SQL GetMessages c=8")."""
    if not row.baseline_name:
        return None
    for candidate in rows:
        if candidate is not row and candidate.name == row.baseline_name:
            return candidate
    prefix = f"{row.baseline_name} "
    return next((c for c in rows if c is not row and c.name.startswith(prefix)), None)


def p95_ratio(row: Row, rows: Sequence[Row]) -> float | None:
    """The row's p95 / its baseline row's p95."""
    base = baseline_row(row, rows)
    if row.p95_ms is None or base is None or not base.p95_ms:
        return None
    return row.p95_ms / base.p95_ms


@dataclass(frozen=True, slots=True)
class Target:
    """One bound on one quantity of the rows it applies to."""

    label: str
    name: str
    quantity: Quantity
    op: str
    threshold: float
    unit: str = ""
    baseline: str = ""

    def applies_to(self, row: Row) -> bool:
        """Whether ``row`` is one this target bounds."""
        if re.fullmatch(self.name, row.name) is None:
            return False
        return not self.baseline or re.fullmatch(self.baseline, row.baseline_name or "") is not None


@dataclass(frozen=True, slots=True)
class Check:
    """A target applied to a row: the measured value and whether it meets the target (None: not measured).

    ``quantity`` names what was bounded: "figure", "ratio", "p95" or "p95_ratio".
    """

    target: str
    quantity: str
    threshold: float
    actual: float | None
    unit: str
    met: bool | None

    @property
    def actual_text(self) -> str:
        """The measured value with its unit."""
        if self.actual is None:
            return "n/a"
        if self.unit == "x":
            return f"{self.actual:.2f}x"
        return f"{self.actual:,.1f}{self.unit}" if self.actual < 1000 else f"{self.actual:,.0f}{self.unit}"


# design.md section 10: each figure against a baseline measured in the same run, above all the floor (a bare
# grpc.aio server on this stack doing only the RPC's own statements).
_FLOOR = r"floor: .*"
TARGETS: tuple[Target, ...] = (
    Target(">= 0.9x floor rps", r"SendMessage(\+key)? c=8", ratio, ">=", 0.9, "x", baseline=_FLOOR),
    Target("p95 <= 1.2x floor p95", r"SendMessage(\+key)? c=8", p95_ratio, "<=", 1.2, "x", baseline=_FLOOR),
    Target(">= 1.2x floor rps (group commit)", r"SendMessage\+key c=32", ratio, ">=", 1.2, "x", baseline=_FLOOR),
    Target("<= +0.2 ms", r"group commit: added p50 at c=1", figure, "<=", 0.2, " ms"),
    Target(">= 2x eventsourcing", r"ours 1 stream c=(8|32)", ratio, ">=", 2.0, "x", baseline=r"eventsourcing.*"),
    Target("p95 < 10 ms", r"Ensure \(new chat\), one hot artifact c=8", p95, "<", 10.0, " ms"),
    Target("p95 < 10 ms", r"commit->subscriber, 100 subscribers.*", p95, "<", 10.0, " ms"),
    Target(
        "p95 < 20 ms", r"(commit->subscriber, (?!100 subscribers)|SendMessage->subscriber).*", p95, "<", 20.0, " ms"
    ),
    Target("p95 < 20 ms", r"(presence change|draft delta)->subscriber.*", p95, "<", 20.0, " ms"),
    Target("p95 <= 1.2x floor p95", r"gRPC (GetMessages|ListChats) c=\d+", p95_ratio, "<=", 1.2, "x", baseline=_FLOOR),
    Target("p95 <= 1.5x floor p95", r"gRPC SearchChats c=\d+", p95_ratio, "<=", 1.5, "x", baseline=_FLOOR),
    Target(">= 10,000 events/s", r"projector \(.*", figure, ">=", 10000.0, " ev/s"),
)


def check(row: Row, rows: Sequence[Row], targets: Sequence[Target] = TARGETS) -> list[Check]:
    """Every target that applies to ``row``, evaluated (``rows``: the row's scenario, for baseline lookups)."""
    checks = []
    for target in targets:
        if not target.applies_to(row):
            continue
        value = target.quantity(row, rows)
        if value is not None and math.isnan(value):
            value = None
        met = None if value is None else _COMPARE[target.op](value, target.threshold)
        checks.append(Check(target.label, target.quantity.__name__, target.threshold, value, target.unit, met))
    return checks
