"""The real deployables as child processes (``python -m ameide_cli serve ...``), for end-to-end tests.

``Stack`` starts command, query and projector on free ports against the run's database and Redis, in JWT mode
with random secrets, and waits (bounded polling) until each answers gRPC health SERVING. ``start("web")`` runs the
web deployable too (HTTP health; ``configure("web", ...)`` first can turn on development tokens). Each process
logs to a file; ``Stack.logs(name)`` returns it, and a process that dies while starting fails with its log attached.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ameide_runtime.auth import mint_token
from tests.support.servers import free_port

SERVICES = ("command", "query", "projector")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


class StackError(RuntimeError):
    """A deployable did not start or stop as expected; the message carries its log."""


@dataclass
class _Process:
    popen: subprocess.Popen[bytes]
    log: IO[bytes]


class Stack:
    """Command, query and projector processes of one test session."""

    def __init__(self, database_url: str, redis_url: str, log_dir: Path) -> None:
        self.jwt_secret = secrets.token_urlsafe(32)
        self.ports = {"command": free_port(), "query": free_port(), "projector": free_port(), "web": free_port()}
        self.settings_env: dict[str, str] = {
            "AMEIDE_DATABASE_URL": database_url,
            "AMEIDE_REDIS_URL": redis_url,
            "AMEIDE_AUTH": "jwt",
            "AMEIDE_JWT_SECRET": self.jwt_secret,
            "AMEIDE_TOKEN_SECRET": secrets.token_urlsafe(32),
            "AMEIDE_BIND_HOST": "127.0.0.1",
            "AMEIDE_COMMAND_PORT": str(self.ports["command"]),
            "AMEIDE_QUERY_PORT": str(self.ports["query"]),
            "AMEIDE_PROJECTOR_HEALTH_PORT": str(self.ports["projector"]),
            "AMEIDE_WEB_PORT": str(self.ports["web"]),
            # Completed drafts reach the command service from the query service.
            "AMEIDE_COMMAND_TARGET": f"127.0.0.1:{self.ports['command']}",
            "AMEIDE_COMMAND_METRICS_PORT": "0",
            "AMEIDE_QUERY_METRICS_PORT": "0",
            "AMEIDE_PROJECTOR_METRICS_PORT": "0",
            "AMEIDE_SHUTDOWN_GRACE_SECONDS": "5",
            "AMEIDE_LOG_FORMAT": "text",
        }
        self._log_dir = log_dir
        self._processes: dict[str, _Process] = {}
        self._extra_env: dict[str, dict[str, str]] = {}

    @property
    def command_target(self) -> str:
        """``host:port`` of the command service."""
        return f"127.0.0.1:{self.ports['command']}"

    @property
    def query_target(self) -> str:
        """``host:port`` of the query service."""
        return f"127.0.0.1:{self.ports['query']}"

    @property
    def projector_target(self) -> str:
        """``host:port`` of the projector's health endpoint."""
        return f"127.0.0.1:{self.ports['projector']}"

    def target(self, name: str) -> str:
        """``host:port`` of a deployable."""
        return f"127.0.0.1:{self.ports[name]}"

    def token(self, user_id: str, tenant_id: str) -> str:
        """A JWT the stack accepts, for this user and tenant."""
        return mint_token(self.jwt_secret, user_id=user_id, tenant_id=tenant_id)

    def metadata(self, user_id: str, tenant_id: str) -> tuple[tuple[str, str], ...]:
        """Call metadata (a bearer token) authenticating as this user and tenant."""
        return (("authorization", f"Bearer {self.token(user_id, tenant_id)}"),)

    def _env(self) -> dict[str, str]:
        # The children see only this stack's AMEIDE_* settings, never the test runner's.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
        return {**inherited, **self.settings_env, "PYTHONUNBUFFERED": "1"}

    def configure(self, name: str, env: Mapping[str, str]) -> None:
        """Settings added to one deployable's environment from its next start on (kept across restarts)."""
        self._extra_env[name] = dict(env)

    def start(self, name: str) -> None:
        """Start a deployable and wait until it is healthy."""
        if name in self._processes and self._processes[name].popen.poll() is None:
            raise StackError(f"{name} is already running")
        log = (self._log_dir / f"{name}.log").open("ab")
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
            [sys.executable, "-m", "ameide_cli", "serve", name],
            env={**self._env(), **self._extra_env.get(name, {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes[name] = _Process(popen, log)
        self._wait_serving(name)

    def _wait_serving(self, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            code = self._processes[name].popen.poll()
            if code is not None:
                raise StackError(f"{name} exited with code {code} while starting:\n{self.logs(name)}")
            if name == "web":
                if http_ok(f"http://{self.target(name)}/healthz"):
                    return
            elif health_status(self.target(name)) == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.1)
        raise StackError(f"{name} not SERVING after {START_TIMEOUT}s:\n{self.logs(name)}")

    def kill(self, name: str) -> None:
        """SIGKILL a deployable (no graceful shutdown) and reap it."""
        process = self._processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=STOP_TIMEOUT)

    def stop(self, name: str) -> int:
        """SIGTERM a deployable and wait for it (SIGKILL after the timeout); return its exit code."""
        process = self._processes[name]
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
            try:
                process.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill(name)
        return int(process.popen.returncode)

    def restart(self, name: str) -> None:
        """Stop a deployable gracefully and start it again on the same port."""
        self.stop(name)
        self.start(name)

    def running(self, name: str) -> bool:
        """True while the deployable's process is alive."""
        return name in self._processes and self._processes[name].popen.poll() is None

    def logs(self, name: str) -> str:
        """Everything the deployable has logged so far."""
        path = self._log_dir / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def close(self) -> dict[str, int]:
        """Stop every deployable; return their exit codes."""
        codes = {name: self.stop(name) for name in list(self._processes)}
        for process in self._processes.values():
            process.log.close()
        return codes


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200 (an HTTP health endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - http://127.0.0.1 URLs of the tests
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def health_status(target: str, service: str = "") -> int | None:
    """The health status of ``service`` at ``target``, or ``None`` when nothing answers."""
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        except grpc.RpcError:
            return None
        return int(reply.status)


@contextlib.contextmanager
def running_stack(
    database_url: str,
    redis_url: str,
    log_dir: Path,
    *,
    services: Mapping[str, bool] | None = None,
    env: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Stack]:
    """Start every deployable (or those ``services`` enables); yield the stack, stop them, report failures.

    ``env`` adds settings per deployable (``{"query": {...}}``).
    """
    stack = Stack(database_url, redis_url, log_dir)
    for name, settings in (env or {}).items():
        stack.configure(name, settings)
    try:
        for name in SERVICES:
            if services is None or services.get(name, False):
                stack.start(name)
        yield stack
    finally:
        codes = stack.close()
        failed = {name: code for name, code in codes.items() if code not in (0, -signal.SIGKILL)}
        for name, code in failed.items():
            sys.stderr.write(f"\n--- {name} exited with {code}; its log ---\n{stack.logs(name)}\n")
