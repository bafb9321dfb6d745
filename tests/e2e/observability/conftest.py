"""The deployables of the observability tests: a private database, spans to one file, a metrics port each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.observability.obs_harness import Deployment, deployment, private_database


@pytest.fixture(scope="session", name="observed")
def fixture_observed(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Deployment, Path]]:
    """Command, query and projector writing their spans to one file (``AMEIDE_TRACE_FILE``) and serving metrics."""
    logs = tmp_path_factory.mktemp("observed-logs")
    trace_file = logs / "spans.jsonl"
    env = {"AMEIDE_TRACE_FILE": str(trace_file), "OTEL_TRACES_SAMPLER": "parentbased_always_on"}
    with private_database(postgres_server_url) as url, deployment(url, redis_url, logs, extra_env=env) as deployed:
        deployed.start_many(["command", "projector", "query"])
        yield deployed, trace_file
