"""Run a command against the real Ameide Threads stack, then tear the stack down.

    python tools/run_with_stack.py [--cwd DIR] -- COMMAND [ARGS...]

Starts PostgreSQL/Redis access (``AMEIDE_TEST_DATABASE_URL`` / ``AMEIDE_TEST_REDIS_URL``, else the same fallbacks
as the test fixtures), creates a fresh database, migrates it, runs command, query and projector as real processes
(``tests/support/stack.py``, the e2e harness) and runs COMMAND with:

- ``AMEIDE_COMMAND_URL`` / ``AMEIDE_QUERY_URL``: ``http://127.0.0.1:<port>`` of the two gRPC deployables
  (``AMEIDE_COMMAND_TARGET`` / ``AMEIDE_QUERY_TARGET``: the same as ``host:port``);
- ``AMEIDE_TEST_TOKEN``, ``AMEIDE_TEST_USER_ID``, ``AMEIDE_TEST_TENANT_ID``: a JWT and its caller;
- ``AMEIDE_TEST_TOKENS``: JSON ``{name: {"token", "userId", "tenantId"}}`` for ``alice`` and ``bob`` (one tenant)
  and ``mallory`` (another tenant);
- ``AMEIDE_JWT_SECRET``: the services' JWT secret, so ``ameide token --user U --tenant T`` (as the documents'
  shell examples run it) mints tokens they accept.

Exits with COMMAND's exit code; the deployables' logs are printed when it fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness lives in tests/support

from ameide_migrations import upgrade  # noqa: E402 - after the path set-up above
from ameide_pg.urls import sqlalchemy_url  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.stack import SERVICES, Stack, running_stack  # noqa: E402


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="directory to run COMMAND in")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the command to run after --")
    return args


def _callers(stack: Stack) -> dict[str, dict[str, str]]:
    tenant, other_tenant = str(uuid.uuid4()), str(uuid.uuid4())
    people = {"alice": tenant, "bob": tenant, "mallory": other_tenant}
    callers = {}
    for name, tenant_id in people.items():
        user_id = str(uuid.uuid4())
        callers[name] = {"token": stack.token(user_id, tenant_id), "userId": user_id, "tenantId": tenant_id}
    return callers


def _child_env(stack: Stack) -> dict[str, str]:
    callers = _callers(stack)
    alice = callers["alice"]
    return {
        **os.environ,
        "AMEIDE_COMMAND_URL": f"http://{stack.command_target}",
        "AMEIDE_QUERY_URL": f"http://{stack.query_target}",
        "AMEIDE_COMMAND_TARGET": stack.command_target,
        "AMEIDE_QUERY_TARGET": stack.query_target,
        "AMEIDE_TEST_TOKEN": alice["token"],
        "AMEIDE_TEST_USER_ID": alice["userId"],
        "AMEIDE_TEST_TENANT_ID": alice["tenantId"],
        "AMEIDE_TEST_TOKENS": json.dumps(callers),
        "AMEIDE_JWT_SECRET": stack.jwt_secret,
    }


def main(argv: list[str] | None = None) -> int:
    """Start the stack, run the command, stop the stack; return the command's exit code."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    with (
        servers.postgres_server(os.environ.get("AMEIDE_TEST_DATABASE_URL", "")) as server_url,
        servers.redis_server(os.environ.get("AMEIDE_TEST_REDIS_URL", "")) as redis_url,
        servers.fresh_database(sqlalchemy_url(server_url), f"ameide_sdk_{uuid.uuid4().hex[:12]}") as db_url,
        tempfile.TemporaryDirectory(prefix="ameide-stack-logs-") as log_dir,
    ):
        upgrade(db_url)
        with running_stack(db_url, redis_url, Path(log_dir)) as stack:
            print(f"stack up: command {stack.command_target}, query {stack.query_target}", flush=True)
            code = subprocess.run(args.command, cwd=args.cwd, env=_child_env(stack), check=False).returncode  # noqa: S603 - the caller's own command
            if code != 0:
                for name in SERVICES:
                    tail = "\n".join(stack.logs(name).splitlines()[-80:])
                    print(f"\n--- {name} log (tail) ---\n{tail}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
