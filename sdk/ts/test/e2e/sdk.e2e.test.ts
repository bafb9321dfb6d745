// The TypeScript SDK against the real deployables (started by tools/run_with_stack.py): the helper, pagination
// over GetMessages, and a stream read in part, aborted, and resumed from its last checkpointToken.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { Code } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

import { AmeideArgumentError, AmeideClient, MemoryCheckpointStore, bearerAuth, pageThrough } from "../../src/index.js";
import type { ChatUpdate } from "../../src/index.js";
import { env } from "../stack-env.js";

// A safety net only: each wait ends as soon as what it waits for has arrived.
const BOUND_MS = 60_000;

const interceptors = [bearerAuth(env("AMEIDE_TEST_TOKEN"))];
// Own session managers, closed at the end: an idle HTTP/2 session would keep node running for a minute.
const sessions = [new Http2SessionManager(env("AMEIDE_COMMAND_URL")), new Http2SessionManager(env("AMEIDE_QUERY_URL"))];
const [commandSessions, querySessions] = sessions;
const commands = createGrpcTransport({ baseUrl: env("AMEIDE_COMMAND_URL"), interceptors, sessionManager: commandSessions });
const queries = createGrpcTransport({ baseUrl: env("AMEIDE_QUERY_URL"), interceptors, sessionManager: querySessions });
const client = AmeideClient.withTransports({ commands, queries });

after(() => {
  for (const manager of sessions) {
    manager.abort();
  }
});

async function createArtifact(title = "Order Process"): Promise<string> {
  const { artifactId } = await client.artifactCommands.createArtifact({ title, kind: "bpmn" });
  return artifactId;
}

async function send(threadsId: string, text: string): Promise<string> {
  const response = await client.threadsCommands.sendMessage({
    threadsId,
    message: { role: "user", parts: [{ kind: { case: "text", value: { text } } }] },
    idempotencyKey: crypto.randomUUID(),
  });
  return response.consistencyToken;
}

function textOf(update: ChatUpdate): string | undefined {
  if (update.update.case !== "message") {
    return undefined;
  }
  const part = update.update.value.parts[0]?.kind;
  return part?.case === "text" ? part.value.text : undefined;
}

/** A chat with message m0 (sent through the helper), its state loaded, then m1..m{more} sent. */
async function chatWithMessages(more: number): Promise<{ threadsId: string; checkpointToken: string; last: string }> {
  const sent = await client.threadsArtifact.sendMessageFromArtifact(await createArtifact(), "m0");
  const loaded = await client.threadsQueries.getMessages({
    threadsId: sent.threadsId,
    consistencyToken: sent.consistencyToken,
  });
  let last = sent.consistencyToken;
  for (let i = 1; i <= more; i++) {
    last = await send(sent.threadsId, `m${i}`);
  }
  return { threadsId: sent.threadsId, checkpointToken: loaded.checkpointToken, last };
}

describe("ChatArtifactHelper against the command service", () => {
  it("creates a chat for the artifact, then sends into the same chat", async () => {
    const artifactId = await createArtifact();
    const first = await client.threadsArtifact.sendMessageFromArtifact(artifactId, "What does this do?");
    const second = await client.threadsArtifact.sendMessageFromArtifact(artifactId, "And then?", first.threadsId);

    assert.equal(first.isNewChat, true);
    assert.equal(second.isNewChat, false);
    assert.equal(second.threadsId, first.threadsId);
    assert.notEqual(second.messageId, first.messageId);
    const { threads } = await client.threadsQueries.getChat({
      threadsId: first.threadsId,
      consistencyToken: second.consistencyToken,
    });
    assert.equal(threads?.title, "Discussion about Order Process");
    assert.equal(threads?.messageCount, 2n);
  });

  it("works over one transport as in the spec (constructor(transport))", async () => {
    const single = new AmeideClient(commands);
    const result = await single.threadsArtifact.sendMessageFromArtifact(await createArtifact(), "Hello");
    assert.equal(result.isNewChat, true);
    assert.match(result.messageId, /^[0-9a-f-]{36}$/);
  });

  it("refuses a malformed id before calling", async () => {
    await assert.rejects(client.threadsArtifact.sendMessageFromArtifact("artifact-456", "Hi"), AmeideArgumentError);
  });
});

describe("pagination over GetMessages", () => {
  it("walks every page: each message once, in order", async () => {
    const chat = await chatWithMessages(6);
    const pages = [];
    for await (const page of pageThrough(client.threadsQueries.getMessages, {
      threadsId: chat.threadsId,
      pageSize: 3,
      consistencyToken: chat.last,
    })) {
      pages.push(page);
    }

    assert.deepEqual(
      pages.map((page) => page.messages.length),
      [3, 3, 1],
    );
    assert.deepEqual(
      pages.flatMap((page) => page.messages.map((m) => (m.parts[0]?.kind.case === "text" ? m.parts[0].kind.value.text : ""))),
      ["m0", "m1", "m2", "m3", "m4", "m5", "m6"],
    );
    assert.equal(pages[0]?.totalCount, 7);
  });
});

describe("resumed streams", () => {
  it("reads some updates, aborts, resumes with the last checkpointToken: no gap, no duplicate", async () => {
    const chat = await chatWithMessages(6);
    const texts: string[] = [];
    let resumeToken = chat.checkpointToken;

    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(BOUND_MS)]);
    await assert.rejects(
      (async () => {
        for await (const update of client.threadsQueries.streamChatUpdates({ threadsId: chat.threadsId, resumeToken }, { signal })) {
          const text = textOf(update);
          if (update.checkpointToken) {
            resumeToken = update.checkpointToken;
          }
          if (text !== undefined) {
            texts.push(text);
            if (texts.length === 3) {
              controller.abort(); // the connection drops
            }
          }
        }
      })(),
      { name: "ConnectError" },
    );
    assert.deepEqual(texts, ["m1", "m2", "m3"]);

    for await (const update of client.threadsQueries.streamChatUpdates(
      { threadsId: chat.threadsId, resumeToken },
      { signal: AbortSignal.timeout(BOUND_MS) },
    )) {
      const text = textOf(update);
      if (text !== undefined) {
        texts.push(text);
        if (texts.length === 6) {
          break;
        }
      }
    }
    assert.deepEqual(texts, ["m1", "m2", "m3", "m4", "m5", "m6"]);
  });

  it("subscribeChat continues after the last delivered update when subscribed again with the same store", async () => {
    const chat = await chatWithMessages(6);
    const checkpointStore = new MemoryCheckpointStore();
    const read = async (count: number, resumeToken?: string): Promise<string[]> => {
      const texts: string[] = [];
      const signal = AbortSignal.timeout(BOUND_MS);
      for await (const update of client.subscribeChat(chat.threadsId, { resumeToken, checkpointStore, signal })) {
        const text = textOf(update);
        if (text !== undefined) {
          texts.push(text);
        }
        if (texts.length === count) {
          break;
        }
      }
      return texts;
    };

    assert.deepEqual(await read(3, chat.checkpointToken), ["m1", "m2", "m3"]);
    assert.deepEqual(await read(3), ["m4", "m5", "m6"]);
  });
});

/** The next update that is not a control message. */
async function nextData<U extends { update: { case: string | undefined } }>(updates: AsyncIterator<U>): Promise<U> {
  for (;;) {
    const { value, done } = await updates.next();
    assert.equal(done, false, "the subscription ended");
    if (value.update.case !== "control") {
      return value;
    }
  }
}

describe("write, then subscribe or read at once", () => {
  it("subscribeChat(sent) follows the chat the send created: never NotFound, the next message arrives", async () => {
    const artifactId = await createArtifact();
    for (let round = 0; round < 5; round++) {
      const sent = await client.threadsArtifact.sendMessageFromArtifact(artifactId, `first ${round}`);
      const signal = AbortSignal.timeout(BOUND_MS);
      const updates = client.subscribeChat(sent, { includeControl: true, signal });
      const greeting = await updates.next();
      assert.equal(greeting.value?.update.case, "control");
      // Live from after the send: its own message is not replayed, the next one arrives.
      await send(sent.threadsId, `second ${round}`);
      assert.equal(textOf(await nextData(updates)), `second ${round}`);
      await updates.return();
    }
  });

  it("subscribeArtifact(created) follows an artifact just created", async () => {
    const created = await client.artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const updates = client.subscribeArtifact(created, { includeControl: true, signal: AbortSignal.timeout(BOUND_MS) });
    await updates.next(); // SUBSCRIBED: the stream is live
    await client.artifactCommands.updateArtifactMetadata({
      artifactId: created.artifactId,
      metadata: { title: "Order Process v2" },
      updateMask: { paths: ["title"] },
    });
    const update = await nextData(updates);
    assert.equal(update.update.case === "metadataChanged" ? update.update.value.title : "", "Order Process v2");
    await updates.return();
  });

  it("a chat deleted just before subscribing is NotFound (with deleteChat's consistencyToken)", async () => {
    const sent = await client.threadsArtifact.sendMessageFromArtifact(await createArtifact(), "soon gone");
    const deleted = await client.threadsCommands.deleteChat({ threadsId: sent.threadsId });
    const updates = client.subscribeChat(sent.threadsId, {
      consistencyToken: deleted.consistencyToken,
      signal: AbortSignal.timeout(BOUND_MS),
    });
    await assert.rejects(updates.next(), { code: Code.NotFound });
  });

  it("associate, then list the links of both sides with the association's consistencyToken", async () => {
    const artifactId = await createArtifact();
    const { threads } = await client.threadsCommands.createChat({ title: "Review" });
    const threadsId = threads?.id ?? "";
    const { consistencyToken } = await client.threadsCommands.associateArtifact({ threadsId, artifactId });
    const ofChat = await client.threadsQueries.getChatArtifacts({ threadsId, consistencyToken });
    const ofArtifact = await client.artifactQueries.getArtifactChats({ artifactId, consistencyToken });
    assert.deepEqual(
      ofChat.artifacts.map((a) => a.artifactId),
      [artifactId],
    );
    assert.deepEqual(
      ofArtifact.threads.map((c) => c.threadsId),
      [threadsId],
    );
  });
});
