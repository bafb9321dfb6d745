"""Deployables on a database of their own, as named instances with their own ports, metrics and worker counts.

``Deployment`` extends the e2e ``Stack`` (same JWT mode, logs, health waits, stop/kill): an instance is named
``<service>`` or ``<service>-<n>`` (``projector-2`` is a second projector process with its own health and
metrics ports) and may run ``--workers N``. Its database is private, so no other projector (the session stack's)
takes outbox shards from it. Also: a Prometheus scrape parser, bounded polling, and the run's OTEL_* variables
kept away from the children.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from ameide_migrations import upgrade
from tests.support.servers import free_port, fresh_database
from tests.support.stack import Stack, _Process

T = TypeVar("T")

_PORT = {"command": "AMEIDE_COMMAND_PORT", "query": "AMEIDE_QUERY_PORT", "projector": "AMEIDE_PROJECTOR_HEALTH_PORT"}
_METRICS = {
    "command": "AMEIDE_COMMAND_METRICS_PORT",
    "query": "AMEIDE_QUERY_METRICS_PORT",
    "projector": "AMEIDE_PROJECTOR_METRICS_PORT",
}
WAIT_SECONDS = 120.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def service_of(name: str) -> str:
    """``projector`` for ``projector-2``."""
    return name.split("-", 1)[0]


@contextlib.contextmanager
def private_database(postgres_server_url: str) -> Iterator[str]:
    """A fresh database migrated to head, dropped afterwards."""
    with fresh_database(postgres_server_url, f"ameide_obs_{uuid.uuid4().hex[:10]}") as url:
        upgrade(url)
        yield url


class Deployment(Stack):
    """Named instances of the deployables (see the module docstring)."""

    def __init__(
        self, database_url: str, redis_url: str, log_dir: Path, *, extra_env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(database_url, redis_url, log_dir)
        self.settings_env.update(extra_env or {})
        self.metrics_ports: dict[str, int] = {}
        self._workers: dict[str, int] = {}

    def add(self, name: str, *, workers: int = 1, metrics: bool = True) -> None:
        """Register an instance with a free serving (or health) port and, with ``metrics``, a metrics port."""
        self.ports.setdefault(name, free_port())
        if metrics:
            self.metrics_ports.setdefault(name, free_port())
        self._workers[name] = workers

    def _instance_env(self, name: str) -> dict[str, str]:
        service = service_of(name)
        env = {
            k: v for k, v in self._env().items() if not k.startswith("OTEL_") or k in self.settings_env
        }  # the runner's tracing setup must not leak in
        env[_PORT[service]] = str(self.ports[name])
        env[_METRICS[service]] = str(self.metrics_ports.get(name, 0))
        return env

    def start(self, name: str) -> None:
        """Start an instance (``--workers N`` when registered so) and wait until every worker listens."""
        self.start_many([name])

    def start_many(self, names: Sequence[str]) -> None:
        """Start instances together (their imports overlap), then wait until every worker of each listens."""
        listening = {name: self._launch(name) for name in names}
        for name, before in listening.items():
            self._wait_serving(name)
            log_path, workers = self._log_dir / f"{name}.log", self._workers[name]
            wait_for(
                lambda: _count_listening(log_path) - before >= workers or None,  # noqa: B023 - called right here
                f"{workers} workers of {name} listening",
            )

    def _launch(self, name: str) -> int:
        if name not in self._workers:
            self.add(name)
        workers = self._workers[name]
        argv = [sys.executable, "-m", "ameide_cli", "serve", service_of(name)]
        if workers > 1:
            argv += ["--workers", str(workers)]
        log_path = self._log_dir / f"{name}.log"
        listening_before = _count_listening(log_path)
        log = log_path.open("ab")
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
            argv,
            env=self._instance_env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes[name] = _Process(popen, log)
        return listening_before

    def pid(self, name: str) -> int:
        """The pid of an instance's (supervisor) process."""
        return self._processes[name].popen.pid

    def wait_exit(self, name: str, timeout: float = WAIT_SECONDS) -> int:
        """Wait for an instance that was told to stop; return its exit code."""
        return self._processes[name].popen.wait(timeout=timeout)

    def signal(self, name: str, signum: int) -> None:
        """Send ``signum`` to an instance's process (not its group)."""
        self._processes[name].popen.send_signal(signum)

    def close(self) -> dict[str, int]:
        """SIGTERM every running instance at once (they drain in parallel), then stop and reap each."""
        for process in self._processes.values():
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        return super().close()

    def scrape(self, name: str) -> Samples:
        """Every sample of the instance's ``/metrics``: ``(sample name, labels) -> value``."""
        url = f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    def metric(self, name: str, sample: str, **labels: str) -> float | None:
        """One sample's value (labels must match exactly, ``pid`` aside), or ``None`` when absent."""
        wanted = frozenset(labels.items())
        for (sample_name, sample_labels), value in self.scrape(name).items():
            if sample_name == sample and frozenset(i for i in sample_labels if i[0] != "pid") == wanted:
                return value
        return None


def _count_listening(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    return log_path.read_text(encoding="utf-8", errors="replace").count("listening on")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``check`` until it returns something other than ``None``/``False``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def deployment(
    database_url: str, redis_url: str, log_dir: Path, *, extra_env: Mapping[str, str] | None = None
) -> Iterator[Deployment]:
    """A ``Deployment`` whose instances are all stopped at the end (their logs printed when one failed)."""
    deployed = Deployment(database_url, redis_url, log_dir, extra_env=extra_env)
    try:
        yield deployed
    finally:
        codes = deployed.close()
        for name, code in codes.items():
            if code not in (0, -9):
                sys.stderr.write(f"\n--- {name} exited with {code}; its log ---\n{deployed.logs(name)}\n")
