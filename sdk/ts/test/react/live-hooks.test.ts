// Live signals in the React bindings, against the mock backend: who else is here (and typing), the caller's own
// presence while mounted, drafts growing and replaced by their message, through reconnects and expiry.
import "./dom.js";

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { act, cleanup, renderHook, waitFor } from "@testing-library/react";

import { type AmeideClient, ChatVisibility, type StreamChatRequest } from "../../src/index.js";
import { MockBackend, type MockUser } from "../../src/mock/index.js";
import { type UseChat, useArtifact, useChat, useComposer } from "../../src/react/index.js";
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

const calls = (method: string) => backend.calls.filter((call) => call.method === method);
const people = (chat: { participants: readonly { userId: string; state: string }[] }) => chat.participants.map((p) => `${p.userId === alice.userId ? "alice" : p.userId === bob.userId ? "bob" : p.userId}/${p.state}`);

/** A TEAM chat of alice (so bob may read and write it) with one message. */
async function teamChat(): Promise<string> {
  const writer = backend.client(alice.token);
  const { threadsId } = await chatWith(writer, 1);
  await writer.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.TEAM });
  return threadsId;
}

/** An agent drafting in a chat with alice's credentials (unary DraftService calls). */
function agent(client: AmeideClient, threadsId: string) {
  const draftId = crypto.randomUUID();
  let seq = 0n;
  return {
    draftId,
    start: () => client.drafts.startDraft({ draftId, threadsId, agentId: "helper" }),
    append: (value: string) => client.drafts.appendDraft({ draftId, seq: ++seq, text: value }),
    complete: () => client.drafts.completeDraft({ draftId }),
    abandon: () => client.drafts.abandonDraft({ draftId, reason: "gave up" }),
  };
}

describe("presence in useChat and useArtifact", () => {
  it("shows the others (not the caller), typing while their composer changes, and no one once they leave", async () => {
    const threadsId = await teamChat();
    const alicePage = browser(backend, alice, { displayName: "Alice" });
    const bobPage = browser(backend, bob, { displayName: "Bob" });
    const seenByBob = renderHook(() => useChat(threadsId), { wrapper: bobPage.wrapper });
    const aliceTyping = renderHook(
      () => {
        const chat = useChat(threadsId);
        return { chat, composer: useComposer((value, key) => chat.send(value, key), { presence: chat }) };
      },
      { wrapper: alicePage.wrapper },
    );
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
    await waitFor(() => assert.deepEqual(people(aliceTyping.result.current.chat), ["bob/viewing"]));
    assert.equal(seenByBob.result.current.participants[0]?.displayName, "Alice");

    act(() => aliceTyping.result.current.composer.setText("Hel"));
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/typing"]));
    act(() => aliceTyping.result.current.composer.setText("Hello"));
    await act(() => aliceTyping.result.current.composer.submit());
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
    act(() => aliceTyping.result.current.composer.setText("again"));
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/typing"]));
    act(() => aliceTyping.result.current.composer.onBlur());
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));

    aliceTyping.unmount();
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), []));
    assert.ok(calls("LeavePresence").some((call) => call.caller?.userId === alice.userId));
  });

  it("counts a user with two pages once, and shows typing lapsing and presence expiring", async () => {
    const threadsId = await teamChat();
    const seenByBob = renderHook(() => useChat(threadsId), { wrapper: browser(backend, bob).wrapper });
    const first = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice).wrapper });
    const second = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice).wrapper });
    await waitFor(() => assert.equal(calls("AnnouncePresence").filter((call) => call.caller?.userId === alice.userId).length, 2));
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
    act(() => second.result.current.typing());
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/typing"]));
    first.unmount(); // one page of alice left: she is still here
    act(() => backend.faults.lapseTyping());
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
    act(() => backend.faults.expirePresence());
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), []));
  });

  it("renews the announcement every renew_after_ms the services ask for", async () => {
    backend.close();
    backend = new MockBackend({ heartbeatMs: 0, presenceViewingTtlMs: 60, presenceTypingTtlMs: 30 });
    const user = backend.signIn();
    const { threadsId } = await chatWith(backend.client(user.token), 1);
    renderHook(() => useChat(threadsId), { wrapper: browser(backend, user).wrapper });
    await waitFor(() => assert.ok(calls("AnnouncePresence").length >= 4), { timeout: 5_000 });
    const present = await backend.client(user.token).listPresence({ threadsId });
    assert.deepEqual(present.map((p) => p.userId), [user.userId]);
  });

  it("useArtifact shows who else is on the artifact; the typing target is the artifact before a chat exists", async () => {
    const { artifactId } = await backend.client(alice.token).artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const seenByBob = renderHook(() => useArtifact(artifactId), { wrapper: browser(backend, bob).wrapper });
    const alicePage = renderHook(
      () => {
        const artifact = useArtifact(artifactId);
        return { artifact, composer: useComposer((value, key) => artifact.send(value, { idempotencyKey: key }), { presence: artifact }) };
      },
      { wrapper: browser(backend, alice).wrapper },
    );
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
    act(() => alicePage.result.current.composer.setText("A question"));
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/typing"]));
    act(() => alicePage.result.current.composer.setText(""));
    await waitFor(() => assert.deepEqual(people(seenByBob.result.current), ["alice/viewing"]));
  });

  it("with signals off announces nothing and asks for no signals", async () => {
    const threadsId = await teamChat();
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, alice, { signals: false }).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    assert.equal(calls("AnnouncePresence").length, 0);
    assert.equal((calls("StreamChatUpdates").at(-1)?.request as StreamChatRequest).includeSignals, false);
    assert.deepEqual(result.current.participants, []);
  });
});

/** Every state a hook rendered, to check what was on screen at each moment, not only at the end. */
function recorded(threadsId: string, page: ReturnType<typeof browser>) {
  const renders: UseChat[] = [];
  const hook = renderHook(
    () => {
      const chat = useChat(threadsId);
      renders.push(chat);
      return chat;
    },
    { wrapper: page.wrapper },
  );
  return { ...hook, renders };
}

function draftText(chat: UseChat, draftId: string): string | undefined {
  return chat.drafts.find((d) => d.draftId === draftId)?.text;
}

function messagesOf(chat: UseChat, draftId: string) {
  return chat.messages.filter((m) => m.idempotencyKey === draftId);
}

/** From the draft's first appearance on, each render shows the draft or its message: never both, never neither. */
function assertNoFlicker(renders: UseChat[], draftId: string): void {
  const first = renders.findIndex((chat) => draftText(chat, draftId) !== undefined);
  assert.ok(first >= 0, "the draft was never shown");
  for (const chat of renders.slice(first)) {
    const [draft, message] = [draftText(chat, draftId) !== undefined, messagesOf(chat, draftId).length];
    assert.ok(!(draft && message > 0), "the draft and its message were shown together");
    assert.ok(draft || message === 1, "neither the draft nor its message was shown");
  }
}

describe("drafts in useChat", () => {
  it("grow delta by delta and are replaced by their message, which shows once", async () => {
    const threadsId = await teamChat();
    const { result, renders } = recorded(threadsId, browser(backend, bob));
    await waitFor(() => assert.equal(result.current.status, "live"));
    const writer = agent(backend.client(alice.token), threadsId);
    await act(async () => {
      await writer.start();
    });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), ""));
    for (const [delta, soFar] of [["The diagram ", "The diagram "], ["has three tasks.", "The diagram has three tasks."]] as const) {
      await act(async () => {
        await writer.append(delta);
      });
      await waitFor(() => assert.equal(draftText(result.current, writer.draftId), soFar));
    }
    assert.deepEqual(result.current.drafts.map((d) => [d.agentId, d.userId, d.seq]), [["helper", alice.userId, 2]]);
    const done = await act(() => writer.complete());
    await waitFor(() => assert.equal(messagesOf(result.current, writer.draftId).length, 1));
    assert.deepEqual(result.current.drafts, []);
    assert.equal(messagesOf(result.current, writer.draftId)[0]?.id, done.messageId);
    assert.equal(text(result.current.messages.at(-1) ?? { parts: [] }), "The diagram has three tasks.");
    assertNoFlicker(renders, writer.draftId);
  });

  it("a page whose network drops mid-draft shows the text so far when back, continues, and ends with one message", async () => {
    const threadsId = await teamChat();
    const page = browser(backend, bob);
    const { result, renders } = recorded(threadsId, page);
    await waitFor(() => assert.equal(result.current.status, "live"));
    const writer = agent(backend.client(alice.token), threadsId);
    await act(async () => {
      await writer.start();
      await writer.append("one ");
    });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "one "));
    act(() => page.network.cut());
    await waitFor(() => assert.equal(result.current.status, "reconnecting"));
    await writer.append("two ");
    await writer.append("three ");
    act(() => page.network.restore());
    await waitFor(() => assert.equal(result.current.status, "live"));
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "one two three "));
    await act(async () => {
      await writer.append("four.");
    });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "one two three four."));
    await act(() => writer.complete());
    await waitFor(() => assert.equal(messagesOf(result.current, writer.draftId).length, 1));
    assert.deepEqual(result.current.drafts, []);
    assert.deepEqual(result.current.messages.map((m) => text(m)), ["m0", "one two three four."]);
    assertNoFlicker(renders, writer.draftId);
  });

  it("a page that completes while it is away shows the message once and no draft", async () => {
    const threadsId = await teamChat();
    const page = browser(backend, bob);
    const { result } = renderHook(() => useChat(threadsId), { wrapper: page.wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    const writer = agent(backend.client(alice.token), threadsId);
    await act(async () => {
      await writer.start();
      await writer.append("almost");
    });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "almost"));
    act(() => page.network.cut());
    await waitFor(() => assert.equal(result.current.status, "reconnecting"));
    await writer.complete();
    await say(backend.client(alice.token), threadsId, "after the answer");
    act(() => page.network.restore());
    await waitFor(() => assert.deepEqual(result.current.messages.map((m) => text(m)), ["m0", "almost", "after the answer"]));
    await waitFor(() => assert.deepEqual(result.current.drafts, []));
  });

  it("an abandoned or expired draft disappears", async () => {
    const threadsId = await teamChat();
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, bob).wrapper });
    await waitFor(() => assert.equal(result.current.status, "live"));
    const client = backend.client(alice.token);
    const [quitting, vanishing] = [agent(client, threadsId), agent(client, threadsId)];
    await act(async () => {
      for (const writer of [quitting, vanishing]) {
        await writer.start();
        await writer.append("thinking");
      }
    });
    await waitFor(() => assert.equal(result.current.drafts.length, 2));
    await act(() => quitting.abandon());
    await waitFor(() => assert.deepEqual(result.current.drafts.map((d) => d.draftId), [vanishing.draftId]));
    act(() => backend.faults.expireDrafts());
    await waitFor(() => assert.deepEqual(result.current.drafts, []));
    assert.deepEqual(result.current.messages.map((m) => text(m)), ["m0"]);
  });

  it("a page loaded mid-draft shows the text so far", async () => {
    const threadsId = await teamChat();
    const writer = agent(backend.client(alice.token), threadsId);
    await writer.start();
    await writer.append("so far");
    const { result } = renderHook(() => useChat(threadsId), { wrapper: browser(backend, bob).wrapper });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "so far"));
    await act(async () => {
      await writer.append(", and on");
    });
    await waitFor(() => assert.equal(draftText(result.current, writer.draftId), "so far, and on"));
  });
});
