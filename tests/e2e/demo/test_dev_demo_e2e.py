"""``ameide dev --demo``: the artifact-first flow runs through the SDK; live updates are printed as they arrive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port, fresh_database

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 180


@pytest.fixture(name="demo_database_url")
def fixture_demo_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database of its own (``ameide dev`` migrates it)."""
    with fresh_database(postgres_server_url, f"ameide_demo_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture(name="data_dir")
def fixture_data_dir() -> Iterator[Path]:
    """A data directory of its own, outside pytest's shared temp root."""
    with tempfile.TemporaryDirectory(prefix="ameide-demo-test-") as path:
        yield Path(path)


def _dev(database_url: str, redis_url: str, data_dir: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env |= {"AMEIDE_DATABASE_URL": database_url, "AMEIDE_REDIS_URL": redis_url}
    argv = [sys.executable, "-m", "ameide_cli", "dev", "--data-dir", str(data_dir), *extra]
    argv += ["--command-port", str(free_port()), "--query-port", str(free_port())]
    argv += ["--projector-port", str(free_port())]
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + WAIT_SECONDS
    while text not in (content := log.read_text(errors="replace")):
        assert process.poll() is None, content
        assert time.monotonic() < deadline, content
        time.sleep(0.2)
    return content


def _demo_lines(output: str) -> list[str]:
    return [line.split("│", 1)[1].strip() for line in output.splitlines() if line.strip().startswith("demo │")]


def test_demo_prints_the_flow_live_then_stops_cleanly(
    demo_database_url: str, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """Ensure, 2nd message, associate, content update reach the subscribers; a 2nd run is refused; SIGINT -> 0."""
    log = tmp_path / "demo.log"
    process = _dev(demo_database_url, redis_url, data_dir, log, "--demo")
    try:
        output = _wait_for(log, "demo complete", process)
        lines = _demo_lines(output)
        live = [line for line in lines if line.startswith("⚡")]
        assert any("live artifact chat linked" in line and "(REFERENCED)" in line for line in live), lines
        assert any('message #2 from user dev-user: "Add an approval step before shipping."' in line for line in live)
        assert any('artifact linked: "Shipping Policy" (REFERENCED)' in line for line in live), lines
        assert any("live artifact content v" in line and "application/bpmn+xml" in line for line in live), lines
        assert any("is_new_chat=True" in line for line in lines), lines
        assert any("is_new_chat=False" in line for line in lines), lines
        assert "demo complete: 4 live updates arrived" in output
        # The demo agent answers both messages with drafts that stream, then become assistant messages.
        output = _wait_for(log, "answered message #2", process)
        live = [line for line in _demo_lines(output) if line.startswith("⚡")]
        assert any("draft by agent demo started" in line for line in live), live
        assert any("draft growing, delta 1" in line for line in live), live
        assert sum("became message #" in line for line in live) >= 1, live
        assert any("from assistant dev-user" in line for line in live), live

        second_log = tmp_path / "second.log"
        second = _dev(demo_database_url, redis_url, data_dir, second_log, "--demo")
        assert second.wait(timeout=120) == 1
        assert "already running" in second_log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert "demo stopped" not in output
    assert output.rstrip().endswith("stopped")
