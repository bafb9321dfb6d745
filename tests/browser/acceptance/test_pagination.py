"""Criterion 7 and "pagination works for all list operations": every list pages through with ``load-more``.

Every paginated list the app shows pages through completely: every item once, messages in order.

The data is seeded once for the module (the tests only read it), each list in a tenant of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_backend import Backend
from tests.browser.acceptance.acc_page import load_all, marker
from tests.browser.acceptance.conftest import USER, OpenApp
from tests.browser.conftest import WebStack

pytestmark = pytest.mark.browser

BIG_CHAT_MESSAGES = 250
ARTIFACT_CHATS = 60
CHAT_ARTIFACTS = 30
HOME_ITEMS = 45


@dataclass(frozen=True)
class Seeded:
    """What the module's tests page through."""

    tenant: str
    artifact_id: str
    artifact_chats: list[str]
    big_chat: str
    big_chat_messages: list[str]
    linked_chat: str
    linked_artifacts: list[str]
    chats_tenant: str
    home_chats: list[str]
    search_word: str
    artifacts_tenant: str
    home_artifacts: list[str]


def new_tenant() -> str:
    """A tenant of this module only."""
    return f"tenant-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module", name="seeded")
def fixture_seeded(web_stack: WebStack) -> Iterator[Seeded]:
    """An artifact with 60 chats (the newest with 250 messages), a chat with 30 artifacts, two home pages.

    The home pages: a tenant with 45 chats (all titled with one search word) and one with 45 artifacts.
    """
    tenant, chats_tenant, artifacts_tenant = new_tenant(), new_tenant(), new_tenant()
    main = Backend(web_stack.stack, USER, tenant)
    artifact_id = main.create_artifact(f"Busy artifact {marker()}")
    for number in range(ARTIFACT_CHATS - 1):
        main.ensure(artifact_id, f"chat {number} {marker()}")
    big_chat = main.ensure(artifact_id, "message 000")
    for number in range(1, BIG_CHAT_MESSAGES):
        main.send(big_chat, f"message {number:03d}")
    linked_chat = main.create_chat(f"Chat with many artifacts {marker()}")
    linked_artifacts = []
    for number in range(CHAT_ARTIFACTS):
        linked = main.create_artifact(f"Linked artifact {number} {marker()}")
        main.link(linked_chat, linked)
        linked_artifacts.append(linked)

    chats_backend = Backend(web_stack.stack, USER, chats_tenant)
    search_word = f"w{uuid.uuid4().hex[:10]}"
    home_chats = [chats_backend.create_chat(f"{search_word} topic {number:02d}") for number in range(HOME_ITEMS)]
    artifacts_backend = Backend(web_stack.stack, USER, artifacts_tenant)
    home_artifacts = [artifacts_backend.create_artifact(f"Document {number:02d}") for number in range(HOME_ITEMS)]

    seeded = Seeded(
        tenant=tenant,
        artifact_id=artifact_id,
        artifact_chats=[chat.threads_id for chat in main.artifact_chats(artifact_id)],
        big_chat=big_chat,
        big_chat_messages=[message.id for message in main.messages(big_chat)],
        linked_chat=linked_chat,
        linked_artifacts=[artifact.artifact_id for artifact in main.chat_artifacts(linked_chat)],
        chats_tenant=chats_tenant,
        home_chats=[chat.id for chat in chats_backend.chats(chats_backend.chat_barrier(home_chats[-1]))],
        search_word=search_word,
        artifacts_tenant=artifacts_tenant,
        home_artifacts=home_artifacts,
    )
    assert ARTIFACT_CHATS == len(seeded.artifact_chats)
    assert BIG_CHAT_MESSAGES == len(seeded.big_chat_messages)
    assert sorted(linked_artifacts) == sorted(seeded.linked_artifacts)
    assert sorted(home_chats) == sorted(seeded.home_chats)
    yield seeded
    for client in (main, chats_backend, artifacts_backend):
        client.close()


def assert_each_once(expected: list[str], shown: list[str]) -> None:
    """``shown`` holds every expected id exactly once and nothing else."""
    duplicates = sorted({item for item in shown if shown.count(item) > 1})
    assert [] == duplicates, "shown more than once"
    assert sorted(expected) == sorted(shown)


def test_a_chat_of_250_messages_pages_through_on_its_page(open_app: OpenApp, seeded: Seeded) -> None:
    """/threads/<id>: load-more until the first message; every message id once, oldest first."""
    app = open_app(USER, seeded.tenant)
    app.goto(f"/threads/{seeded.big_chat}")
    load_all(app, app.messages)
    assert seeded.big_chat_messages == app.message_ids()


def test_an_artifact_with_60_chats_pages_through(open_app: OpenApp, seeded: Seeded) -> None:
    """/artifact/<id>: the sidebar's load-more until every one of the 60 chats is listed once."""
    app = open_app(USER, seeded.tenant)
    app.goto(f"/artifact/{seeded.artifact_id}")
    load_all(app, app.chat_items)
    assert_each_once(seeded.artifact_chats, app.chat_ids())


def test_the_selected_chats_250_messages_page_through_on_the_artifact_page(open_app: OpenApp, seeded: Seeded) -> None:
    """/artifact/<id> with the big chat selected: the messages page upwards to the first one, in order."""
    app = open_app(USER, seeded.tenant)
    app.goto(f"/artifact/{seeded.artifact_id}")
    app.select_chat(seeded.big_chat)
    load_all(app, app.messages)
    assert seeded.big_chat_messages == app.message_ids()
    expect(app.selected_chat).to_have_attribute("data-chat-id", seeded.big_chat)


def test_a_chats_30_artifacts_page_through(open_app: OpenApp, seeded: Seeded) -> None:
    """/threads/<id>: the linked artifacts page through, each once, each an ordinary link to its page."""
    app = open_app(USER, seeded.tenant)
    app.goto(f"/threads/{seeded.linked_chat}")
    load_all(app, app.artifact_items)
    assert_each_once(seeded.linked_artifacts, app.artifact_ids())
    for artifact_id in seeded.linked_artifacts:
        expect(app.artifact_link(artifact_id)).to_have_count(1)


def test_the_home_pages_chats_page_through(open_app: OpenApp, seeded: Seeded) -> None:
    """/: the caller's 45 chats, each once."""
    app = open_app(USER, seeded.chats_tenant)
    app.goto("/")
    load_all(app, app.chat_items)
    assert_each_once(seeded.home_chats, app.chat_ids())


def test_the_home_pages_artifacts_page_through(open_app: OpenApp, seeded: Seeded) -> None:
    """/: the tenant's 45 artifacts, each once."""
    app = open_app(USER, seeded.artifacts_tenant)
    app.goto("/")
    load_all(app, app.artifact_items)
    assert_each_once(seeded.home_artifacts, app.artifact_ids())


def test_search_results_page_through(open_app: OpenApp, seeded: Seeded) -> None:
    """/: SearchChats for a word in all 45 titles: every chat found once across the pages."""
    app = open_app(USER, seeded.chats_tenant)
    app.goto("/")
    app.search(seeded.search_word)
    results = app.hook("search-result")
    load_all(app, results)
    topics = [re.findall(r"topic (\d\d)", text) for text in results.all_text_contents()]
    assert all(len(found) == 1 for found in topics), "each result names its chat"
    assert_each_once([f"{number:02d}" for number in range(HOME_ITEMS)], [found[0] for found in topics])
