"""Browser harness: the real processes behind the gateway, driven by Debian's headless Chromium (Playwright).

Session-wide, ``web_stack`` runs command, query, projector, the web deployable (development tokens on) and the
Envoy gateway on free ports against the run's database and Redis (presence TTLs shortened: ``LIVE_TTLS``);
``browser`` is one headless Chromium. Tests open tabs with ``open_tab``: each is its own browser context (own
storage: one simulated user or tab) reaching the gateway through its own TCP proxy, so a test can cut that tab's
open connections and restore them (Chromium's offline emulation leaves an open stream running, so it cannot stand
in for a network loss).

Fixtures:
- ``web_stack`` -> ``WebStack``: ``.stack`` (tests/support/stack.py: tokens, targets, stop/start/restart of the
  deployables), ``.gateway`` (tests/support/gateway.py: ``.url``, stop/start/restart), ``.token(user, tenant)``.
- ``browser`` -> ``playwright.sync_api.Browser``.
- ``tenant`` -> a fresh tenant id per test (tests share one stack; tenants keep their data apart).
- ``open_tab(user="dev-user", tenant=None, *, token=None, seed_token=True, init_script=None) -> Tab``: a new
  context and page. The bearer token (``token``, else one minted for user and tenant) is in
  ``localStorage["ameide.token"]`` before the app's first script runs; ``seed_token=False`` leaves storage empty
  so the app fetches ``/dev/token``. ``init_script`` runs before every page script (e.g. instrumenting history).

A ``Tab`` has ``.page``, ``.context``, ``.url(path)``, ``.goto(path)``, ``.cut()`` / ``.restore()`` (drop every
open connection of this tab and refuse to carry traffic until restored), ``.console_errors`` and
``.allow_console_errors(regex)``. A test fails if any of its tabs logged a console error or an uncaught page
error that it did not allow; the network errors a cut causes are allowed on that tab.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    StorageState,
    expect,
    sync_playwright,
)

from ameide_web.dev_tokens import DEFAULT_TENANT, DEFAULT_USER
from tests.reliability.rel_proxy import FaultProxy
from tests.support.gateway import Gateway
from tests.support.stack import Stack, running_stack

TOKEN_KEY = "ameide.token"
CHROMIUM_ENV = "AMEIDE_CHROMIUM"
CHROMIUM_CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser")
INSTALL_HINT = (
    "Chromium is missing: apt-get update && apt-get install -y chromium-headless-shell "
    f"(or point {CHROMIUM_ENV} at a Chromium binary)"
)
# The flags headless Chromium needs on these machines (root, no GPU, no sandbox) and no background traffic.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Presence that vanishes without leaving (a tab cut off) is gone after the viewing TTL: short enough that a test
# waits for it within its timeout, long enough that a busy machine's tab still renews in time (every third of it).
LIVE_TTLS = {"AMEIDE_PRESENCE_VIEWING_TTL_SECONDS": "9", "AMEIDE_PRESENCE_TYPING_TTL_SECONDS": "4"}
NETWORK_ERRORS = re.compile(r"net::ERR_|Failed to fetch|network error|NetworkError|ERR_CONNECTION", re.IGNORECASE)
TIMEOUT_MS = 20_000

_TABS = pytest.StashKey[list["Tab"]]()


def chromium_path() -> str:
    """The Chromium binary: AMEIDE_CHROMIUM, else Debian's headless shell or chromium on PATH."""
    configured = os.environ.get(CHROMIUM_ENV, "")
    if configured:
        if not Path(configured).exists():
            pytest.fail(f"{CHROMIUM_ENV}={configured} does not exist. {INSTALL_HINT}", pytrace=False)
        return configured
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(INSTALL_HINT, pytrace=False)


@dataclass
class WebStack:
    """The real processes a browser test talks to."""

    stack: Stack
    gateway: Gateway

    def token(self, user_id: str, tenant_id: str) -> str:
        """A JWT the services accept, for this user and tenant."""
        return self.stack.token(user_id, tenant_id)


@dataclass
class Tab:
    """One browser context and page behind its own cuttable TCP proxy."""

    context: BrowserContext
    page: Page
    proxy: FaultProxy
    console_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    was_cut: bool = False

    @property
    def base_url(self) -> str:
        """The origin this tab talks to (its proxy in front of the gateway)."""
        return f"http://127.0.0.1:{self.proxy.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this tab's origin."""
        return self.base_url + path

    def goto(self, path: str) -> None:
        """Navigate this tab to ``path`` and wait for the page to load."""
        self.page.goto(self.url(path), wait_until="load")

    def cut(self) -> None:
        """Drop every open connection of this tab and hold new ones until ``restore``."""
        self.was_cut = True
        self.proxy.partition()
        self.proxy.reset()

    def restore(self) -> None:
        """Let this tab's traffic flow again (held connections proceed)."""
        self.proxy.heal()

    def allow_console_errors(self, pattern: str) -> None:
        """Console errors matching ``pattern`` are expected in this test (e.g. a service it stopped)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_console_errors(self) -> list[str]:
        """Console and page errors the test did not allow."""
        allowed = [*self.allowed, *([NETWORK_ERRORS] if self.was_cut else [])]
        return [text for text in self.console_errors if not any(p.search(text) for p in allowed)]

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"console.error: {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self.console_errors.append(f"uncaught: {error.message}")


@pytest.fixture(scope="session", name="web_stack")
def fixture_web_stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    """Command, query, projector, web (development tokens on) and the gateway, for the whole session."""
    logs = tmp_path_factory.mktemp("browser-stack")
    with running_stack(database_url, redis_url, logs, env={"query": LIVE_TTLS}) as stack:
        stack.configure("web", {"AMEIDE_WEB_DEV_TOKENS": "true"})
        stack.start("web")
        gateway = Gateway(stack, logs)
        gateway.start()
        try:
            yield WebStack(stack, gateway)
        finally:
            gateway.stop()


@pytest.fixture(scope="session", name="playwright")
def fixture_playwright() -> Iterator[Playwright]:
    """The Playwright driver (no browser download: Chromium comes from the system)."""
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session", name="browser")
def fixture_browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the session; every tab is a fresh context in it."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True)
    yield browser
    browser.close()


@pytest.fixture(name="tenant")
def fixture_tenant() -> str:
    """A tenant of this test only."""
    return f"tenant-{uuid.uuid4().hex[:12]}"


OpenTab = Callable[..., Tab]


@pytest.fixture(name="open_tab")
def fixture_open_tab(request: pytest.FixtureRequest, web_stack: WebStack, browser: Browser) -> Iterator[OpenTab]:
    """Open tabs (contexts) for this test; closes them and their proxies afterwards."""
    tabs: list[Tab] = []
    request.node.stash[_TABS] = tabs

    def open_tab(
        user: str = DEFAULT_USER,
        tenant: str | None = None,
        *,
        token: str | None = None,
        seed_token: bool = True,
        init_script: str | None = None,
    ) -> Tab:
        proxy = FaultProxy(web_stack.gateway.port)
        proxy.start()
        origin = f"http://127.0.0.1:{proxy.port}"
        value = token or web_stack.token(user, tenant or DEFAULT_TENANT)
        state: StorageState = {
            "cookies": [],
            "origins": [
                {"origin": origin, "localStorage": [{"name": TOKEN_KEY, "value": value}] if seed_token else []}
            ],
        }
        context = browser.new_context(storage_state=state)
        context.set_default_timeout(TIMEOUT_MS)
        if init_script is not None:
            context.add_init_script(script=init_script)
        page = context.new_page()
        tab = Tab(context=context, page=page, proxy=proxy)
        page.on("console", tab._on_console)
        page.on("pageerror", tab._on_page_error)
        tabs.append(tab)
        return tab

    yield open_tab
    for tab in tabs:
        tab.proxy.heal()
        tab.context.close()
        tab.proxy.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test whose tabs logged console errors it did not allow."""
    result = yield
    unexpected = [text for tab in item.stash.get(_TABS, []) for text in tab.unexpected_console_errors()]
    if unexpected:
        listed = "\n  ".join(unexpected)
        pytest.fail(f"the page logged errors:\n  {listed}", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Attach the gateway's and web deployable's log tails to a failing browser test."""
    report = yield
    if call.when == "call" and getattr(report, "failed", False) and "web_stack" in getattr(item, "funcargs", {}):
        web_stack: WebStack = item.funcargs["web_stack"]  # type: ignore[attr-defined]
        for name, text in (("gateway", web_stack.gateway.logs()), ("web", web_stack.stack.logs("web"))):
            report.sections.append((f"{name} log (tail)", "\n".join(text.splitlines()[-40:])))  # type: ignore[attr-defined]
    return report
