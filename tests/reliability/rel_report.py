"""The scenario table of the reliability run: what load each scenario held, what it broke, what it found."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.reliability.auditor import Verdict
from tests.reliability.rel_client import Tally


@dataclasses.dataclass
class Row:
    """One scenario's line."""

    scenario: str
    load: str
    faults: str
    requests: int
    lost: int
    duplicated: int
    wrong_codes: int
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return dataclasses.asdict(self)


ROWS: list[Row] = []


def record(scenario: str, *, load: str, faults: str, tally: Tally, verdict: Verdict | None, notes: str = "") -> Row:
    """Add a scenario's line to the run's table."""
    row = Row(
        scenario=scenario,
        load=load,
        faults=faults,
        requests=tally.requests,
        lost=len(verdict.lost) if verdict else 0,
        duplicated=len(verdict.duplicated) if verdict else 0,
        wrong_codes=tally.wrong_count,
        notes=notes,
    )
    ROWS.append(row)
    return row


def table(rows: list[Row]) -> str:
    """A Markdown table of the rows."""
    header = "| scenario | load held | faults injected | requests | lost | duplicated | wrong codes | notes |"
    lines = [header, "|---|---|---|---:|---:|---:|---:|---|"]
    lines += [
        f"| {r.scenario} | {r.load} | {r.faults} | {r.requests} | {r.lost} | {r.duplicated} | {r.wrong_codes} "
        f"| {r.notes} |"
        for r in sorted(rows, key=lambda row: row.scenario)
    ]
    return "\n".join(lines)
