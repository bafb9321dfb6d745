// The React bindings against the mock backend: load, live, pagination, atomic sends, retries, reconnects,
// persisted resume tokens, and the error states a page shows.
import "./dom.js";

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { act, cleanup, renderHook, waitFor } from "@testing-library/react";

import { ChatVisibility, RelationType, type EnsureChatForArtifactAndSendMessageRequest, type ListArtifactsRequest, type StreamChatRequest } from "../../src/index.js";
import { MockBackend, type MockUser } from "../../src/mock/index.js";
import { resumeTokenKey, snippetParts, useArtifact, useArtifacts, useChat, useChatSearch, useChats, useComposer } from "../../src/react/index.js";
import { browser, chatWith, say, text } from "./support.js";

let backend: MockBackend;
let alice: MockUser;
let bob: MockUser;

beforeEach(() => {
  backend = new MockBackend({ heartbeatMs: 0 });
  const tenantId = crypto.randomUUID();
  alice = backend.signIn({ tenantId });
  bob = backend.signIn({ tenantId });
});

afterEach(() => {
  cleanup();
  backend.close();
});

type WithParts = { parts: { kind: { case: string | undefined; value?: unknown } }[] };
const texts = (messages: WithParts[]): string[] => messages.map(text);
const calls = (method: string) => backend.calls.filter((call) => call.method === method);

describe("useChat", () => {
  it("loads, goes live, and shows a message written between the load and the stream exactly once", async () => {
    const writer = backend.client(alice.token);
    const { threadsId } = await chatWith(writer, 3);
    let wroteInGap = false;
    // Another tab writes after GetMessages answered and before StreamChatUpdates starts: the replay brings it.
    const page = browser(backend, alice, {
      interceptors: [
        (next) => async (req) => {
          if (req.method.name === "StreamChatUpdates" && !wroteInGap) {
            wroteInGap = true;
            await say(writer, threadsId, "in the gap");
          }
          return next(req);
        },
      ],
    });
    const { result } = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    await waitFor(() => assert.deepEqual(texts(result.current.messages), ["m0", "m1", "m2", "in the gap"]));
    await act(() => say(writer, threadsId, "live one"));
    await waitFor(() => assert.deepEqual(texts(result.current.messages), ["m0", "m1", "m2", "in the gap", "live one"]));
    assert.equal(result.current.chat?.title, "Discussion about Order Process");
    assert.equal(result.current.totalCount, 5);
  });

  it("pages up through 120 messages to the first, each once, in order", async () => {
    const { threadsId } = await chatWith(backend.client(alice.token), 120);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.equal(result.current.messages.length, 50);
    assert.equal(result.current.hasOlder, true);
    while (result.current.hasOlder) {
      await act(() => result.current.loadOlder());
    }
    assert.deepEqual(texts(result.current.messages), Array.from({ length: 120 }, (_, i) => `m${i}`));
    assert.equal(result.current.totalCount, 120);
  });

  it("reconnects after its network drops and shows what was sent meanwhile once each, in order", async () => {
    const writer = backend.client(bob.token);
    const { threadsId } = await chatWith(backend.client(alice.token), 2);
    await backend.client(alice.token).threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.TEAM });
    const page = browser(backend, alice);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    act(() => page.network.cut());
    await waitFor(() => assert.equal(result.current.status, "reconnecting"));
    for (const value of ["a", "b", "c"]) {
      await say(writer, threadsId, value);
    }
    const resumeFrom = page.local.getItem(resumeTokenKey(alice.tenantId, `thread:${threadsId}`));
    act(() => page.network.restore());
    await waitFor(() => assert.deepEqual(texts(result.current.messages), ["m0", "m1", "a", "b", "c"]));
    await waitFor(() => assert.equal(result.current.status, "live"));
    const resumed = calls("StreamChatUpdates").at(-1)?.request as StreamChatRequest;
    assert.equal(resumed.resumeToken, resumeFrom);
  });

  it("resumes after the server ends the stream, without duplicates", async () => {
    const writer = backend.client(alice.token);
    const { threadsId } = await chatWith(writer, 1);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    await act(() => say(writer, threadsId, "before"));
    await waitFor(() => assert.equal(result.current.messages.length, 2));
    act(() => {
      backend.faults.endStreams();
    });
    await act(() => say(writer, threadsId, "after"));
    await waitFor(() => assert.deepEqual(texts(result.current.messages), ["m0", "before", "after"]));
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.ok(calls("StreamChatUpdates").length >= 2);
  });

  it("after a refresh resumes from the token stored by the earlier page and shows each message once", async () => {
    const writer = backend.client(alice.token);
    const { threadsId } = await chatWith(writer, 1);
    const first = browser(backend, alice);
    const before = renderHook(() => useChat(threadsId), { wrapper: first.wrapper });
    await waitFor(() => assert.equal(before.result.current.status, "live"));
    await act(() => say(writer, threadsId, "seen"));
    await waitFor(() => assert.equal(before.result.current.messages.length, 2));
    const stored = first.local.getItem(resumeTokenKey(alice.tenantId, `thread:${threadsId}`));
    assert.ok(stored);
    before.unmount();
    await waitFor(() => assert.equal(backend.openStreams, 0)); // the page is gone, its stream too

    await say(writer, threadsId, "while away");
    const refreshed = browser(backend, alice, { storage: first });
    const after = renderHook(() => useChat(threadsId), { wrapper: refreshed.wrapper });
    await waitFor(() => assert.equal(after.result.current.status, "live"));
    assert.equal((calls("StreamChatUpdates").at(-1)?.request as StreamChatRequest).resumeToken, stored);
    assert.deepEqual(texts(after.result.current.messages), ["m0", "seen", "while away"]);
  });

  it("reloads when its checkpoint has expired, and goes live again", async () => {
    const writer = backend.client(alice.token);
    const { threadsId } = await chatWith(writer, 1);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    const loads = calls("GetMessages").length;
    act(() => {
      backend.faults.expireResumeTokens();
      backend.faults.endStreams();
    });
    await act(() => say(writer, threadsId, "later"));
    await waitFor(() => assert.deepEqual(texts(result.current.messages), ["m0", "later"]));
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.ok(calls("GetMessages").length > loads);
  });

  it("edits title and visibility, and creates an artifact that shows as CREATED on both sides", async () => {
    const { threadsId } = await chatWith(backend.client(alice.token), 1);
    const page = browser(backend, alice);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    await act(() => result.current.rename("Release plan"));
    await act(() => result.current.setVisibility(ChatVisibility.TEAM));
    assert.equal(result.current.chat?.title, "Release plan");
    assert.equal(result.current.chat?.visibility, ChatVisibility.TEAM);
    let created = { artifactId: "", consistencyToken: "" };
    await act(async () => {
      created = await result.current.createArtifact({ title: "Plan", kind: "document" });
    });
    await waitFor(() => assert.ok(result.current.artifacts.some((a) => a.artifactId === created.artifactId && a.relationType === RelationType.CREATED)));
    const artifact = renderHook(() => useArtifact(created.artifactId), { wrapper: page.wrapper });
    await waitFor(() => assert.deepEqual(artifact.result.current.chats.map((c) => [c.threadsId, c.relationType]), [[threadsId, RelationType.CREATED]]));

    const other = renderHook(() => useChat(threadsId), { wrapper: browser(backend, bob).wrapper });
    await waitFor(() => assert.equal(other.result.current.status, "live"));
    await assert.rejects(other.result.current.rename("mine"), { kind: "forbidden", reason: "NOT_CHAT_OWNER" });
  });
});

describe("error states", () => {
  it("shows another tenant's chat and artifact as not-found, with nothing of them", async () => {
    const { threadsId, artifactId } = await chatWith(backend.client(alice.token), 1);
    const mallory = backend.signIn();
    const page = browser(backend, mallory);
    const chat = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    const artifact = renderHook(() => useArtifact(artifactId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(chat.result.current.status, "not-found"));
    await waitFor(() => assert.equal(artifact.result.current.status, "not-found"));
    assert.equal(chat.result.current.chat, undefined);
    assert.deepEqual(chat.result.current.messages, []);
    assert.equal(artifact.result.current.artifact, undefined);
    assert.equal(chat.result.current.error?.reason, "CHAT_NOT_FOUND");
  });

  it("shows a malformed id as not-found without calling", async () => {
    const { result } = renderHook(() => useArtifact("not-a-uuid"), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "not-found"));
    assert.equal(result.current.error?.kind, "invalid");
    assert.equal(calls("GetArtifact").length, 0);
  });

  it("shows signed-out when the token expires, and recovers on retry with a new one", async () => {
    const { threadsId } = await chatWith(backend.client(alice.token), 1);
    let token = alice.token;
    const page = browser(backend, alice, { token: () => token });
    const { result } = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    backend.expireToken(alice.token);
    act(() => {
      backend.faults.endStreams();
    });
    await waitFor(() => assert.equal(result.current.status, "signed-out"));
    assert.equal(result.current.error?.reason, "TOKEN_EXPIRED");
    token = backend.signIn({ tenantId: alice.tenantId, userId: alice.userId }).token;
    act(() => result.current.retry());
    await waitFor(() => assert.equal(result.current.status, "live"));
  });

  it("shows unavailable while the backend is down, then loads when it is back", async () => {
    const { artifactId } = await chatWith(backend.client(alice.token), 1);
    backend.faults.setUnavailable(true);
    const { result } = renderHook(() => useArtifact(artifactId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "unavailable"));
    assert.equal(result.current.error?.kind, "unavailable");
    act(() => backend.faults.setUnavailable(false));
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.equal(result.current.artifact?.title, "Order Process");
  });
});

describe("useArtifact", () => {
  it("sends the first message atomically: a double click makes one chat with one message, then selects it", async () => {
    const { artifactId } = await backend.client(alice.token).artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const page = browser(backend, alice);
    const { result } = renderHook(
      () => {
        const artifact = useArtifact(artifactId);
        const composer = useComposer((value, key) => artifact.send(value, { idempotencyKey: key }), { target: artifact.selectedChatId });
        return { artifact, composer, chat: useChat(artifact.selectedChatId) };
      },
      { wrapper: page.wrapper },
    );
    await waitFor(() => assert.equal(result.current.artifact.status, "live"));
    act(() => result.current.composer.setText("What does this do?"));
    await act(async () => {
      const click = result.current.composer.submit;
      await Promise.all([click(), click()]);
    });
    assert.equal(calls("EnsureChatForArtifactAndSendMessage").length, 1);
    const selected = result.current.artifact.selectedChatId;
    assert.ok(selected);
    assert.equal(page.session.getItem(`ameide.selectedChat.${artifactId}`), selected);
    assert.equal(result.current.composer.text, "");
    await waitFor(() => assert.deepEqual(result.current.artifact.chats.map((c) => c.threadsId), [selected]));
    await waitFor(() => assert.deepEqual(texts(result.current.chat.messages), ["What does this do?"]));
    assert.equal(result.current.artifact.chatsTotal, 1);

    act(() => result.current.composer.setText("And then?"));
    await act(() => result.current.composer.submit());
    await waitFor(() => assert.deepEqual(texts(result.current.chat.messages), ["What does this do?", "And then?"]));
    assert.equal(result.current.artifact.chats.length, 1);
  });

  it("retries a failed send with the same idempotency key: one chat, one message", async () => {
    const { artifactId } = await backend.client(alice.token).artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const page = browser(backend, alice);
    const { result } = renderHook(
      () => {
        const artifact = useArtifact(artifactId);
        return { artifact, composer: useComposer((value, key) => artifact.send(value, { idempotencyKey: key }), { target: artifact.selectedChatId }) };
      },
      { wrapper: page.wrapper },
    );
    await waitFor(() => assert.equal(result.current.artifact.status, "live"));
    // The first attempt is stored but its answer is lost; the helper's own retries fail too.
    backend.faults.failNext(1, { methods: ["EnsureChatForArtifactAndSendMessage"], afterApply: true });
    backend.faults.failNext(5, { methods: ["EnsureChatForArtifactAndSendMessage"] });
    act(() => result.current.composer.setText("Hello"));
    await act(() => result.current.composer.submit());
    assert.equal(result.current.composer.error?.kind, "unavailable");
    assert.equal(result.current.composer.text, "Hello");
    backend.faults.reset();
    await act(() => result.current.composer.submit());
    assert.equal(result.current.composer.error, undefined);
    const keys = new Set(calls("EnsureChatForArtifactAndSendMessage").map((call) => (call.request as EnsureChatForArtifactAndSendMessageRequest).idempotencyKey));
    assert.equal(keys.size, 1);
    await waitFor(() => assert.equal(result.current.artifact.chats.length, 1));
    const listed = await backend.client(alice.token).artifactQueries.getArtifactChats({ artifactId });
    assert.equal(listed.totalCount, 1);
    const messages = await backend.client(alice.token).threadsQueries.getMessages({ threadsId: listed.threads[0]?.threadsId ?? "" });
    assert.deepEqual(texts(messages.messages), ["Hello"]);
  });

  it("pages through 45 chats, shows a chat started in another tab live, and follows content changes", async () => {
    const writer = backend.client(alice.token);
    const { artifactId } = await writer.artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    for (let i = 0; i < 45; i++) {
      await writer.threadsCommands.createChat({ title: `chat ${i}`, artifactId });
    }
    const { result } = renderHook(() => useArtifact(artifactId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.equal(result.current.chats.length, 20);
    while (result.current.hasMoreChats) {
      await act(() => result.current.loadMoreChats());
    }
    assert.equal(result.current.chats.length, 45);
    assert.equal(new Set(result.current.chats.map((c) => c.threadsId)).size, 45);
    assert.equal(result.current.chatsTotal, 45);

    const other = await act(() => writer.threadsArtifact.sendMessageFromArtifact(artifactId, "from another tab"));
    await waitFor(() => assert.equal(result.current.chats[0]?.threadsId, other.threadsId));
    assert.equal(result.current.chatsTotal, 46);
    await act(() => writer.artifactCommands.updateArtifactContent({ artifactId, content: { mimeType: "text/plain", body: new TextEncoder().encode("v2") } }));
    await waitFor(() => assert.equal(result.current.artifact?.version, 2n));
    assert.equal(new TextDecoder().decode(result.current.artifact?.content?.body), "v2");
  });

  it("shows a colleague's chat linked live only when the caller may read it, with its title", async () => {
    const { artifactId } = await backend.client(alice.token).artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const shown = new Set<string>();
    const { result } = renderHook(
      () => {
        const artifact = useArtifact(artifactId);
        for (const chat of artifact.chats) shown.add(chat.threadsId);
        return artifact;
      },
      { wrapper: browser(backend, alice).wrapper },
    );
    await waitFor(() => assert.equal(result.current.status, "live"));
    const colleague = backend.client(bob.token);
    const ensure = (text: string, visibility: ChatVisibility) =>
      colleague.threadsCommands.ensureChatForArtifactAndSendMessage({
        artifactId,
        message: { role: "user", parts: [{ kind: { case: "text", value: { text } } }] },
        idempotencyKey: crypto.randomUUID(),
        visibility,
      });
    const hidden = await act(() => ensure("only mine", ChatVisibility.PRIVATE));
    const shared = await act(() => ensure("for the team", ChatVisibility.TEAM));
    // In feed order: the private chat's link came first and was never sent, so never shown.
    await waitFor(() => assert.deepEqual(result.current.chats.map((c) => [c.threadsId, c.threadsTitle]), [[shared.threadsId, "Discussion about Order Process"]]));
    assert.equal(result.current.chatsTotal, 1);
    assert.ok(!shown.has(hidden.threadsId));
    assert.equal(calls("GetArtifactChats").length, 1); // the load only: a live reference is shown as it comes
  });

  it("follows a linked chat's visibility, title and deletion: shown, updated in place, hidden", async () => {
    const { artifactId } = await backend.client(alice.token).artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const owner = backend.client(bob.token);
    const { threads } = await owner.threadsCommands.createChat({ title: "Draft", artifactId });
    const threadsId = threads?.id ?? "";
    const { result } = renderHook(() => useArtifact(artifactId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.deepEqual(result.current.chats, []);
    const listed = () => result.current.chats.map((c) => [c.threadsId, c.threadsTitle]);
    await act(() => owner.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.TEAM }));
    await waitFor(() => assert.deepEqual(listed(), [[threadsId, "Draft"]]));
    await act(() => owner.threadsCommands.updateChatTitle({ threadsId, title: "Plan" }));
    await waitFor(() => assert.deepEqual(listed(), [[threadsId, "Plan"]]));
    assert.equal(result.current.chatsTotal, 1); // an update of the listed chat, not a second one
    await act(() => owner.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.PRIVATE }));
    await waitFor(() => assert.deepEqual(listed(), []));
    assert.equal(result.current.chatsTotal, 0);
    await act(() => owner.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.PUBLIC }));
    await waitFor(() => assert.deepEqual(listed(), [[threadsId, "Plan"]]));
    await act(() => owner.threadsCommands.deleteChat({ threadsId }));
    await waitFor(() => assert.deepEqual(listed(), []));
    assert.equal(result.current.chatsTotal, 0);
  });

  it("restores the selected chat after a refresh (sessionStorage), without touching the URL", async () => {
    const { artifactId, threadsId } = await chatWith(backend.client(alice.token), 1);
    const first = browser(backend, alice);
    const before = renderHook(() => useArtifact(artifactId), { wrapper: first.wrapper });
    await waitFor(() => assert.equal(before.result.current.status, "live"));
    act(() => before.result.current.selectChat(threadsId));
    before.unmount();
    const location = window.location.href;
    const after = renderHook(() => useArtifact(artifactId), { wrapper: browser(backend, alice, { storage: first }).wrapper });
    assert.equal(after.result.current.selectedChatId, threadsId);
    await waitFor(() => assert.equal(after.result.current.status, "live"));
    assert.equal(window.location.href, location);
  });
});

describe("lists", () => {
  it("pages through the caller's chats to the end", async () => {
    const writer = backend.client(alice.token);
    for (let i = 0; i < 25; i++) {
      await writer.threadsCommands.createChat({ title: `chat ${i}` });
    }
    const { result } = renderHook(() => useChats({ pageSize: 10 }), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "ready"));
    while (result.current.hasMore) {
      await act(() => result.current.loadMore());
    }
    assert.equal(result.current.items.length, 25);
    assert.equal(result.current.totalCount, 25);
  });

  it("reads a write of the page's own with its consistency token, and loads again for a new token", async () => {
    const writer = backend.client(alice.token);
    const first = await writer.artifactCommands.createArtifact({ title: "First", kind: "bpmn" });
    const { result, rerender } = renderHook((token: string) => useArtifacts({ consistencyToken: token }), {
      wrapper: browser(backend, alice).wrapper,
      initialProps: first.consistencyToken,
    });
    await waitFor(() => assert.equal(result.current.status, "ready"));
    assert.deepEqual(result.current.items.map((a) => a.title), ["First"]);
    const second = await writer.artifactCommands.createArtifact({ title: "Second", kind: "code" });
    rerender(second.consistencyToken);
    await waitFor(() => assert.deepEqual(result.current.items.map((a) => a.title), ["Second", "First"]));
    const sent = calls("ListArtifacts").map((call) => (call.request as ListArtifactsRequest).consistencyToken);
    assert.deepEqual(sent, [first.consistencyToken, second.consistencyToken]);
  });

  it("searches with snippets that render as text runs", async () => {
    const writer = backend.client(alice.token);
    const { threadsId } = await chatWith(writer, 1);
    await say(writer, threadsId, "the approval step <script>x</script>");
    const { result } = renderHook(() => useChatSearch("approval"), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(result.current.status, "ready"));
    assert.deepEqual(result.current.items.map((hit) => hit.chat.id), [threadsId]);
    assert.deepEqual(snippetParts(result.current.items[0]?.snippet ?? ""), [
      { text: "the ", match: false },
      { text: "approval", match: true },
      { text: " step <script>x</script>", match: false },
    ]);
    const idle = renderHook(() => useChatSearch("  "), { wrapper: browser(backend, alice).wrapper });
    assert.equal(idle.result.current.status, "idle");
  });
});
