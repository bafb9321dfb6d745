"""``ameide serve web`` as a real process: the shipped bundle, JSON logs, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import free_port
from tests.support.stack import http_ok

pytestmark = pytest.mark.e2e


def test_serve_web_serves_the_bundle_and_stops_cleanly(tmp_path: Path) -> None:
    """No JWT key is needed to serve files; SPA routes load the page; SIGTERM exits 0 with JSON log lines."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env |= {"AMEIDE_WEB_PORT": str(port), "AMEIDE_BIND_HOST": "127.0.0.1", "AMEIDE_LOG_FORMAT": "json"}
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ameide_cli", "serve", "web"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not http_ok(f"http://127.0.0.1:{port}/healthz"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/threads/some-chat") as reply:
            assert reply.status == 200
            assert b'<div id="root">' in reply.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dev/token") as reply:
            assert b'"token"' not in reply.read(), "development tokens must be off by default"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert {line["service"] for line in lines} == {"web"}
    assert any(line["msg"].startswith("web serving") for line in lines)
    assert lines[-1]["msg"] == "web stopped"


def test_serve_web_refuses_a_folder_without_a_page(tmp_path: Path) -> None:
    """A wrong AMEIDE_WEB_STATIC_DIR fails at start with one line, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env |= {"AMEIDE_WEB_PORT": str(free_port()), "AMEIDE_WEB_STATIC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "ameide_cli", "serve", "web"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "no index.html" in result.stderr
    assert "Traceback" not in result.stderr
