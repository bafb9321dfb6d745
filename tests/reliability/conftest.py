"""Fixtures of the reliability scenarios: servers the tests own, the real deployables, clients and the auditor.

PostgreSQL and Redis are started by the tests themselves (so they can be crashed and restarted); the deployables
are the real ``python -m ameide_cli serve ...`` processes (two projector workers). Before every test, whatever a
previous scenario left down is brought back. At the end, the scenario table is printed (and written as JSON to
``AMEIDE_RELIABILITY_REPORT`` when set).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_migrations import upgrade
from tests.integration.feed.feed_redis_process import RedisProcess, redis_process
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Stubs, stubs
from tests.reliability.rel_fleet import Fleet, running_fleet
from tests.reliability.rel_report import ROWS, table
from tests.reliability.rel_servers import PgCluster, pg_cluster
from tests.support.servers import fresh_database

INSTANCES = ("command", "query", "projector", "projector-2")
FLEET_ENV = {
    # Short heartbeats find a lost notification quickly in the bounded scenarios; the soak (tox -e soak) sets the
    # production default (15 s) through AMEIDE_RELIABILITY_HEARTBEAT_SECONDS.
    "AMEIDE_HEARTBEAT_SECONDS": os.environ.get("AMEIDE_RELIABILITY_HEARTBEAT_SECONDS", "2"),
    "AMEIDE_SHUTDOWN_GRACE_SECONDS": "3",
    "AMEIDE_CONSISTENCY_WAIT_MS": "3000",
    # The scenarios can be run with group commit on too (D65): AMEIDE_RELIABILITY_GROUP_COMMIT=true.
    "AMEIDE_GROUP_COMMIT": os.environ.get("AMEIDE_RELIABILITY_GROUP_COMMIT", "false"),
}

_fleets: list[Fleet] = []


@pytest.fixture(scope="session", name="pg")
def fixture_pg() -> Iterator[PgCluster]:
    """A PostgreSQL cluster the scenarios may crash."""
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session", name="own_redis")
def fixture_own_redis() -> Iterator[RedisProcess]:
    """A redis-server the scenarios may kill and restart (empty)."""
    with redis_process() as proc:
        yield proc


@pytest.fixture(scope="session", name="rel_database_url")
def fixture_rel_database_url(pg: PgCluster) -> Iterator[str]:
    """A migrated database on the test-owned cluster."""
    with fresh_database(pg.url, f"ameide_rel_{uuid.uuid4().hex[:10]}") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session", name="fleet")
def fixture_fleet(
    rel_database_url: str, own_redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """Command, query and two projector workers."""
    logs = tmp_path_factory.mktemp("fleet-logs")
    with running_fleet(rel_database_url, own_redis.url, logs, INSTANCES, extra_env=FLEET_ENV) as fleet:
        _fleets.append(fleet)
        yield fleet
        _fleets.remove(fleet)


@pytest.fixture(scope="session", name="rel_engine")
async def fixture_rel_engine(rel_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the scenarios' database (the auditor's and the tests' own reads)."""
    engine = create_async_engine(rel_database_url, pool_size=4, max_overflow=4, pool_pre_ping=True)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session", name="clients")
async def fixture_clients(fleet: Fleet) -> AsyncIterator[Stubs]:
    """Stubs of the fleet's command and query services."""
    made = stubs(fleet)
    yield made
    await made.close()


@pytest.fixture(scope="session", name="auditor")
def fixture_auditor(rel_engine: AsyncEngine, clients: Stubs, own_redis: RedisProcess) -> Auditor:
    """The auditor of the scenarios' database."""
    return Auditor(rel_engine, clients, own_redis.url)


@pytest.fixture(autouse=True)
def _healthy(request: pytest.FixtureRequest) -> None:
    """Bring back whatever an earlier scenario left down (only for tests that use the fleet)."""
    if "fleet" not in request.fixturenames:
        return
    pg: PgCluster = request.getfixturevalue("pg")
    redis: RedisProcess = request.getfixturevalue("own_redis")
    fleet: Fleet = request.getfixturevalue("fleet")
    if not pg.running():
        pg.start()
    if redis._proc is None:
        redis.start()
    down = [name for name, alive in fleet.alive().items() if not alive]
    if down:
        fleet.start_many(down)


# Every wait inside a scenario is bounded on its own (120 s at most); this only stops a scenario that a loaded
# machine slows far beyond its usual minute, instead of the suite-wide 300 s per test.
SCENARIO_TIMEOUT = 900


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the reliability scenarios their own hang guard."""
    del config
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.resolve().is_relative_to(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SCENARIO_TIMEOUT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Attach the tail of every deployable's log to a failing scenario."""
    report = yield
    if _fleets and call.when == "call" and getattr(report, "failed", False):
        for name in _fleets[-1].names():
            tail = "\n".join(_fleets[-1].logs(name).splitlines()[-60:])
            report.sections.append((f"{name} log (tail)", tail))  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the scenario table; write it as JSON when AMEIDE_RELIABILITY_REPORT names a file."""
    if not ROWS:
        return
    terminalreporter.section("reliability scenarios")
    terminalreporter.write_line(table(ROWS))
    target = os.environ.get("AMEIDE_RELIABILITY_REPORT", "")
    if target:
        Path(target).write_text(json.dumps([row.as_dict() for row in ROWS], indent=2), encoding="utf-8")
