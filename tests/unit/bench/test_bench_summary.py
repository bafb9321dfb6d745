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


def _command() -> ScenarioResult:
    return ScenarioResult(
        "command",
        [
            Row("echo c=8", 2000.0, "rps", p50_ms=1.0, p95_ms=2.0),
            Row("SendMessage c=8", 1200.0, "rps", "echo c=8", 2000.0, 5.0, 9.0),
            Row("Ensure (new chat) c=8", 500.0, "rps", "echo c=8", 2000.0, 8.0, 12.5),
        ],
        seconds=12.0,
    )


def _query() -> ScenarioResult:
    return ScenarioResult(
        "query",
        [
            Row("raw SQL ListChats c=8", 900.0, "rps", p50_ms=2.0, p95_ms=4.0),
            Row("gRPC ListChats c=8", 600.0, "rps", "raw SQL ListChats", 900.0, 3.0, 6.0),
        ],
    )


class TestTargets:
    def test_a_ratio_target_is_met_at_or_above_its_threshold(self) -> None:
        """SendMessage at 0.60x the echo meets '>= 0.50x echo rps'; at 0.40x it does not."""
        [met] = check(Row("SendMessage c=8", 1200.0, "rps", "echo c=8", 2000.0), [])
        [missed] = check(Row("SendMessage c=32", 800.0, "rps", "echo c=32", 2000.0), [])
        assert (True, 0.6) == (met.met, met.actual)
        assert (False, "0.40x") == (missed.met, missed.actual_text)

    def test_a_row_matches_a_target_only_with_the_named_baseline(self) -> None:
        """'ours 1 stream c=8' is held to 1.5x eventsourcing, not to its raw SQL comparison."""
        assert [] == check(Row("ours 1 stream c=8", 700.0, "tx/s", "raw SQL c=8", 700.0), [])
        [versus_library] = check(Row("ours 1 stream c=8", 700.0, "tx/s", "eventsourcing c=8", 250.0), [])
        assert versus_library.met is True
        assert [] == check(Row("SendMessage c=1", 100.0, "rps", "echo c=1", 2000.0), [])

    def test_latency_targets_bound_the_p95(self) -> None:
        """Ensure's p95 of 12.5 ms misses 'p95 < 10 ms'."""
        [ensure] = check(_command().rows[2], _command().rows)
        assert ("p95 < 10 ms", False, "12.5 ms") == (ensure.target, ensure.met, ensure.actual_text)

    def test_p95_ratio_uses_the_baseline_row_measured_in_the_same_scenario(self) -> None:
        """The gRPC ListChats p95 6 ms over raw 4 ms is 1.5x: misses '<= 1.3x raw SQL' while meeting '< 10 ms'."""
        rows = _query().rows
        assert rows[0] is baseline_row(rows[1], rows)
        absolute, relative = check(rows[1], rows)
        assert (True, False, 1.5) == (absolute.met, relative.met, relative.actual)

    def test_an_unmeasured_figure_is_neither_met_nor_missed(self) -> None:
        """NaN (e.g. a library not installed) gives met=None and 'n/a'."""
        [unmeasured] = check(Row("ours 1 stream c=8", 700.0, "tx/s", "eventsourcing c=8", NAN), [])
        assert (None, "n/a") == (unmeasured.met, unmeasured.actual_text)


class TestTable:
    def test_each_figure_shows_baseline_ratio_target_and_verdict(self) -> None:
        """SendMessage's line carries the echo baseline, 0.60x and 'yes (0.60x)'."""
        lines = table_lines(_result(_command()))
        send = next(line for line in lines if line[1] == "SendMessage c=8")
        assert len(HEADER) == len(send)
        assert ("command", "1,200", "rps", "echo c=8", "2,000", "0.60x", ">= 0.50x echo rps", "yes (0.60x)") == (
            send[0], send[2], send[3], send[6], send[7], send[8], send[9], send[10],
        )  # fmt: skip

    def test_a_second_target_gets_its_own_line_below_the_row(self) -> None:
        """For gRPC ListChats: the p95 target on its line, the p95-ratio target on the next with other cells empty."""
        lines = table_lines(_result(_query()))
        assert ("p95 < 10 ms", "yes (6.0 ms)") == lines[1][9:]
        assert ("", "", "", "", "", "", "", "", "", "p95 <= 1.3x raw SQL", "NO (1.50x)") == lines[2]

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
        assert [1, 5] == rules  # under the header, then between command (3 rows) and query
        bars = [i for i, ch in enumerate(lines[0]) if ch == "|"]
        for line in lines[2:]:
            if line not in (lines[r] for r in rules):
                assert bars == [i for i, ch in enumerate(line) if ch == "|"][: len(bars)]

    def test_summary_line_counts_measured_targets_and_names_the_missed(self) -> None:
        """Two of four measured targets met; the missed ones are named with their value."""
        line = summary_line(_result(_command(), _query()))
        assert line.startswith("targets met: 2/4")
        assert "Ensure (new chat) c=8: p95 < 10 ms (12.5 ms)" in line
        assert "gRPC ListChats c=8: p95 <= 1.3x raw SQL (1.50x)" in line


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
        assert math.isclose(0.6, send["ratio"])
        assert [{"target": ">= 0.50x echo rps", "quantity": "ratio", "threshold": 0.5, "actual": 0.6, "unit": "x",
                 "met": True}] == send["checks"]  # fmt: skip
        assert (None, None) == (library["rows"][0]["figure"], library["rows"][0]["ratio"])
        assert {"measured": 2, "met": 1} == document["targets"]
