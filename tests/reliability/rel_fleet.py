"""The real deployables for fault scenarios: several instances of a service, parallel starts, RSS readings.

``Fleet`` extends the e2e harness's ``Stack`` (same environment, JWT mode, logs, health waits, kill/stop). An
instance is named ``<service>`` or ``<service>-<n>`` (``projector-2`` is a second projector worker with its own
health port); every instance keeps its port across restarts, so clients reconnect to the same address.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.support.servers import free_port
from tests.support.stack import START_TIMEOUT, Stack, StackError, _Process

_PORT_VARIABLE = {
    "command": "AMEIDE_COMMAND_PORT",
    "query": "AMEIDE_QUERY_PORT",
    "projector": "AMEIDE_PROJECTOR_HEALTH_PORT",
}


def service_of(name: str) -> str:
    """``projector`` for ``projector-2``."""
    return name.split("-", 1)[0]


class Fleet(Stack):
    """Named instances of command, query and projector processes."""

    def __init__(
        self, database_url: str, redis_url: str, log_dir: Path, *, extra_env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(database_url, redis_url, log_dir)
        self.settings_env.update(extra_env or {})
        self.pids: dict[str, list[int]] = {}
        self._instance_env: dict[str, dict[str, str]] = {}

    def add(self, name: str, env: Mapping[str, str] | None = None) -> None:
        """Register an instance (a free port of its own, optional settings of its own) without starting it."""
        if name not in self.ports:
            self.ports[name] = free_port()
        if env is not None:
            self._instance_env[name] = dict(env)

    def start(self, name: str) -> None:
        """Start an instance and wait until its health is SERVING."""
        self._launch(name)
        self._wait_owned(name)

    def start_many(self, names: Sequence[str]) -> None:
        """Start instances concurrently (imports overlap), then wait for each."""
        for name in names:
            self._launch(name)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
            for future in [pool.submit(self._wait_owned, name) for name in names]:
                future.result()

    def _wait_owned(self, name: str) -> None:
        # Other test runs share this machine: a port found free may be taken before our process binds it, and
        # then *their* server answers our health check. SERVING counts only once our process owns the listener;
        # a first start that lost its port race gets a new port (a restart must keep its port, so it fails).
        for _ in range(3):
            try:
                self._wait_serving(name)
                if self._owns_port(name):
                    return
            except StackError:
                if self.running(name) or "cannot listen" not in self.logs(name).splitlines()[-1]:
                    raise
            if len(self.pids[name]) > 1:
                break
            self.ports[name] = free_port()
            self.pids[name].clear()
            self._launch(name)
        raise StackError(f"{name} could not listen on its port:\n{self.logs(name)}")

    def _owns_port(self, name: str) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while self.running(name) and time.monotonic() < deadline:
            if listens_on(self.pid(name), self.ports[name]):
                return True
            time.sleep(0.1)
        if self.running(name):
            raise StackError(f"{name} answers health but does not own port {self.ports[name]}")
        return False

    def _launch(self, name: str) -> None:
        self.add(name)
        if name in self._processes and self._processes[name].popen.poll() is None:
            raise StackError(f"{name} is already running")
        service = service_of(name)
        env = {**self._env(), **self._instance_env.get(name, {}), _PORT_VARIABLE[service]: str(self.ports[name])}
        log = (self._log_dir / f"{name}.log").open("ab")
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
            [sys.executable, "-m", "ameide_cli", "serve", service],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes[name] = _Process(popen, log)
        self.pids.setdefault(name, []).append(popen.pid)

    def restart_killed(self, name: str) -> None:
        """``kill -9`` an instance, then start it again on the same port."""
        self.kill(name)
        self.start(name)

    def terminate(self, name: str) -> int:
        """SIGTERM (graceful) and wait; the exit code."""
        return self.stop(name)

    def close(self) -> dict[str, int]:
        """Stop every instance (all at once, each with its grace period); return their exit codes."""
        names = list(self._processes)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            codes = dict(zip(names, pool.map(self.stop, names), strict=True))
        for process in self._processes.values():
            process.log.close()
        return codes

    def forget(self, name: str) -> None:
        """Stop tracking an instance that is gone for good (it is not brought back before the next scenario)."""
        process = self._processes.pop(name)
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(timeout=30)
        process.log.close()

    def names(self) -> list[str]:
        """Every instance started so far."""
        return list(self._processes)

    def pid(self, name: str) -> int:
        """Process id of a running instance."""
        return self._processes[name].popen.pid

    def rss_kib(self, name: str) -> int:
        """Resident set size of an instance, from /proc/<pid>/status (0 when it is not running)."""
        if not self.running(name):
            return 0
        return rss_kib(self.pid(name))

    def alive(self) -> dict[str, bool]:
        """Which instances are running."""
        return {name: self.running(name) for name in self._processes}

    def crashed(self) -> dict[str, int]:
        """Instances that exited on their own (not killed by the test): name -> exit code."""
        return {
            name: int(process.popen.returncode)
            for name, process in self._processes.items()
            if process.popen.poll() is not None and process.popen.returncode not in (-signal.SIGKILL, 0)
        }


def listens_on(pid: int, port: int) -> bool:
    """True when process ``pid`` holds a listening TCP socket on ``port`` (from /proc, no tools needed)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if str(fd.readlink()).removeprefix("socket:[").removesuffix("]") in inodes:
                    return True
    return False


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def running_fleet(
    database_url: str,
    redis_url: str,
    log_dir: Path,
    names: Sequence[str],
    *,
    extra_env: Mapping[str, str] | None = None,
    instance_env: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Fleet]:
    """Start the named instances, yield the fleet, stop every instance at the end (logs of failures to stderr).

    ``instance_env``: settings of single instances (e.g. the query service's ``AMEIDE_QUERY_DATABASE_URL``).
    """
    fleet = Fleet(database_url, redis_url, log_dir, extra_env=extra_env)
    for name, env in (instance_env or {}).items():
        fleet.add(name, env)
    try:
        fleet.start_many(names)
        yield fleet
    finally:
        codes = fleet.close()
        for name, code in codes.items():
            if code not in (0, -signal.SIGKILL):
                sys.stderr.write(f"\n--- {name} exited with {code}; its log tail ---\n")
                sys.stderr.write("\n".join(fleet.logs(name).splitlines()[-40:]) + "\n")
