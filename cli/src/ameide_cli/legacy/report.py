"""The import report: per legacy table, rows read, imported (now or by an earlier run), normalised, skipped.

Every row read ends up in exactly one of imported, skipped or failed; ``unaccounted`` says if one did not.
Skipped and failed rows are counted by reason and listed by key (the list is capped; the counts never are).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

LISTED_PER_REASON = 200
# The legacy tables (the report also has derived records: links, title changes).
LEGACY_TABLES = frozenset(
    {"User", "Chat", "Message_v2", "Message", "Vote_v2", "Vote", "Document", "Suggestion", "Stream"}
)


@dataclass(slots=True)
class TableStats:
    """Counts for one legacy table."""

    read: int = 0
    appended: int = 0
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    normalised: Counter[str] = field(default_factory=Counter)
    listed: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def imported(self) -> int:
        """Rows whose events are stored (by this run or an earlier one)."""
        return self.appended + self.already

    @property
    def unaccounted(self) -> int:
        """Rows read but neither imported, skipped nor failed (always 0 unless the run was cut short)."""
        return self.read - self.imported - sum(self.skipped.values()) - sum(self.failed.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "read": self.read,
            "imported": self.imported,
            "appended": self.appended,
            "already_imported": self.already,
            "skipped": dict(self.skipped),
            "failed": dict(self.failed),
            "normalised": dict(self.normalised),
            "listed": dict(self.listed),
        }


@dataclass(slots=True)
class Report:
    """The whole run's report."""

    tables: dict[str, TableStats] = field(default_factory=lambda: defaultdict(TableStats))
    verification: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self, name: str) -> TableStats:
        """The stats of ``name`` (created on first use)."""
        return self.tables[name]

    def read(self, table: str, count: int = 1) -> None:
        """``count`` rows of ``table`` were read."""
        self.tables[table].read += count

    def _list(self, stats: TableStats, reason: str, key: str) -> None:
        if len(stats.listed[reason]) < LISTED_PER_REASON:
            stats.listed[reason].append(key)

    def skip(self, table: str, key: str, reason: str, *, count: int = 1, listed: bool = True) -> None:
        """Rows deliberately not imported, with the reason (listed by key unless bulk)."""
        stats = self.tables[table]
        stats.skipped[reason] += count
        if listed:
            self._list(stats, reason, key)

    def fail(self, table: str, key: str, reason: str) -> None:
        """A row that could not be imported (an error, not a decision)."""
        stats = self.tables[table]
        stats.failed[reason] += 1
        self._list(stats, f"failed: {reason}", key)

    def normalise(self, table: str, key: str, what: str) -> None:
        """A row imported with a documented normalisation."""
        stats = self.tables[table]
        stats.normalised[what] += 1
        self._list(stats, f"normalised: {what}", key)

    @property
    def rows_read(self) -> int:
        """Rows read over every table."""
        return sum(stats.read for name, stats in self.tables.items() if name in LEGACY_TABLES)

    @property
    def failures(self) -> int:
        """Rows that failed, plus rows unaccounted for."""
        return sum(sum(s.failed.values()) + max(s.unaccounted, 0) for s in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tables": {name: stats.as_dict() for name, stats in sorted(self.tables.items())},
            "verification": self.verification,
            "seconds": round(self.seconds, 3),
            "rows_read": self.rows_read,
            "rows_per_second": round(self.rows_read / self.seconds, 1) if self.seconds > 0 else None,
        }
