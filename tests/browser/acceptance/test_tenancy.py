"""Criterion 6, "multi-tenancy enforced throughout": another tenant's data is ``not-found`` and absent.

Another tenant's artifact or chat is ``not-found`` and leaves nothing of it in the page; within a tenant, another
user's private chat is hidden too.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_backend import TEAM, Backend
from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser


def word() -> str:
    """A word no other test writes (search matches it alone)."""
    return f"w{uuid.uuid4().hex[:10]}"


def secrets_of(owner: Backend) -> tuple[str, str, list[str]]:
    """An artifact and a chat about it with a message: their ids and texts (title, message, chat title).

    The message ends with a word no other test writes.
    """
    title = f"Acquisition target {marker()}"
    artifact_id = owner.create_artifact(title, body=f"Confidential valuation {marker()}".encode())
    message = f"board only {marker()} {word()}"
    chat_id = owner.ensure(artifact_id, message)
    chat_title = owner.chat(chat_id).title
    return artifact_id, chat_id, [title, message, chat_title, artifact_id, chat_id]


def assert_nothing_of(app: App, texts: list[str]) -> None:
    """None of ``texts`` anywhere in the page's markup or text."""
    markup = app.page.content()
    shown = app.page.locator("body").inner_text()
    for text in texts:
        assert text not in markup, f"{text!r} is in the page"
        assert text not in shown
    expect(app.messages).to_have_count(0)


@pytest.mark.parametrize("route", ["artifact", "threads"])
def test_another_tenants_resource_is_not_found_and_not_shown(
    open_app: OpenApp, backend: MakeBackend, route: str
) -> None:
    """A user of tenant B opens tenant A's artifact or chat by id: not-found, and none of its data in the DOM."""
    artifact_id, chat_id, texts = secrets_of(backend())
    other_tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    app = open_app("mallory", other_tenant)
    app.goto(f"/artifact/{artifact_id}" if route == "artifact" else f"/threads/{chat_id}")
    expect(app.hook("not-found")).to_be_visible()
    assert_nothing_of(app, texts[:3])


def test_another_tenant_finds_nothing_on_the_home_page(open_app: OpenApp, backend: MakeBackend) -> None:
    """Tenant B's home page lists none of tenant A's chats or artifacts, and searching their words finds nothing."""
    artifact_id, chat_id, texts = secrets_of(backend())
    other_tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    own_title = f"Mallory's notes {word()}"
    own_chat = backend("mallory", other_tenant).create_chat(own_title)
    app = open_app("mallory", other_tenant)
    app.goto("/")
    expect(app.chat_item(own_chat)).to_have_count(1)
    app.search(own_title.rsplit(maxsplit=1)[-1])
    expect(app.hook("search-result")).to_have_count(1)
    expect(app.hook("search-result")).to_contain_text(own_title.rsplit(maxsplit=1)[-1])
    app.search(texts[1].split()[-1])
    expect(app.hook("search-result")).to_have_count(0)
    expect(app.chat_item(chat_id)).to_have_count(0)
    expect(app.artifact_item(artifact_id)).to_have_count(0)
    assert_nothing_of(app, texts)


def test_another_users_private_chat_is_hidden_within_the_tenant(
    open_app: OpenApp, backend: MakeBackend, tenant: str
) -> None:
    """Bob shares alice's tenant: her artifact and TEAM chat are his to see, her PRIVATE chat is not-found."""
    alice = backend()
    artifact_id, private_chat, texts = secrets_of(alice)
    team_chat = alice.create_chat(f"Team discussion {marker()}", artifact_id=artifact_id, visibility=TEAM)
    bob = open_app("bob", tenant)
    bob.goto(f"/artifact/{artifact_id}")
    expect(bob.hook("artifact-title")).to_have_text(texts[0])
    expect(bob.chat_item(team_chat)).to_have_count(1)
    expect(bob.chat_items).to_have_count(1)
    assert texts[1] not in bob.page.content()

    bob.goto(f"/threads/{private_chat}")
    expect(bob.hook("not-found")).to_be_visible()
    assert_nothing_of(bob, texts[1:3])


def test_a_chat_deleted_elsewhere_turns_not_found(open_app: OpenApp, backend: MakeBackend) -> None:
    """A chat deleted by its owner in another client: the open page says not-found; a fresh load says it too."""
    alice = backend()
    chat_id = alice.create_chat(f"Short-lived {marker()}")
    text = f"soon gone {marker()}"
    alice.send(chat_id, text)
    app = open_app()
    app.goto(f"/threads/{chat_id}")
    expect(app.message(text)).to_have_count(1)
    app.expect_live()
    alice.delete_chat(chat_id)
    expect(app.hook("not-found")).to_be_visible()
    app.page.reload()
    expect(app.hook("not-found")).to_be_visible()
    expect(app.messages).to_have_count(0)
