"""End-to-end fixtures: the real deployables (``python -m ameide_cli serve ...``) on free ports.

``stack`` (session) runs command, query and projector against the run's database and Redis in JWT mode and
offers ``command_target``, ``query_target``, ``token()``, ``metadata()``, ``settings_env``, ``kill()``,
``start()``, ``restart()`` and ``logs()``. When an e2e test fails, the deployables' logs are attached to its report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.stack import SERVICES, Stack, running_stack

_current: list[Stack] = []


@pytest.fixture(scope="session", name="stack")
def fixture_stack(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Command, query and projector running for the whole session."""
    with running_stack(database_url, redis_url, tmp_path_factory.mktemp("deployable-logs")) as stack:
        _current.append(stack)
        yield stack
        _current.remove(stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Attach the tail of every deployable's log to a failing e2e test."""
    report = yield
    if _current and call.when == "call" and getattr(report, "failed", False):
        for name in SERVICES:
            tail = "\n".join(_current[-1].logs(name).splitlines()[-60:])
            report.sections.append((f"{name} log (tail)", tail))  # type: ignore[attr-defined]
    return report
