"""Fixtures of the acceptance suite: app tabs, the backend as another client, outages, the measurement report.

- ``open_app(user="alice", tenant=None, **open_tab_kwargs) -> App``: a tab (tests/browser/conftest.py) whose pages
  get ``acc_page.PROBES`` before the app's first script.
- ``backend(user="alice", tenant=None) -> Backend``: gRPC stubs on the services' own ports as that user.
- ``outage``: ``with outage("query"): ...`` stops a deployable (or ``"gateway"``) and makes sure it runs again
  afterwards, whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.acceptance.acc_backend import Backend
from tests.browser.acceptance.acc_page import PROBES, App
from tests.browser.acceptance.acc_report import FIGURES, REPORT_ENV, table
from tests.browser.conftest import OpenTab, WebStack

USER = "alice"

OpenApp = Callable[..., App]
MakeBackend = Callable[..., Backend]
Outage = Callable[[str], contextlib.AbstractContextManager[None]]


@pytest.fixture(name="open_app")
def fixture_open_app(open_tab: OpenTab, tenant: str) -> OpenApp:
    """Open a tab of the app as ``user`` of ``tenant`` (default: this test's tenant), probes installed."""

    def open_app(user: str = USER, tenant_id: str | None = None, **kwargs: object) -> App:
        extra = kwargs.pop("init_script", None)
        script = PROBES if extra is None else f"{PROBES}\n{extra}"
        return App(open_tab(user, tenant_id or tenant, init_script=script, **kwargs))

    return open_app


@pytest.fixture(name="backend")
def fixture_backend(web_stack: WebStack, tenant: str) -> Iterator[MakeBackend]:
    """Clients of the services as ``user`` of ``tenant`` (default: this test's tenant)."""
    made: list[Backend] = []

    def backend(user: str = USER, tenant_id: str | None = None) -> Backend:
        client = Backend(web_stack.stack, user, tenant_id or tenant)
        made.append(client)
        return client

    yield backend
    for client in made:
        client.close()


@pytest.fixture(name="outage")
def fixture_outage(web_stack: WebStack) -> Iterator[Outage]:
    """Stop a deployable (``command``, ``query``) or the ``gateway`` for the body of a ``with``."""
    stopped: list[str] = []

    def running(name: str) -> bool:
        return web_stack.gateway.running() if name == "gateway" else web_stack.stack.running(name)

    def start(name: str) -> None:
        if running(name):
            return
        if name == "gateway":
            web_stack.gateway.start()
        else:
            web_stack.stack.start(name)

    @contextlib.contextmanager
    def outage(name: str) -> Iterator[None]:
        stopped.append(name)
        if name == "gateway":
            web_stack.gateway.stop()
        else:
            web_stack.stack.stop(name)
        try:
            yield
        finally:
            start(name)

    yield outage
    for name in stopped:
        start(name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the measured figures; write them as JSON when AMEIDE_BROWSER_REPORT names a file."""
    if not FIGURES:
        return
    terminalreporter.section("web app measurements (reported, not asserted)")
    terminalreporter.write_line(table(FIGURES))
    target = os.environ.get(REPORT_ENV, "")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps([figure.as_dict() for figure in FIGURES], indent=2), encoding="utf-8")
        terminalreporter.write_line(f"written to {target}")
