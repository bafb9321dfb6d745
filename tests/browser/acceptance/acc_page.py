"""The app as an external suite sees it: public URLs, the stable ``data-testid`` hooks, and probes.

The probes are installed before the app's first script runs.

The probes (one init script, ``PROBES``) record, per document: every ``history.pushState`` / ``replaceState`` /
``back`` / ``forward`` / ``go`` call and every same-document navigation (Navigation API, ``popstate``,
``hashchange``), a random id of the document (a reload makes a new one), the wall-clock time each message
*marker* (``mark-`` and 12 hex digits, see ``marker``) first appears inside a ``message`` element (and inside a
``draft`` element), when each ``presence-item`` user in each state last appeared, the time since navigation of the
first ``message`` element, and how many message writes (Ensure, SendMessage) are in flight.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message
from playwright.sync_api import Locator, Page, Response, Route, expect

from tests.browser.conftest import Tab

ENSURE_PATH = "**/ameide_core_proto.threads.v1.ChatCommandService/EnsureChatForArtifactAndSendMessage"
CREATE_ARTIFACT_PATH = "**/ameide_core_proto.artifacts.v1.ArtifactCommandService/CreateArtifact"
GRPC_WEB_HEADER = 5  # one flag byte and a four-byte length before each gRPC-Web message

PROBES = r"""(() => {
  if (window.__ameideProbe) { return; }
  const probe = {
    document: Math.random().toString(36).slice(2) + Date.now().toString(36),
    calls: [], navigations: [], seen: {}, firstMessageAt: null, writesInflight: 0, writesStarted: 0, writesSettled: 0,
    mark: null, seenInDraft: {}, presence: {}, presenceShown: new Set(),
  };
  Object.defineProperty(window, "__ameideProbe", { value: probe });
  const absolute = (url) => (url === undefined || url === null ? null : new URL(String(url), location.href).href);
  for (const kind of ["pushState", "replaceState"]) {
    const original = History.prototype[kind];
    History.prototype[kind] = function (...args) {
      probe.calls.push({ kind, url: absolute(args[2]), from: location.href, at: performance.now() });
      return original.apply(this, args);
    };
  }
  for (const kind of ["back", "forward", "go"]) {
    const original = History.prototype[kind];
    History.prototype[kind] = function (...args) {
      probe.calls.push({ kind, url: null, from: location.href, at: performance.now() });
      return original.apply(this, args);
    };
  }
  if (window.navigation) {
    window.navigation.addEventListener("navigate", (event) => {
      probe.navigations.push({ kind: "navigate:" + event.navigationType, url: event.destination.url });
    });
  }
  window.addEventListener("popstate", () => probe.navigations.push({ kind: "popstate", url: location.href }));
  window.addEventListener("hashchange", () => probe.navigations.push({ kind: "hashchange", url: location.href }));

  const MARK = /mark-[0-9a-f]{12}/g;
  const scan = () => {
    const messages = document.querySelectorAll('[data-testid="message"]');
    if (messages.length > 0 && probe.firstMessageAt === null) { probe.firstMessageAt = performance.now(); }
    for (const element of messages) {
      for (const found of (element.textContent || "").matchAll(MARK)) {
        if (!(found[0] in probe.seen)) { probe.seen[found[0]] = Date.now(); }
      }
    }
    for (const element of document.querySelectorAll('[data-testid="draft"]')) {
      for (const found of (element.textContent || "").matchAll(MARK)) {
        if (!(found[0] in probe.seenInDraft)) { probe.seenInDraft[found[0]] = Date.now(); }
      }
    }
    // "<user id> <state>" -> when it last appeared (a user may come, change and come back).
    const shown = new Set([...document.querySelectorAll('[data-testid="presence-item"]')]
      .map((element) => element.getAttribute("data-user-id") + " " + element.getAttribute("data-state")));
    for (const key of shown) {
      if (!probe.presenceShown.has(key)) { probe.presence[key] = Date.now(); }
    }
    probe.presenceShown = shown;
  };
  new MutationObserver(scan).observe(document, {
    childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["data-state"],
  });

  const WRITES = /ChatCommandService\/(EnsureChatForArtifactAndSendMessage|SendMessage)$/;
  const originalFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!WRITES.test(url)) { return originalFetch(input, init); }
    probe.writesInflight += 1;
    probe.writesStarted += 1;
    const settle = () => { probe.writesInflight -= 1; probe.writesSettled += 1; };
    return originalFetch(input, init).then(
      (reply) => { reply.clone().arrayBuffer().then(settle, settle); return reply; },
      (error) => { settle(); throw error; },
    );
  };

  probe.markLoaded = () => {
    probe.mark = { calls: probe.calls.length, navigations: probe.navigations.length, href: location.href,
                   length: history.length, document: probe.document };
    return probe.mark;
  };
  probe.state = () => ({
    href: location.href, length: history.length, document: probe.document, mark: probe.mark,
    callsBefore: probe.calls.slice(0, probe.mark ? probe.mark.calls : probe.calls.length),
    callsAfter: probe.mark ? probe.calls.slice(probe.mark.calls) : [],
    navigationsAfter: probe.mark ? probe.navigations.slice(probe.mark.navigations) : [],
  });
})();"""

# True when the message with this marker is shown, or the composer gave up on it: nothing in flight, the button
# usable, the composer not busy (aria-busy) and the draft still in the input (when a user clicks send again).
DELIVERED_OR_IDLE = """([marker, draft]) => {
  const shown = [...document.querySelectorAll('[data-testid="message"]')]
    .some((element) => (element.textContent || "").includes(marker));
  if (shown) { return "shown"; }
  const input = document.querySelector('[data-testid="message-input"]');
  const button = document.querySelector('[data-testid="send-button"]');
  const idle = window.__ameideProbe.writesInflight === 0 && button && !button.disabled
    && button.getAttribute("aria-disabled") !== "true" && input && input.value === draft
    && input.closest('[aria-busy="true"]') === null;
  return idle ? "idle" : false;
}"""


M = TypeVar("M", bound=Message)


def grpc_web_request(body: bytes, message: type[M]) -> M:
    """The request message inside a gRPC-Web request body."""
    length = int.from_bytes(body[1:GRPC_WEB_HEADER], "big")
    return message.FromString(body[GRPC_WEB_HEADER : GRPC_WEB_HEADER + length])


@dataclass
class LoseFirstAnswer:
    """A ``page.route`` handler losing the first answer: the server handles the request, the browser sees a reset.

    Later requests pass. ``bodies`` are every request's body; ``lost`` the HTTP status of the answer it dropped.
    """

    bodies: list[bytes] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        """Handle one request."""
        self.bodies.append(route.request.post_data_buffer or b"")
        if self.lost:
            route.continue_()
            return
        answer = route.fetch()  # the server handles the request ...
        self.lost.append(answer.status)
        route.abort("connectionreset")  # ... and the browser sees the connection reset instead of its answer


def marker() -> str:
    """A unique marker to put in a message text; the probes time its first appearance."""
    return f"mark-{uuid.uuid4().hex[:12]}"


def escape_css(value: str) -> str:
    """``value`` as a double-quoted CSS attribute value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Loaded:
    """Where the page was when it had loaded (``App.mark_loaded``)."""

    href: str
    length: int
    document: str


class App:
    """One tab of the app, driven through its hooks."""

    def __init__(self, tab: Tab) -> None:
        self.tab = tab

    @property
    def page(self) -> Page:
        """The Playwright page."""
        return self.tab.page

    def goto(self, path: str) -> None:
        """Open ``path`` on this tab's origin."""
        self.tab.goto(path)

    def hook(self, name: str) -> Locator:
        """Elements with ``data-testid=name``."""
        return self.page.get_by_test_id(name)

    # Messages ---------------------------------------------------------------------------------------------------

    @property
    def messages(self) -> Locator:
        """Every ``message`` element."""
        return self.hook("message")

    def message(self, text: str) -> Locator:
        """The ``message`` elements containing ``text``."""
        return self.messages.filter(has_text=text)

    def message_ids(self) -> list[str]:
        """``data-message-id`` of every message shown, in document order."""
        return list(self.messages.evaluate_all("els => els.map(e => e.getAttribute('data-message-id'))"))

    def message_texts(self) -> list[str]:
        """The text of every message shown, in document order."""
        return list(self.messages.all_text_contents())

    def type_message(self, text: str) -> None:
        """Put ``text`` into the composer."""
        self.hook("message-input").fill(text)

    def send(self, text: str) -> None:
        """Send ``text`` with one click and wait until it is shown and the composer is empty again."""
        self.type_message(text)
        self.hook("send-button").click()
        expect(self.message(text)).to_have_count(1)
        expect(self.hook("message-input")).to_have_value("")

    def send_until_delivered(self, text: str, *, attempts: int = 5) -> int:
        """Type ``text`` (it must contain a marker), click send, then ``finish_sending``; the clicks it took."""
        self.type_message(text)
        self.hook("send-button").click()
        return 1 + self.finish_sending(text, attempts=attempts)

    def finish_sending(self, text: str, *, attempts: int = 5) -> int:
        """Wait until ``text`` is shown, clicking send again whenever the composer gives up; the extra clicks.

        The composer gives up when nothing is in flight, the button is usable and the draft is still in the input:
        then a user clicks again.
        """
        found = re.search(r"mark-[0-9a-f]{12}", text)
        assert found is not None, "finish_sending needs a text with a marker"
        for clicks in range(attempts):
            outcome = self.page.wait_for_function(DELIVERED_OR_IDLE, arg=[found.group(0), text], polling=50)
            if outcome.json_value() == "shown":
                return clicks
            self.hook("send-button").click()
        raise AssertionError(f"the message was not delivered after {attempts} more clicks on send")

    def wait_write_attempt_settled(self) -> None:
        """Wait until at least one message write (Ensure, SendMessage) has been answered or has failed."""
        self.page.wait_for_function("() => window.__ameideProbe.writesSettled > 0", polling=50)

    # Chats in the sidebar ---------------------------------------------------------------------------------------

    @property
    def chat_items(self) -> Locator:
        """Every ``chat-item``."""
        return self.hook("chat-item")

    def chat_item(self, chat_id: str) -> Locator:
        """The ``chat-item`` of ``chat_id``."""
        return self.page.locator(f"[data-testid=chat-item][data-chat-id={escape_css(chat_id)}]")

    def chat_ids(self) -> list[str]:
        """``data-chat-id`` of every chat item, in document order."""
        return list(self.chat_items.evaluate_all("els => els.map(e => e.getAttribute('data-chat-id'))"))

    @property
    def selected_chat(self) -> Locator:
        """The selected chat item(s)."""
        return self.page.locator('[data-testid=chat-item][aria-selected="true"]')

    def select_chat(self, chat_id: str) -> None:
        """Click a chat in the sidebar and wait until it is the selected one."""
        self.chat_item(chat_id).click()
        expect(self.selected_chat).to_have_attribute("data-chat-id", chat_id)

    # Artifacts --------------------------------------------------------------------------------------------------

    @property
    def artifact_items(self) -> Locator:
        """Every ``artifact-item``."""
        return self.hook("artifact-item")

    def artifact_item(self, artifact_id: str) -> Locator:
        """The ``artifact-item`` of ``artifact_id``."""
        return self.page.locator(f"[data-testid=artifact-item][data-artifact-id={escape_css(artifact_id)}]")

    def artifact_link(self, artifact_id: str) -> Locator:
        """The ordinary link to ``/artifact/<id>`` of an ``artifact-item`` (the item itself, or inside it)."""
        href = escape_css(f"/artifact/{artifact_id}")
        item = f"[data-testid=artifact-item][data-artifact-id={escape_css(artifact_id)}]"
        return self.page.locator(f"a{item}[href={href}], {item} a[href={href}]")

    def artifact_ids(self) -> list[str]:
        """``data-artifact-id`` of every artifact item, in document order."""
        return list(self.artifact_items.evaluate_all("els => els.map(e => e.getAttribute('data-artifact-id'))"))

    # Search -----------------------------------------------------------------------------------------------------

    def search(self, query: str) -> None:
        """Type ``query`` into ``search-input`` and wait for the SearchChats answer to exactly that query."""

        def answers(response: Response) -> bool:
            body = response.request.post_data_buffer or b""
            return response.url.endswith("/SearchChats") and query.encode() in body

        with self.page.expect_response(answers):
            self.hook("search-input").fill(query)

    # Live state -------------------------------------------------------------------------------------------------

    def expect_live(self) -> None:
        """Wait until the live stream is up."""
        expect(self.hook("live-status")).to_have_text("live")

    def expect_reconnecting(self) -> None:
        """Wait until the page shows its live stream is lost."""
        expect(self.hook("live-status")).to_have_text("reconnecting")

    # Probes -----------------------------------------------------------------------------------------------------

    def mark_loaded(self) -> Loaded:
        """Note the location and history now: from here on the page must not touch either."""
        mark = self.page.evaluate("() => window.__ameideProbe.markLoaded()")
        return Loaded(href=mark["href"], length=mark["length"], document=mark["document"])

    def probe_state(self) -> dict[str, Any]:
        """What the probes recorded (see ``PROBES``)."""
        state: dict[str, Any] = self.page.evaluate("() => window.__ameideProbe.state()")
        return state

    def seen_at(self, mark: str) -> float | None:
        """Wall-clock ms when ``mark`` first appeared in a message of this page."""
        value = self.page.evaluate("m => window.__ameideProbe.seen[m] ?? null", mark)
        return None if value is None else float(value)

    def wait_seen(self, mark: str) -> float:
        """Wait until ``mark`` appears in a message; when it did (wall-clock ms)."""
        self.page.wait_for_function("m => m in window.__ameideProbe.seen", arg=mark, polling=20)
        seen = self.seen_at(mark)
        assert seen is not None
        return seen

    def wait_seen_in_draft(self, mark: str) -> float:
        """Wait until ``mark`` appears in a ``draft``; when it did (wall-clock ms)."""
        self.page.wait_for_function("m => m in window.__ameideProbe.seenInDraft", arg=mark, polling=20)
        return float(self.page.evaluate("m => window.__ameideProbe.seenInDraft[m]", mark))

    def wait_presence_shown(self, user_id: str, state: str) -> float:
        """Wait until a ``presence-item`` of ``user_id`` in ``state`` is shown; when it last appeared (ms)."""
        key = f"{user_id} {state}"
        self.page.wait_for_function("k => window.__ameideProbe.presenceShown.has(k)", arg=key, polling=20)
        return float(self.page.evaluate("k => window.__ameideProbe.presence[k]", key))

    def presence_item(self, user_id: str) -> Locator:
        """The ``presence-item`` of ``user_id``."""
        return self.page.locator(f"[data-testid=presence-item][data-user-id={escape_css(user_id)}]")

    def drafts(self) -> Locator:
        """Every ``draft`` element."""
        return self.hook("draft")

    def first_message_at(self) -> float:
        """Wait for the first message element; ms from navigation start until it appeared."""
        self.page.wait_for_function("() => window.__ameideProbe.firstMessageAt !== null", polling=20)
        return float(self.page.evaluate("() => window.__ameideProbe.firstMessageAt"))

    def click_now(self, testid: str) -> float:
        """Click the element in the page's own turn; the wall-clock ms just before the click."""
        at = self.page.evaluate(
            'id => { const at = Date.now(); document.querySelector(`[data-testid="${id}"]`).click(); return at; }',
            testid,
        )
        return float(at)


def assert_stayed(app: App, loaded: Loaded) -> None:
    """Since ``loaded``: same document (no reload), same URL, same history length, no history call or navigation.

    Before it (the app's initialisation), history calls may only keep the URL as it was.
    """
    state = app.probe_state()
    assert loaded.document == state["document"], "the page was reloaded"
    assert loaded.href == state["href"], "the URL changed"
    assert loaded.length == state["length"], "history.length changed"
    assert [] == state["callsAfter"], "history was touched after the page had loaded"
    assert [] == state["navigationsAfter"], "the page navigated after it had loaded"
    changing = [call for call in state["callsBefore"] if call["url"] not in (None, loaded.href)]
    assert [] == changing, "the app's initialisation changed the URL"


# How many levels above an element its list's container is: the nearest ancestor holding a load-more button.
LIST_DEPTH = """(element) => {
  let depth = 0;
  for (let node = element.parentElement; node; node = node.parentElement) {
    depth += 1;
    if (node.querySelector('[data-testid="load-more"]')) { return depth; }
  }
  return 0;
}"""


def load_all(app: App, items: Locator, *, pages: int = 50) -> None:
    """Click the ``load-more`` of the list holding ``items`` until it is gone (or disabled).

    The list must be paginated when this starts. Its container is the nearest ancestor of the first item that
    holds a ``load-more``, found once and then kept by its depth, so a page with several paginated lists pages the
    right one, and the list is complete when its own container has no ``load-more`` left.
    """
    expect(items.first).to_be_attached()
    testid = items.first.get_attribute("data-testid")
    depth = items.first.evaluate(LIST_DEPTH)
    assert depth > 0, f"the {testid} list has no load-more: it is not paginated"
    scope = app.page.locator(f"xpath=(//*[@data-testid='{testid}'])[1]/ancestor::*[{depth}]")
    for _ in range(pages):
        button = scope.get_by_test_id("load-more")
        if button.count() == 0:
            return
        assert button.count() == 1, f"several load-more buttons around the {testid} list: which one pages it?"
        if not button.is_visible() or button.is_disabled():
            return
        before = items.count()
        button.click()
        expect(items).not_to_have_count(before)
    raise AssertionError(f"the {testid} list still had more after {pages} pages")
