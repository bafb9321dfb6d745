"""``ameide dev``: the whole product on this machine in one command.

Embedded PostgreSQL and Redis (or ``AMEIDE_DATABASE_URL`` / ``AMEIDE_REDIS_URL``), migrations, then the three
services as supervised child processes (``python -m ameide_cli serve ...``, JWT auth with a secret persisted in
the data directory), the web deployable (``serve web``, development tokens on) on an internal port, and the Envoy
gateway on ``--web-port``: the web app and the services' gRPC-Web paths on one origin. With ``--demo`` the demo
agent (``ameide_cli.demo_agent``) runs as one more child and chats about BPMN diagrams get it. A crashed child is
reported and restarted. Once every child answers its health check, the endpoints, a token and calls to paste are
printed. Ctrl-C stops the children, then the embedded servers.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ameide_cli import dev_env, gateway
from ameide_cli.commands import Subparsers
from ameide_cli.dev_output import DevConsole, Endpoints
from ameide_cli.errors import CliError
from ameide_cli.supervisor import ChildSpec, Supervisor
from ameide_pg.urls import sqlalchemy_url
from ameide_query.config import QuerySettings
from ameide_runtime.auth import mint_token
from ameide_web.dev_tokens import DEFAULT_TENANT as DEV_TENANT
from ameide_web.dev_tokens import DEFAULT_USER as DEV_USER

SERVICES = ("command", "query", "projector")
PORT_FLAGS = {
    "command": "--command-port",
    "query": "--query-port",
    "projector": "--projector-port",
    "web": "--web-port",
}
TOKEN_TTL_SECONDS = 7 * 24 * 3600
DEMO_AGENT = "demo"  # the agent id ameide_cli.demo_agent answers for
SLOW_START_SECONDS = 60.0
METRICS_PORTS = {"COMMAND": 9464, "QUERY": 9465, "PROJECTOR": 9466}
HealthCheck = Callable[[], Awaitable[bool]]


def register(subparsers: Subparsers) -> None:
    """Add the ``dev`` subcommand."""
    parser = subparsers.add_parser("dev", help="run everything locally (embedded PostgreSQL + Redis)")
    parser.add_argument("--command-port", type=_port, default=50051, help="command service port (default 50051)")
    parser.add_argument("--query-port", type=_port, default=50052, help="query service port (default 50052)")
    parser.add_argument("--projector-port", type=_port, default=50053, help="projector health port (default 50053)")
    parser.add_argument(
        "--web-port", type=_port, default=8080, help="web app + gRPC-Web gateway, one origin (default 8080)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".ameide-dev"), help="data directory (./.ameide-dev)")
    parser.add_argument("--reset", action="store_true", help="delete the data directory's contents first")
    parser.add_argument(
        "--demo", action="store_true", help="then run the artifact-first flow with live subscribers, and the demo agent"
    )
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:  # noqa: PLR2004 - the TCP port range
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return value


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Entry point of ``ameide dev``."""
    out = DevConsole()
    ports = {
        "command": args.command_port,
        "query": args.query_port,
        "projector": args.projector_port,
        "web": args.web_port,
    }
    data_dir: Path = args.data_dir.resolve()
    with dev_env.exclusive(data_dir):
        busy = [name for name, port in ports.items() if not dev_env.port_free(port)]
        if busy:
            taken = ", ".join(f"{name} port {ports[name]}" for name in busy)
            flags = "/".join(PORT_FLAGS[name] for name in busy)
            raise CliError(f"{taken} in use: stop what listens there or pass another port with {flags}")
        if args.reset:
            out.say(f"resetting {data_dir}")
            dev_env.reset(data_dir)
        keys = dev_env.load_secrets(data_dir)
        out.say(f"data in {data_dir}; starting PostgreSQL and Redis")
        with dev_env.stores(data_dir, environ) as stores:
            from ameide_migrations import upgrade  # noqa: PLC0415 - Alembic is loaded only to migrate

            upgrade(sqlalchemy_url(stores.database_url))
            out.say("database migrated")
            env = _child_env(environ, stores, keys, ports, demo=args.demo)
            web = _WebChildren.plan(data_dir, ports, env)
            token = mint_token(keys.jwt_secret, user_id=DEV_USER, tenant_id=DEV_TENANT, ttl_seconds=TOKEN_TTL_SECONDS)
            endpoints = Endpoints(
                command=f"127.0.0.1:{ports['command']}",
                query=f"127.0.0.1:{ports['query']}",
                projector_health=f"127.0.0.1:{ports['projector']}",
                web=f"http://127.0.0.1:{ports['web']}/",
                database_url=stores.database_url,
                redis_url=stores.redis_url,
                token=token,
                user_id=DEV_USER,
                tenant_id=DEV_TENANT,
            )
            asyncio.run(_supervise(env, endpoints, out, web, demo=args.demo))
    out.say("stopped")
    return 0


def _child_env(
    environ: Mapping[str, str],
    stores: dev_env.Stores,
    keys: dev_env.DevSecrets,
    ports: Mapping[str, int],
    *,
    demo: bool = False,
) -> dict[str, str]:
    env = dict(environ)
    if demo and not environ.get("AMEIDE_AGENT_BY_KIND"):
        # Chats about the demo's BPMN diagram get the demo agent, which answers them with streamed drafts.
        env["AMEIDE_AGENT_BY_KIND"] = f"bpmn={DEMO_AGENT}"
    env.update(
        {
            "AMEIDE_DATABASE_URL": stores.database_url,
            "AMEIDE_REDIS_URL": stores.redis_url,
            "AMEIDE_AUTH": "jwt",
            "AMEIDE_JWT_SECRET": keys.jwt_secret,
            "AMEIDE_TOKEN_SECRET": keys.token_secret,
            "AMEIDE_BIND_HOST": "127.0.0.1",
            "AMEIDE_COMMAND_PORT": str(ports["command"]),
            "AMEIDE_QUERY_PORT": str(ports["query"]),
            "AMEIDE_COMMAND_TARGET": f"127.0.0.1:{ports['command']}",
            "AMEIDE_PROJECTOR_HEALTH_PORT": str(ports["projector"]),
            "AMEIDE_LOG_FORMAT": environ.get("AMEIDE_LOG_FORMAT", "text"),
            "AMEIDE_SHUTDOWN_GRACE_SECONDS": "3",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Metrics on the standard ports when free; otherwise off rather than a crash loop.
    for name, port in METRICS_PORTS.items():
        env[f"AMEIDE_{name}_METRICS_PORT"] = str(port if dev_env.port_free(port) else 0)
    return env


class _WebChildren:
    """The web deployable and the gateway in front of it: their child specs and health checks."""

    def __init__(self, specs: list[ChildSpec], checks: dict[str, HealthCheck]) -> None:
        self.specs = specs
        self.checks = checks

    @classmethod
    def plan(cls, data_dir: Path, ports: Mapping[str, int], env: Mapping[str, str]) -> _WebChildren:
        """Render the gateway's configuration into the data directory; pick the internal ports."""
        web_port, health_port, admin_port = dev_env.free_port(), dev_env.free_port(), dev_env.free_port()
        folder = data_dir / "gateway"
        folder.mkdir(exist_ok=True)
        heartbeat = QuerySettings.from_env(env).heartbeat_seconds
        config = gateway.GatewayConfig(
            listen_port=ports["web"],
            health_port=health_port,
            admin_port=admin_port,
            command=gateway.Upstream("127.0.0.1", ports["command"]),
            query=gateway.Upstream("127.0.0.1", ports["query"]),
            web=gateway.Upstream("127.0.0.1", web_port),
            cors_origins=gateway.LOCAL_ORIGINS,
            stream_idle_timeout_seconds=gateway.stream_idle_timeout(heartbeat),
            access_log_path=str(folder / "access.log"),
        )
        config_path = folder / "envoy.yaml"
        config_path.write_text(gateway.render(config), encoding="utf-8")
        web_env = {**env, "AMEIDE_WEB_PORT": str(web_port), "AMEIDE_WEB_DEV_TOKENS": "true"}
        specs = [
            ChildSpec("web", [sys.executable, "-m", "ameide_cli", "serve", "web"], web_env),
            ChildSpec("gateway", gateway.argv(config_path), env),
        ]
        checks: dict[str, HealthCheck] = {
            "web": lambda: _http_ok(f"http://127.0.0.1:{web_port}/healthz"),
            "gateway": lambda: _http_ok(f"http://127.0.0.1:{health_port}/ready"),
        }
        return cls(specs, checks)


async def _supervise(
    env: dict[str, str], endpoints: Endpoints, out: DevConsole, web: _WebChildren, *, demo: bool = False
) -> None:
    specs = [ChildSpec(name, [sys.executable, "-m", "ameide_cli", "serve", name], env) for name in SERVICES]
    if demo:
        specs.append(ChildSpec("agent", [sys.executable, "-m", "ameide_cli.demo_agent"], env))
    supervisor = Supervisor([*specs, *web.specs], grace_seconds=10, on_output=out.log_line, on_event=out.event)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = asyncio.create_task(supervisor.run(stop))
    grpc_targets = {"command": endpoints.command, "query": endpoints.query, "projector": endpoints.projector_health}
    checks: dict[str, HealthCheck] = {name: _grpc_check(target) for name, target in grpc_targets.items()}
    checks.update(web.checks)
    demo_task = None
    if await _all_serving(checks, stop, out):
        out.banner(endpoints)
        if demo:
            from ameide_cli import demo as demo_flow  # noqa: PLC0415 - the SDK is loaded only for the demo

            demo_task = asyncio.create_task(demo_flow.run(endpoints, out.console, stop))
    await running
    if demo_task is not None:
        await demo_task
    out.say("services stopped; stopping PostgreSQL and Redis")


async def _all_serving(checks: Mapping[str, HealthCheck], stop: asyncio.Event, out: DevConsole) -> bool:
    """Wait until every child is healthy (or stop); say so once if that takes unusually long."""
    slow_after = time.monotonic() + SLOW_START_SECONDS
    pending = dict(checks)
    while pending and not stop.is_set():
        for name, check in list(pending.items()):
            if await check():
                del pending[name]
        if pending and time.monotonic() > slow_after:
            out.say(f"still waiting for {', '.join(pending)} to answer health checks; see the logs above")
            slow_after = float("inf")
        if pending:
            await asyncio.sleep(0.2)
    return not pending


def _grpc_check(target: str) -> HealthCheck:
    return lambda: _serving(target)


async def _http_ok(url: str) -> bool:
    def fetch() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:  # noqa: S310 - a fixed http://127.0.0.1 URL
                return bool(reply.status == 200)  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    return await asyncio.to_thread(fetch)


async def _serving(target: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
