"""Fixtures of the web app's tests: seeding through gRPC, and a page whose history calls are recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.app.seed import Seed
from tests.browser.conftest import WebStack

# Runs before the app's scripts: records every history.pushState / replaceState call (the app must make none).
RECORD_HISTORY = """
window.__historyCalls = [];
for (const name of ["pushState", "replaceState"]) {
  const original = history[name].bind(history);
  history[name] = (...args) => { window.__historyCalls.push(name); return original(...args); };
}
"""

MakeSeed = Callable[[str, str], Seed]


@pytest.fixture(name="seed")
def fixture_seed(web_stack: WebStack) -> Iterator[MakeSeed]:
    """``seed(user, tenant)``: a gRPC writer as that user (closed after the test)."""
    made: list[Seed] = []

    def make(user: str, tenant: str) -> Seed:
        writer = Seed(web_stack, user, tenant)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close()


def history_calls(page: Page) -> list[str]:
    """The history calls the page made since it loaded (needs RECORD_HISTORY as the tab's init script)."""
    calls: list[str] = page.evaluate("() => window.__historyCalls")
    return calls


def location(page: Page) -> tuple[str, int]:
    """The page's URL and history length."""
    url, length = page.evaluate("() => [location.href, history.length]")
    return str(url), int(length)
