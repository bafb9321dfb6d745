"""``ameide serve query --workers 2``: two processes share one port and one metrics endpoint, and stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from tests.support.servers import free_port
from tests.support.stack import Stack, health_status

pytestmark = pytest.mark.e2e

SERVING = health_pb2.HealthCheckResponse.SERVING


def _wait_both_listening(target: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while health_status(target) != SERVING or log.read_text().count("listening on") < 2:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _health_checks_counted(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    prefix = 'ameide_rpc_requests_total{code="OK",method="/grpc.health.v1.Health/Check"}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def test_two_workers_share_the_port_and_stop_cleanly(stack: Stack, tmp_path: Path) -> None:
    """Both workers serve on one port; the supervisor aggregates their metrics; SIGTERM ends all with code 0."""
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env |= stack.settings_env | {"AMEIDE_QUERY_PORT": str(port), "AMEIDE_QUERY_METRICS_PORT": str(metrics_port)}
    log = tmp_path / "workers.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ameide_cli", "serve", "query", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            target = f"127.0.0.1:{port}"
            _wait_both_listening(target, process, log)
            for _ in range(5):
                assert health_status(target) == SERVING
            assert _health_checks_counted(metrics_port) >= 5
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text
    assert "[query-0] stopped (code 0)" in text
    assert "[query-1] stopped (code 0)" in text
