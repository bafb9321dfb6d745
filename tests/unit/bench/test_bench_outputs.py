import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
import grpc.aio
import pytest
from rich.console import Console

from ameide_bench import cli, plot
from ameide_bench.report import Row
from ameide_bench.summary import RunResult, ScenarioResult, to_json
from ameide_cli.errors import CliError

pytestmark = pytest.mark.unit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _result() -> RunResult:
    floor = "floor: gRPC + raw append c=8"
    rows = [
        Row(floor, 2000.0, "rps", p50_ms=1.0, p95_ms=8.0),
        Row("SendMessage c=8", 800.0, "rps", floor, 2000.0, 5.0, 9.0),
        Row("Ensure (new chat), one hot artifact c=8", 500.0, "rps", floor, 2000.0, 8.0, 7.5),
    ]
    projector = [Row("projector (1,000 events, batch 500)", 12000.0, "events/s", "raw INSERT", 24000.0)]
    return RunResult(
        quick=True,
        started_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        servers={"postgres": "embedded", "redis": "embedded"},
        scenarios=[
            ScenarioResult("command", rows),
            ScenarioResult("projector", projector),
            ScenarioResult("x", error="e"),
        ],
    )


class TestChart:
    def test_ratio_panels_hold_every_row_with_a_baseline_colored_by_its_target(self) -> None:
        """SendMessage at 0.40x the floor misses 0.9x; Ensure has no ratio target; the projector meets its own."""
        panels = plot.ratio_bars(to_json(_result()))
        assert ["command", "projector"] == [name for name, _bars in panels]
        (_, command), (_, projector) = panels
        assert [
            ("SendMessage c=8\nvs floor: gRPC + raw append c=8", 0.4, False, 0.9),
            ("Ensure (new chat), one hot artifact c=8\nvs floor: gRPC + raw append c=8", 0.25, None, None),
        ] == command
        assert [(projector[0][0], 0.5, True, None)] == projector

    def test_p95_against_the_floor_has_a_panel(self) -> None:
        """SendMessage's p95 (9 ms) over the floor's (8 ms) is 1.125x: within 1.2x."""
        [(label, value, met, threshold)] = plot.p95_ratio_bars(to_json(_result()))
        assert ("SendMessage c=8\nvs floor: gRPC + raw append c=8", True, 1.2) == (label, met, threshold)
        assert 1.125 == pytest.approx(value)

    def test_latency_panel_holds_the_rows_with_a_latency_target(self) -> None:
        """Only the hot-artifact Ensure at c=8 has a p95 target (< 10 ms): met at 7.5 ms."""
        assert [("Ensure (new chat), one hot artifact c=8", 7.5, True, 10.0)] == plot.latency_bars(to_json(_result()))

    def test_write_chart_writes_a_png(self, tmp_path: Path) -> None:
        """The chart is a PNG file."""
        path = tmp_path / "chart.png"
        plot.write_chart(to_json(_result()), path)
        assert PNG_MAGIC == path.read_bytes()[:8]

    def test_without_matplotlib_the_chart_names_the_install_command(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing matplotlib is one clear error that says how to install it."""
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        with pytest.raises(plot.PlotUnavailableError, match=r"pip install -e '\.\[bench\]'"):
            plot.write_chart(to_json(_result()), Path("unused.png"))


class TestResultFiles:
    def test_timestamped_files_and_latest_copies(self, tmp_path: Path) -> None:
        """JSON, text table and PNG are written with the run's UTC time in their names, and as latest.*."""
        console = Console(file=None, record=True, width=200)
        written = cli.write_results(_result(), tmp_path / "results", console)
        names = sorted(p.name for p in written)
        stem = "bench-quick-20250102T030405Z"
        assert [f"{stem}.json", f"{stem}.png", f"{stem}.txt", "latest.json", "latest.png", "latest.txt"] == names
        assert json.loads((tmp_path / "results" / "latest.json").read_text())["mode"] == "quick"
        assert (tmp_path / "results" / f"{stem}.png").read_bytes() == (tmp_path / "results" / "latest.png").read_bytes()
        assert "targets met: 3/4" in (tmp_path / "results" / "latest.txt").read_text()

    def test_printed_table_has_every_figure_and_the_summary(self) -> None:
        """The console shows the title, each figure, the failed scenario and the summary line."""
        console = Console(record=True, width=300)
        cli.print_results(_result(), console)
        text = console.export_text()
        assert "ameide bench (quick)" in text
        assert "SendMessage c=8" in text
        assert "NO (0.40x)" in text
        assert "failed: e" in text
        assert text.splitlines()[-1].startswith("targets met: 3/4; scenarios failed: x; missed: SendMessage c=8")


class TestArguments:
    def test_an_unknown_scenario_is_one_line_and_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A misspelt name names the valid ones."""
        with pytest.raises(SystemExit) as exited:
            cli.main(["comand"])
        assert 2 == exited.value.code
        err = capsys.readouterr().err.strip()
        assert 1 == len(err.splitlines())
        names = "eventstore, command, query, replica, projector, capacity, streams, live, screening"
        assert f"unknown scenario comand (choose from {names})" in err

    def test_an_unreachable_database_is_a_cli_error(self) -> None:
        """Nothing listens on port 1: one line naming PostgreSQL, before any scenario runs."""
        with (
            pytest.raises(CliError, match=re.escape("cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:1/x")),
            cli.stores("postgresql://u:secret@127.0.0.1:1/x", "redis://127.0.0.1:1/0"),
        ):
            pass


class TestFailedScenario:
    def test_a_grpc_error_is_one_line_with_its_code_and_details(self) -> None:
        """A failed RPC names its status code and details (its str() starts with a bare '<AioRpcError ...')."""
        error = grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="store down\nmore"
        )
        assert "AioRpcError UNAVAILABLE: store down" == cli.describe_error(error)
        assert "ValueError: bad value" == cli.describe_error(ValueError("\nbad value\nsecond line"))
