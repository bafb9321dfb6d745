"""Validate the Helm chart offline: strict lint, schema rejection, render, Kubernetes JSON-schema validation.

Usage: ``python tools/helm_check.py deploy/helm/ameide``. Needs only ``helm-python-sdk`` (Helm's Go SDK through
ctypes, no helm binary) and ``kubernetes-validate`` (bundled Kubernetes JSON schemas); nothing touches the network.

Steps, each failure collected and reported, exit status 1 if any:

1. ``helm lint --strict`` at every Kubernetes version, with the default values and every ``ci/*-values.yaml``.
2. Invalid values (wrong types, unknown keys, secret values, root uid, ...) must be rejected by
   ``values.schema.json``; relations the schema cannot express must be rejected by the templates' ``fail``.
3. Render the default values and every ``ci/*-values.yaml`` (hooks included, ``NOTES.txt`` skipped) and
   validate each document strictly against the Kubernetes schemas of every version. A missing schema is a
   failure (a removed or misspelt apiVersion), except for the CRD kinds in ``CRD_KINDS``: kubernetes-validate
   ships no CRD schemas, so those are skipped explicitly and reported as skipped.
4. Print the kinds and counts rendered per values file.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

KUBE_VERSIONS = ("1.29.0", "1.33.0")
LINT_WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error; --strict fails on warnings too
RELEASE = "threads"
NAMESPACE = "ameide"

# Custom resources the chart may render. kubernetes-validate has no schema for them, so they are skipped by
# name (apiVersion, kind); anything else without a schema fails the check.
CRD_KINDS = frozenset(
    {
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("gateway.networking.k8s.io/v1", "GRPCRoute"),
    }
)

# (label, values, JSON pointer the error must name) that values.schema.json must reject with HelmValuesError.
SCHEMA_REJECTS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("replicas as a string", {"command": {"replicas": "two"}}, "/command/replicas"),
    ("unknown top-level key", {"replicaCount": 3}, "'replicaCount' not allowed"),
    ("misspelt nested key", {"query": {"autoscaling": {"maxReplica": 5}}}, "'maxReplica' not allowed"),
    ("auth mode outside the enum", {"config": {"auth": "none"}}, "/config/auth"),
    ("secret value instead of a reference", {"secrets": {"redis": {"value": "redis://r:6379/0"}}}, "/secrets/redis"),
    (
        "secret variable smuggled through config.extra",
        {"config": {"extra": {"AMEIDE_TOKEN_SECRET": "x" * 32}}},
        "'AMEIDE_TOKEN_SECRET'",
    ),
    ("empty Secret name for the database", {"secrets": {"database": {"name": ""}}}, "/secrets/database/name"),
    ("root uid", {"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser"),
    ("port out of range", {"query": {"port": 70000}}, "/query/port"),
    (
        "CPU target above 100 %",
        {"command": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}},
        "/command/autoscaling/targetCPUUtilizationPercentage",
    ),
    ("image digest that is not sha256", {"image": {"digest": "latest"}}, "/image/digest"),
    ("unknown projector error policy", {"config": {"projectorOnError": "ignore"}}, "/config/projectorOnError"),
    ("gateway image off the pinned Envoy", {"gateway": {"image": {"tag": "latest"}}}, "/gateway/image/tag"),
    ("CORS origin with a path", {"gateway": {"cors": {"allowedOrigins": ["https://a.example/app"]}}}, "/gateway/cors"),
)

# (label, values, text the error must contain) that the templates' `fail` must reject: cross-field rules.
TEMPLATE_REJECTS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "grace period not above the drain time",
        {"config": {"shutdownGraceSeconds": 30}},
        "terminationGracePeriodSeconds",
    ),
    (
        "HPA min above max",
        {"command": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}},
        "minReplicas",
    ),
    ("RS256 with an HMAC secret", {"config": {"jwtAlgorithms": ["RS256"]}}, "jwtAlgorithms"),
    ("NetworkPolicy without database egress", {"networkPolicy": {"enabled": True}}, "networkPolicy.egress"),
    ("gateway listener on its health port", {"gateway": {"healthPort": 8080}}, "gateway.healthPort"),
)


class Checker:
    """Runs the checks against one chart and collects failures instead of stopping at the first."""

    def __init__(self, chart_dir: Path) -> None:
        self.chart_dir = chart_dir
        self.chart = helm.Chart.load(str(chart_dir))
        self.failures: list[str] = []
        self.value_sets: dict[str, dict[str, Any]] = {"default values": {}}
        for path in sorted((chart_dir / "ci").glob("*-values.yaml")):
            self.value_sets[path.name] = yaml.safe_load(path.read_text()) or {}

    def fail(self, message: str) -> None:
        """Record one failure and print it at once, so a long run shows progress."""
        self.failures.append(message)
        print(f"FAIL {message}")

    def lint(self) -> None:
        """Strict lint: the SDK reports findings as data; errors and warnings both fail."""
        for version in KUBE_VERSIONS:
            for label, values in self.value_sets.items():
                report = helm.lint(str(self.chart_dir), values, strict=True, kube_version=f"v{version}")
                problems = [m for m in report.get("messages") or [] if m["severity"] >= LINT_WARNING]
                for message in problems:
                    self.fail(f"lint {label} @ {version}: {message['path']}: {message['error']}")
                for error in report.get("errors") or []:
                    self.fail(f"lint {label} @ {version}: {error}")

    def rejections(self) -> None:
        """Invalid values must not render: the schema catches shapes, the templates catch relations."""
        for label, values, expected in SCHEMA_REJECTS:
            try:
                self.render(values)
            except helm.HelmValuesError as exc:
                if expected not in str(exc):  # rejected, but for another reason than the one under test
                    self.fail(f"schema rejected {label} without naming {expected!r}: {exc}")
                continue
            except helm.HelmError as exc:
                self.fail(f"schema should reject {label}, but rendering failed otherwise: {exc}")
                continue
            self.fail(f"schema accepted invalid values: {label}")
        for label, values, expected in TEMPLATE_REJECTS:
            try:
                self.render(values)
            except helm.HelmError as exc:
                if expected not in str(exc):
                    self.fail(f"template rejected {label} with an unexpected message: {exc}")
                continue
            self.fail(f"templates accepted invalid values: {label}")

    def render(self, values: dict[str, Any]) -> dict[str, str]:
        """Render like `helm template`/install: hooks included, no cluster contacted."""
        manifests: dict[str, str] = self.chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        return manifests

    def documents(self, values: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (template path, manifest) for every rendered document; NOTES.txt is text, not a manifest."""
        for path, text in sorted(self.render(values).items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    yield path, doc

    def validate(self) -> dict[str, Counter[str]]:
        """Render each value set and validate every document at every Kubernetes version."""
        summary: dict[str, Counter[str]] = {}
        for label, values in self.value_sets.items():
            kinds: Counter[str] = Counter()
            seen: set[tuple[str, str]] = set()
            try:
                docs = list(self.documents(values))
            except helm.HelmError as exc:
                self.fail(f"render {label}: {exc}")
                continue
            for path, doc in docs:
                kind, name = doc.get("kind", "?"), doc.get("metadata", {}).get("name", "?")
                kinds[kind] += 1
                if (kind, name) in seen:
                    self.fail(f"{label}: duplicate {kind}/{name}")
                seen.add((kind, name))
                if (doc.get("apiVersion"), kind) in CRD_KINDS:
                    continue
                for version in KUBE_VERSIONS:
                    self.validate_doc(f"{label} {path} {kind}/{name} @ {version}", doc, version)
            summary[label] = kinds
        return summary

    def validate_doc(self, where: str, doc: dict[str, Any], version: str) -> None:
        """Strict schema validation; an unknown apiVersion/kind is a failure, not a warning."""
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except ValidationError as exc:
            location = "/".join(str(p) for p in exc.path)
            self.fail(f"{where}: {location}: {exc.message}")
        except SchemaNotFoundError as exc:
            self.fail(f"{where}: {exc.message}")  # str(exc) is empty, the text is on .message


def main(argv: list[str] | None = None) -> int:
    """Run every check on the chart given on the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path, help="chart directory, e.g. deploy/helm/ameide")
    args = parser.parse_args(argv)

    checker = Checker(args.chart)
    checker.lint()
    checker.rejections()
    summary = checker.validate()

    print(f"\nKubernetes versions: {', '.join(KUBE_VERSIONS)}; release {RELEASE!r} in namespace {NAMESPACE!r}")
    print(f"Rejected as intended: {len(SCHEMA_REJECTS)} schema cases, {len(TEMPLATE_REJECTS)} template cases")
    crd_names = {kind for _, kind in CRD_KINDS}
    for label, kinds in summary.items():
        total = sum(kinds.values())
        print(f"\n{label}: {total} documents")
        for kind, count in sorted(kinds.items()):
            note = "  (CRD: no bundled schema, validation skipped)" if kind in crd_names else ""
            print(f"  {kind:<26}{count:>3}{note}")
    if checker.failures:
        print(f"\n{len(checker.failures)} failure(s)")
        return 1
    print("\nOK: lint, schema rejections and Kubernetes schema validation passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
