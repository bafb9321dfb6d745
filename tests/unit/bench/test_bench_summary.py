import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ameide_bench.report import Row
from ameide_bench.summary import (
    HEADER,
    RunResult,
    ScenarioResult,
    render_table,
    summary_line,
    table_lines,
    to_json,
    write_json,
)
from ameide_bench.targets import baseline_row, check

pytestmark = pytest.mark.unit

NAN = float("nan")


def _result(*scenarios: ScenarioResult) -> RunResult:
    return RunResult(
        quick=True,
        started_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        servers={"postgres": "external", "redis": "embedded"},
        scenarios=list(scenarios),
        finished_at=datetime(2025, 1, 2, 3, 5, 0, tzinfo=UTC),
    )


FLOOR = "floor: gRPC + raw append c=8"
QUERY_FLOOR = "floor: gRPC + the same SQL ListChats c=8"


def _command() -> ScenarioResult:
    return ScenarioResult(
        "command",
        [
            Row(FLOOR, 1200.0, "rps", p50_ms=4.0, p95_ms=7.5),
            Row("SendMessage c=8", 1200.0, "rps", FLOOR, 1200.0, 5.0, 9.0),
            Row("Ensure (new chat), one hot artifact c=8", 500.0, "rps", FLOOR, 1200.0, 8.0, 12.5),
        ],
        seconds=12.0,
    )


def _query() -> ScenarioResult:
    return ScenarioResult(
        "query",
        [
            Row("raw SQL ListChats c=8", 900.0, "rps", p50_ms=2.0, p95_ms=4.0),
            Row(QUERY_FLOOR, 700.0, "rps", p50_ms=2.5, p95_ms=4.8),
            Row("gRPC ListChats c=8", 600.0, "rps", QUERY_FLOOR, 700.0, 3.0, 6.0),
        ],
    )


class TestTargets:
    def test_a_ratio_target_is_met_at_or_above_its_threshold(self) -> None:
        """SendMessage at 1.0x the floor meets '>= 0.9x floor rps'; at 0.80x it does not."""
        [met] = [c for c in check(Row("SendMessage c=8", 1200.0, "rps", FLOOR, 1200.0), []) if c.quantity == "ratio"]
        [missed] = [
            c for c in check(Row("SendMessage+key c=8", 960.0, "rps", FLOOR, 1200.0), []) if c.quantity == "ratio"
        ]
        assert (True, 1.0) == (met.met, met.actual)
        assert (False, "0.80x") == (missed.met, missed.actual_text)

    def test_a_row_matches_a_target_only_with_the_named_baseline(self) -> None:
        """'ours 1 stream c=8' is held to 2x eventsourcing, not to its raw SQL comparison."""
        assert [] == check(Row("ours 1 stream c=8", 700.0, "tx/s", "raw SQL c=8", 700.0), [])
        [versus_library] = check(Row("ours 1 stream c=8", 700.0, "tx/s", "eventsourcing c=8", 250.0), [])
        assert versus_library.met is True
        assert [] == check(Row("SendMessage c=1", 100.0, "rps", "floor: gRPC + raw append c=1", 2000.0), [])

    def test_group_commit_is_held_to_its_two_targets(self) -> None:
        """SendMessage+key at c=32 needs 1.2x the floor; the p50 it adds at c=1 at most 0.2 ms."""
        [fast] = check(Row("SendMessage+key c=32", 1800.0, "rps", "floor: gRPC + raw append c=32", 1400.0), [])
        [slower] = check(Row("group commit: added p50 at c=1", 0.31, "ms"), [])
        assert (True, ">= 1.2x floor rps (group commit)") == (fast.met, fast.target)
        assert (False, "0.3 ms") == (slower.met, slower.actual_text)

    def test_latency_targets_bound_the_p95(self) -> None:
        """The hot-artifact Ensure's p95 of 12.5 ms misses 'p95 < 10 ms'."""
        [ensure] = check(_command().rows[2], _command().rows)
        assert ("p95 < 10 ms", False, "12.5 ms") == (ensure.target, ensure.met, ensure.actual_text)

    def test_p95_ratio_uses_the_baseline_row_measured_in_the_same_scenario(self) -> None:
        """The gRPC ListChats p95 6 ms over the floor's 4.8 ms is 1.25x: misses '<= 1.2x floor p95'."""
        rows = _query().rows
        assert rows[1] is baseline_row(rows[2], rows)
        [relative] = check(rows[2], rows)
        assert (False, 1.25) == (relative.met, relative.actual)

    def test_an_unmeasured_figure_is_neither_met_nor_missed(self) -> None:
        """NaN (e.g. a library not installed) gives met=None and 'n/a'."""
        [unmeasured] = check(Row("ours 1 stream c=8", 700.0, "tx/s", "eventsourcing c=8", NAN), [])
        assert (None, "n/a") == (unmeasured.met, unmeasured.actual_text)


class TestTable:
    def test_each_figure_shows_baseline_ratio_target_and_verdict(self) -> None:
        """SendMessage's line carries the floor baseline, 1.00x and 'yes (1.00x)'."""
        lines = table_lines(_result(_command()))
        send = next(line for line in lines if line[1] == "SendMessage c=8")
        assert len(HEADER) == len(send)
        assert ("command", "1,200", "rps", FLOOR, "1,200", "1.00x", ">= 0.9x floor rps", "yes (1.00x)") == (
            send[0], send[2], send[3], send[6], send[7], send[8], send[9], send[10],
        )  # fmt: skip

    def test_a_second_target_gets_its_own_line_below_the_row(self) -> None:
        """For SendMessage: the rps target on its line, the p95-ratio target on the next with other cells empty."""
        lines = table_lines(_result(_command()))
        assert (">= 0.9x floor rps", "yes (1.00x)") == lines[1][9:]
        assert ("", "", "", "", "", "", "", "", "", "p95 <= 1.2x floor p95", "yes (1.20x)") == lines[2]

    def test_a_failed_scenario_is_one_line(self) -> None:
        """The error replaces the scenario's figures."""
        lines = table_lines(_result(ScenarioResult("streams", error="boom")))
        assert [("streams", "failed: boom", *[""] * 9)] == lines

    def test_rendered_table_aligns_columns_and_separates_areas(self) -> None:
        """Every line has the header's separators at the same offsets; a rule separates two areas."""
        text = render_table(_result(_command(), _query()))
        lines = text.splitlines()
        assert lines[0].startswith("area")
        rules = [i for i, line in enumerate(lines) if set(line) <= {"-", "+"}]
        assert [1, 6] == rules  # under the header, then between command (3 rows, one with a second target) and query
        bars = [i for i, ch in enumerate(lines[0]) if ch == "|"]
        for line in lines[2:]:
            if line not in (lines[r] for r in rules):
                assert bars == [i for i, ch in enumerate(line) if ch == "|"][: len(bars)]

    def test_summary_line_counts_measured_targets_and_names_the_missed(self) -> None:
        """Two of four measured targets met; the missed ones are named with their value."""
        line = summary_line(_result(_command(), _query()))
        assert line.startswith("targets met: 2/4")
        assert "Ensure (new chat), one hot artifact c=8: p95 < 10 ms (12.5 ms)" in line
        assert "gRPC ListChats c=8: p95 <= 1.2x floor p95 (1.25x)" in line


class TestJson:
    def test_document_holds_rows_checks_and_run_facts(self, tmp_path: Path) -> None:
        """Written JSON is strict (NaN -> null) and reads back with rows, ratios, checks and target totals."""
        eventstore = ScenarioResult("eventstore", [Row("eventsourcing c=8", NAN, "tx/s", "raw SQL c=8", 700.0)])
        path = tmp_path / "run.json"
        write_json(to_json(_result(_command(), eventstore)), path)
        document = json.loads(path.read_text())
        assert ("quick", "2025-01-02T03:04:05+00:00") == (document["mode"], document["started_at"])
        assert {"postgres": "external", "redis": "embedded"} == document["servers"]
        command, library = document["scenarios"]
        assert (12.0, None) == (command["seconds"], command["error"])
        send = command["rows"][1]
        assert math.isclose(1.0, send["ratio"])
        assert {"target": ">= 0.9x floor rps", "quantity": "ratio", "threshold": 0.9, "actual": 1.0, "unit": "x",
                "met": True} == send["checks"][0]  # fmt: skip
        assert (None, None) == (library["rows"][0]["figure"], library["rows"][0]["ratio"])
        assert {"measured": 3, "met": 2} == document["targets"]
