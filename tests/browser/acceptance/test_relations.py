"""Criterion 8: both directions of the link between chats and artifacts, on both pages, live.

"Artifacts show all associated threads", "chats show all associated artifacts" and "creating an artifact from a
chat maintains the relationship".
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ameide_core_proto.artifacts.v1.artifacts_service_pb2 import CreateArtifactRequest
from tests.browser.acceptance.acc_backend import CREATED
from tests.browser.acceptance.acc_page import (
    CREATE_ARTIFACT_PATH,
    LoseFirstAnswer,
    assert_stayed,
    grpc_web_request,
    marker,
)
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser


def test_an_artifact_lists_its_chats_and_a_chat_its_artifacts(open_app: OpenApp, backend: MakeBackend) -> None:
    """Each page lists the other side, with titles; an artifact of a chat is an ordinary link to its page.

    Three chats about one artifact, one of them about two more.
    """
    alice = backend()
    titles = [f"Spec {number} {marker()}" for number in range(3)]
    main, second, third = (alice.create_artifact(title) for title in titles)
    chats = [alice.ensure(main, f"chat {number} {marker()}") for number in range(3)]
    for other in (second, third):
        alice.link(chats[0], other)

    app = open_app()
    app.goto(f"/artifact/{main}")
    expect(app.chat_items).to_have_count(3)
    assert sorted(chats) == sorted(app.chat_ids())
    for chat_id in chats:
        expect(app.chat_item(chat_id)).to_contain_text(alice.chat(chat_id).title)

    app.goto(f"/threads/{chats[0]}")
    expect(app.artifact_items).to_have_count(3)
    assert sorted([main, second, third]) == sorted(app.artifact_ids())
    for artifact_id, title in zip((main, second, third), titles, strict=True):
        expect(app.artifact_item(artifact_id)).to_contain_text(title)

    app.artifact_link(second).click()
    expect(app.hook("artifact-title")).to_have_text(titles[1])
    assert app.tab.url(f"/artifact/{second}") == app.page.url
    expect(app.chat_item(chats[0])).to_have_count(1)


def test_links_made_elsewhere_appear_on_both_open_pages(open_app: OpenApp, backend: MakeBackend) -> None:
    """Another client links a chat and an artifact: both open pages show the link without a reload."""
    alice = backend()
    title = f"Runbook {marker()}"
    artifact_id = alice.create_artifact(title)
    chat_id = alice.create_chat(f"Ops chat {marker()}")
    artifact_page, chat_page = open_app(), open_app()
    artifact_page.goto(f"/artifact/{artifact_id}")
    chat_page.goto(f"/threads/{chat_id}")
    for app in (artifact_page, chat_page):
        app.expect_live()
    expect(artifact_page.chat_items).to_have_count(0)
    expect(chat_page.artifact_items).to_have_count(0)

    alice.link(chat_id, artifact_id)
    expect(artifact_page.chat_item(chat_id)).to_have_count(1)
    expect(chat_page.artifact_item(artifact_id)).to_contain_text(title)


def test_an_artifact_created_from_a_chat_is_linked_as_created_on_both_pages(
    open_app: OpenApp, backend: MakeBackend
) -> None:
    """Creating an artifact on /threads/<id> links it as CREATED, shown on both pages; the URL stays.

    The chat page lists the new artifact, and the new artifact's page lists the chat. The creation form is not
    one of the stable hooks: it is found as a user finds it, by its visible labels.
    """
    alice = backend()
    chat_id = alice.create_chat(f"Process design {marker()}")
    alice.send(chat_id, f"let us draw the order process {marker()}")
    app = open_app()
    app.goto(f"/threads/{chat_id}")
    app.expect_live()
    expect(app.artifact_items).to_have_count(0)
    loaded = app.mark_loaded()

    title = f"Order process {marker()}"
    app.page.get_by_text(re.compile("create an artifact", re.IGNORECASE)).click()
    app.page.get_by_label("Title").fill(title)
    app.page.get_by_role("button", name=re.compile("create artifact", re.IGNORECASE)).click()
    created = app.artifact_items.filter(has_text=title)
    expect(created).to_have_count(1)
    artifact_id = str(created.get_attribute("data-artifact-id"))
    expect(app.page.locator("li", has=created)).to_contain_text(re.compile("created", re.IGNORECASE))
    assert_stayed(app, loaded)
    assert [(artifact_id, CREATED)] == [(ref.artifact_id, ref.relation_type) for ref in alice.chat_artifacts(chat_id)]
    assert [(chat_id, CREATED)] == [(ref.threads_id, ref.relation_type) for ref in alice.artifact_chats(artifact_id)]

    app.artifact_link(artifact_id).click()
    expect(app.hook("artifact-title")).to_have_text(title)
    assert app.tab.url(f"/artifact/{artifact_id}") == app.page.url
    expect(app.chat_item(chat_id)).to_have_count(1)
    relation = app.chat_item(chat_id).evaluate("item => `${item.textContent} ${item.getAttribute('title') ?? ''}`")
    assert re.search("created", relation, re.IGNORECASE), f"the chat's entry does not say it created this: {relation!r}"


def test_creating_an_artifact_again_after_a_lost_answer_creates_one(open_app: OpenApp, backend: MakeBackend) -> None:
    """Submitting the creation form again after a lost answer reuses its key: one artifact, linked once.

    The first CreateArtifact from the chat reaches the server and its answer is lost on the way back.
    """
    alice = backend()
    chat_id = alice.create_chat(f"Retry design {marker()}")
    app = open_app()
    app.goto(f"/threads/{chat_id}")
    app.expect_live()
    lose = LoseFirstAnswer()
    app.page.route(CREATE_ARTIFACT_PATH, lose)
    app.tab.allow_console_errors(r"net::ERR_CONNECTION_RESET")

    title = f"Escalation path {marker()}"
    app.page.get_by_text(re.compile("create an artifact", re.IGNORECASE)).click()
    app.page.get_by_label("Title").fill(title)
    form = app.page.locator("form", has=app.page.get_by_label("Title"))
    create = form.get_by_role("button", name=re.compile("create artifact", re.IGNORECASE))
    create.click()
    expect(form.get_by_role("alert")).to_be_visible()
    create.click()
    expect(app.artifact_items.filter(has_text=title)).to_have_count(1)

    keys = {grpc_web_request(body, CreateArtifactRequest).idempotency_key for body in lose.bodies}
    assert [200] == lose.lost
    assert 2 == len(lose.bodies)
    assert 1 == len(keys), f"the second submit used another idempotency key: {keys}"
    assert [title] == [ref.title for ref in alice.chat_artifacts(chat_id)]
