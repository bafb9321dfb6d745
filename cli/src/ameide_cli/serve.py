"""``ameide serve command|query|projector|web [--workers N]``: run one deployable.

Each deployable reads its own settings (``ameide_<name>.config``: only the variables it uses are read and checked)
and has one composition root, ``ameide_<name>.bootstrap.bootstrap(settings)``, an async context manager yielding
an app: command and query apps have ``bindings`` (``ServiceBinding``s) and ``on_shutdown`` callbacks; the
projector app has ``async run(stop_event)``. With ``--workers N`` the process supervises N workers that share the
port (SO_REUSEPORT) and serves their aggregated Prometheus metrics itself. ``web`` serves the app bundle over HTTP
(``ameide_web``): no gRPC, no database, one process.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys
import tempfile
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

from ameide_cli.commands import Bootstrap, Subparsers
from ameide_cli.errors import CliError
from ameide_cli.supervisor import ChildSpec, Supervisor
from ameide_runtime.gc_tuning import tune_for_serving
from ameide_runtime.grpc_server import run_worker, serve
from ameide_runtime.metrics import start_metrics_server
from ameide_runtime.settings import AuthSettings, ServerSettings
from ameide_runtime.telemetry import configure_logging, configure_tracing, shutdown_tracing

SERVICES = ("command", "query", "projector", "web")
PROJECTOR_HEALTH_NAME = "ameide.projector"


def register(subparsers: Subparsers) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser("serve", help="run the command, query, projector or web deployable")
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--workers", type=_positive, default=1, help="processes sharing the port (default 1)")
    # Set by the --workers supervisor on its children: share the port, leave metrics to the supervisor.
    parser.add_argument("--pool-worker", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class DeployableSettings(Protocol):
    """What serving needs from any deployable's settings."""

    @property
    def server(self) -> ServerSettings:
        """Its server section."""

    def ports(self) -> tuple[int, int]:
        """Its serving (or health) port and its metrics port."""


# Each deployable's settings class: ``ameide_<service>.config.<name>``.
SETTINGS_CLASSES = {
    "command": "CommandSettings",
    "query": "QuerySettings",
    "projector": "ProjectorSettings",
    "web": "WebSettings",
}


def _deployable_module(service: str, part: str) -> ModuleType:
    """``ameide_<service>.<part>``, imported only now (each deployable loads only its own code)."""
    module_name = f"ameide_{service}.{part}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise CliError(f"the {service} service is not installed yet ({module_name} is missing)") from exc
        raise


def load_settings(service: str, environ: Mapping[str, str]) -> DeployableSettings:
    """The deployable's settings, read from ``environ`` (``SettingsError`` names a bad variable)."""
    settings_class: Any = getattr(_deployable_module(service, "config"), SETTINGS_CLASSES[service])
    settings: DeployableSettings = settings_class.from_env(environ)
    return settings


def load_bootstrap(service: str) -> Bootstrap:
    """``ameide_<service>.bootstrap.bootstrap``."""
    bootstrap: Bootstrap = _deployable_module(service, "bootstrap").bootstrap
    return bootstrap


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Entry point of ``ameide serve``."""
    settings = load_settings(args.service, environ)
    configure_logging(settings.server, args.service)
    if args.service == "web":
        return _serve_web(args, settings)
    if args.workers > 1:
        return asyncio.run(_supervise_pool(args.service, args.workers, settings, environ))
    bootstrap = load_bootstrap(args.service)
    configure_tracing(f"ameide-{args.service}", environ, trace_file=settings.server.trace_file)
    try:
        asyncio.run(_serve_one(args.service, bootstrap, settings, pool_worker=args.pool_worker))
    finally:
        shutdown_tracing()
    return 0


def _serve_web(args: argparse.Namespace, settings: DeployableSettings) -> int:
    if args.workers > 1:
        raise CliError("ameide serve web runs one process: scale it with replicas, not --workers", code=2)
    from ameide_web import server as web_server  # noqa: PLC0415
    from ameide_web.bundle import BundleError  # noqa: PLC0415 - each deployable loads only its own code
    from ameide_web.config import WebSettings  # noqa: PLC0415

    assert isinstance(settings, WebSettings)  # noqa: S101 - load_settings("web") reads WebSettings
    try:
        app = web_server.load_app(settings)
    except BundleError as exc:
        raise CliError(str(exc)) from exc
    asyncio.run(web_server.serve(settings, app))
    return 0


async def _serve_one(service: str, bootstrap: Bootstrap, settings: DeployableSettings, *, pool_worker: bool) -> None:
    port, metrics_port = settings.ports()
    metrics = None if pool_worker or metrics_port == 0 else metrics_port
    async with bootstrap(settings) as app:
        tune_for_serving()  # start-up done: freeze what it built, collect young objects less often
        if service == "projector":
            await run_worker(
                settings.server,
                app.run,
                service_name=PROJECTOR_HEALTH_NAME,
                health_port=port,
                metrics_port=metrics,
                reuse_port=pool_worker,
            )
        else:
            await serve(
                settings.server,
                _auth_of(settings),
                app.bindings,
                port=port,
                metrics_port=metrics,
                on_shutdown=list(app.on_shutdown),
                reuse_port=pool_worker,
            )


def _auth_of(settings: DeployableSettings) -> AuthSettings:
    """The authentication section of a deployable that serves client calls."""
    auth = getattr(settings, "auth", None)
    if not isinstance(auth, AuthSettings):
        raise TypeError(f"{type(settings).__name__} has no authentication settings")
    return auth


async def _supervise_pool(service: str, workers: int, settings: DeployableSettings, environ: Mapping[str, str]) -> int:
    port, metrics_port = settings.ports()
    if port == 0:
        raise CliError("--workers needs a fixed port: set the service's AMEIDE_*_PORT to a non-zero value")
    with tempfile.TemporaryDirectory(prefix="ameide-metrics-") as metrics_dir:
        env = {**environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        argv = [sys.executable, "-m", "ameide_cli", "serve", service, "--pool-worker"]
        specs = [ChildSpec(f"{service}-{index}", argv, env) for index in range(workers)]
        supervisor = Supervisor(
            specs,
            grace_seconds=settings.server.shutdown_grace_seconds + 5,
            on_event=lambda name, text: print(f"[{name}] {text}", file=sys.stderr, flush=True),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        stop_metrics = None
        if metrics_port:
            stop_metrics = start_metrics_server(metrics_port, settings.server.bind_host, multiprocess_dir=metrics_dir)
        try:
            await supervisor.run(stop)
        finally:
            if stop_metrics is not None:
                stop_metrics()
    return 0
