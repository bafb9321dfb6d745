"""Figures the acceptance run reports, never asserts: time to the first message, and the bundle's size.

The time from navigation to the first message rendered on both pages, and the size of the committed bundle as
served (gzip). The table is printed at the end of the session and written to AMEIDE_BROWSER_REPORT.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ameide_web.bundle import Bundle, shipped_directory
from tests.browser.acceptance.acc_page import marker
from tests.browser.acceptance.acc_report import record_samples, record_value
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser

LOADS = 5
MESSAGES = 20
ASSET_REFERENCE = re.compile(r'(?:src|href)="(/[^"]+)"')
DOM_CONTENT_LOADED = "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"


@pytest.mark.parametrize("route", ["threads", "artifact"])
def test_time_from_navigation_to_the_first_message(open_app: OpenApp, backend: MakeBackend, route: str) -> None:
    """Five loads of a chat of 20 messages each show all of them; the time to the first one is reported.

    The chat page's first load is cold, the rest are refreshes; the time is from navigation start to the first
    ``message`` element.
    """
    alice = backend()
    artifact_id = alice.create_artifact(f"Load timing {marker()}")
    chat_id = alice.ensure(artifact_id, "message 00")
    for number in range(1, MESSAGES):
        alice.send(chat_id, f"message {number:02d}")
    app = open_app()
    if route == "threads":
        app.goto(f"/threads/{chat_id}")
    else:
        app.goto(f"/artifact/{artifact_id}")
        app.select_chat(chat_id)
    samples, parsed = [], []
    for load in range(LOADS):
        # The artifact page shows messages once a chat is selected: its loads are refreshes restoring the selection.
        if load or route == "artifact":
            app.page.reload()
        samples.append(app.first_message_at())
        parsed.append(app.page.evaluate(DOM_CONTENT_LOADED))
        expect(app.messages).to_have_count(MESSAGES)
    loads = f"{LOADS} loads" + (", the first cold" if route == "threads" else ", refreshes")
    record_samples(
        f"navigation -> first message (/{route}/<id>)", samples, notes=f"{loads}, chat of {MESSAGES} messages"
    )
    record_samples(
        f"navigation -> DOMContentLoaded (baseline, same /{route}/<id> loads)",
        parsed,
        notes="the document and the app's script, before any call",
    )


def test_bundle_size_as_served() -> None:
    """The committed bundle: every file index.html references is in it; raw and gzip sizes are reported."""
    bundle = Bundle.load(shipped_directory())
    index = bundle.index.body.decode()
    referenced = ASSET_REFERENCE.findall(index)
    assert referenced, "index.html references no script"
    assert [] == [path for path in referenced if path not in bundle.files]
    raw = sum(len(asset.body) for asset in bundle.files.values())
    served = sum(len(asset.gzipped or asset.body) for asset in bundle.files.values())
    scripts = sum(len(asset.gzipped or asset.body) for path, asset in bundle.files.items() if path.endswith(".js"))
    record_value("bundle, every file, raw", raw / 1024, unit="KiB", notes=f"{len(bundle.files)} files")
    record_value("bundle, every file, gzip -9 as served", served / 1024, unit="KiB")
    record_value("bundle, JavaScript only, gzip -9", scripts / 1024, unit="KiB")
