// ChatArtifactHelper, subscribeChat and pageThrough against a scripted in-process Connect server.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import {
  AmeideArgumentError,
  AmeideClient,
  MemoryCheckpointStore,
  ResumeExpiredError,
  bearerAuth,
  checkpointPosition,
  pageThrough,
} from "../../src/index.js";
import { Code, type FakeServer, grpcTransport, makeToken, startFakeServer, tokenSeq } from "./fake-server.js";

const ARTIFACT = "7f1c1a52-0d4f-4a3e-9d55-6f0c2b8e9a10";
const CHAT = "0b9f6f7e-3c1d-4f57-8a2e-1d2c3b4a5f60";
const FAST = { maxAttempts: 4, initialBackoffMs: 1, maxBackoffMs: 2 };

let server: FakeServer;
let client: AmeideClient;

before(async () => {
  server = await startFakeServer();
});

after(async () => {
  await server.close();
});

beforeEach(() => {
  const s = server.script;
  s.failures = [];
  s.calls = [];
  s.responses.clear();
  s.length = 10;
  s.breaks = [];
  s.overlap = 0;
  s.resumeTokens = [];
  s.consistencyTokens = [];
  s.artifactIds = [];
  s.messages = [];
  s.expireBelow = 0;
  client = new AmeideClient(grpcTransport(server.baseUrl, [bearerAuth("tok-1")]), { retry: FAST });
});

describe("ChatArtifactHelper.sendMessageFromArtifact", () => {
  it("creates a chat when no threadsId is given", async () => {
    const result = await client.threadsArtifact.sendMessageFromArtifact(ARTIFACT, "Hello");
    const [call] = server.script.calls;
    assert.ok(call);
    assert.equal(call.request.artifactId, ARTIFACT);
    assert.equal(call.request.threadsId, "");
    assert.equal(call.request.message?.role, "user");
    const part = call.request.message?.parts[0]?.kind;
    assert.equal(part?.case, "text");
    assert.equal(part.value.text, "Hello");
    assert.equal(call.authorization, "Bearer tok-1");
    assert.equal(result.isNewChat, true);
    assert.equal(result.messageId, server.script.responses.get(call.request.idempotencyKey)?.persistedMessage?.id);
  });

  it("sends into an existing chat", async () => {
    const result = await client.threadsArtifact.sendMessageFromArtifact(ARTIFACT, "Again", CHAT);
    assert.equal(server.script.calls[0]?.request.threadsId, CHAT);
    assert.deepEqual([result.threadsId, result.isNewChat], [CHAT, false]);
  });

  it("retries Unavailable and Aborted with one idempotency key", async () => {
    server.script.failures = [Code.Unavailable, Code.Aborted];
    const result = await client.threadsArtifact.sendMessageFromArtifact(ARTIFACT, "Hello");
    const keys = new Set(server.script.calls.map((call) => call.request.idempotencyKey));
    assert.equal(server.script.calls.length, 3);
    assert.equal(keys.size, 1);
    assert.match([...keys][0] ?? "", /^[0-9a-f-]{36}$/);
    assert.ok(server.script.calls.every((call) => call.authorization === "Bearer tok-1"));
    assert.equal(result.messageId, server.script.responses.get([...keys][0] ?? "")?.persistedMessage?.id);
  });

  it("gives up after maxAttempts", async () => {
    server.script.failures = Array<Code>(10).fill(Code.Unavailable);
    await assert.rejects(client.threadsArtifact.sendMessageFromArtifact(ARTIFACT, "Hello"), { code: Code.Unavailable });
    assert.equal(server.script.calls.length, FAST.maxAttempts);
  });

  it("does not retry errors about the request", async () => {
    server.script.failures = [Code.InvalidArgument];
    await assert.rejects(client.threadsArtifact.sendMessageFromArtifact(ARTIFACT, "Hello"), { code: Code.InvalidArgument });
    assert.equal(server.script.calls.length, 1);
  });

  for (const [args, message] of [
    [["not-a-uuid", "hi"], /artifactId must be a UUID/],
    [[ARTIFACT, "   "], /message must not be empty/],
    [[ARTIFACT, "hi", "chat-1"], /threadsId must be a UUID/],
  ] as const) {
    it(`rejects ${JSON.stringify(args)} before sending`, async () => {
      const [artifactId, text, threadsId] = args as readonly [string, string, string?];
      await assert.rejects(client.threadsArtifact.sendMessageFromArtifact(artifactId, text, threadsId), (error: unknown) => {
        assert.ok(error instanceof AmeideArgumentError);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(server.script.calls.length, 0);
    });
  }
});

async function sequences(iterable: AsyncIterable<{ update: { case: string | undefined; value?: unknown } }>, limit = 100) {
  const seen: number[] = [];
  for await (const update of iterable) {
    seen.push(update.update.case === "message" ? Number((update.update.value as { sequence: bigint }).sequence) : -1);
    if (seen.length >= limit) {
      break;
    }
  }
  return seen;
}

describe("AmeideClient.subscribeChat", () => {
  it("resumes after Unavailable and ResourceExhausted without gaps or duplicates", async () => {
    server.script.breaks = [[Code.Unavailable, 3], [Code.ResourceExhausted, 4]];
    server.script.overlap = 2;
    const seen = await sequences(client.subscribeChat(CHAT, { initialBackoffMs: 1, maxBackoffMs: 2 }));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(server.script.resumeTokens.map(tokenSeq), [0, 3, 5]);
  });

  it("continues after the last delivered update when subscribed again with the same store", async () => {
    const store = new MemoryCheckpointStore();
    server.script.overlap = 3;
    const head = await sequences(client.subscribeChat(CHAT, { checkpointStore: store }), 4);
    const tail = await sequences(client.subscribeChat(CHAT, { checkpointStore: store }));
    assert.deepEqual(head, [1, 2, 3, 4]);
    assert.deepEqual(tail, [5, 6, 7, 8, 9, 10]);
  });

  it("yields control messages only on request", async () => {
    server.script.length = 2;
    const kinds: (string | undefined)[] = [];
    for await (const update of client.subscribeChat(CHAT, { includeControl: true })) {
      kinds.push(update.update.case);
    }
    assert.deepEqual(kinds, ["control", "message", "message", "control"]);
  });

  it("ends on errors that are not transient", async () => {
    server.script.breaks = [[Code.NotFound, 1]];
    await assert.rejects(sequences(client.subscribeChat(CHAT)), { code: Code.NotFound });
    assert.equal(server.script.resumeTokens.length, 1);
  });

  it("throws ResumeExpiredError when the checkpoint is too old", async () => {
    server.script.expireBelow = 5;
    await assert.rejects(sequences(client.subscribeChat(CHAT, { resumeToken: makeToken(2) })), (error: unknown) => {
      assert.ok(error instanceof ResumeExpiredError);
      assert.equal(error.feed, `thread:${CHAT}`);
      return true;
    });
    assert.equal(server.script.resumeTokens.length, 1);
  });

  it("rejects a malformed chat id before subscribing", () => {
    assert.throws(() => client.subscribeChat("chat-1"), AmeideArgumentError);
  });
});

describe("write, then subscribe", () => {
  const sent = { threadsId: CHAT, messageId: crypto.randomUUID(), isNewChat: true, consistencyToken: "ct-send" };

  it("subscribeChat(sent) follows the sent chat and waits for the send, on every reconnect", async () => {
    server.script.breaks = [[Code.Unavailable, 0], [Code.Unavailable, 4]];
    const seen = await sequences(client.subscribeChat(sent, { initialBackoffMs: 1, maxBackoffMs: 2 }));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(server.script.consistencyTokens, ["ct-send", "ct-send", "ct-send"]);
    assert.deepEqual(server.script.resumeTokens.map(tokenSeq), [0, 0, 4]);
  });

  it("takes an id with options.consistencyToken, which also wins over a write's own token", async () => {
    await sequences(client.subscribeChat(CHAT, { consistencyToken: "ct-explicit" }));
    await sequences(client.subscribeChat(sent, { consistencyToken: "ct-later" }));
    await sequences(client.subscribeChat(CHAT));
    assert.deepEqual(server.script.consistencyTokens, ["ct-explicit", "ct-later", ""]);
  });

  it("subscribeArtifact(created) follows the created artifact and waits for the creation", async () => {
    const created = { artifactId: ARTIFACT, version: 1n, consistencyToken: "ct-create" };
    const versions: bigint[] = [];
    for await (const update of client.subscribeArtifact(created)) {
      versions.push(update.version);
    }
    assert.deepEqual(versions, [2n]);
    assert.deepEqual(server.script.artifactIds, [ARTIFACT]);
    assert.deepEqual(server.script.consistencyTokens, ["ct-create"]);
  });

  it("rejects a write naming no valid id before subscribing", () => {
    assert.throws(() => client.subscribeChat({ ...sent, threadsId: "chat-1" }), AmeideArgumentError);
    assert.throws(() => client.subscribeArtifact({ artifactId: "", consistencyToken: "ct" }), AmeideArgumentError);
  });
});

describe("pageThrough", () => {
  it("walks every page once and leaves the request alone", async () => {
    server.script.messages = Array.from({ length: 23 }, (_, i) => `m${i}`);
    const request = { threadsId: CHAT, pageSize: 10 };
    const pages = [];
    for await (const page of pageThrough(client.threadsQueries.getMessages, request)) {
      pages.push(page);
    }
    assert.deepEqual(
      pages.map((page) => page.messages.length),
      [10, 10, 3],
    );
    assert.deepEqual(
      pages.flatMap((page) => page.messages.map((m) => m.id)),
      server.script.messages,
    );
    assert.deepEqual(request, { threadsId: CHAT, pageSize: 10 });
  });

  it("stops when the server repeats a page token", async () => {
    const stuck = async (_request: { pageToken?: string }) => ({ nextPageToken: "same" });
    await assert.rejects(
      (async () => {
        for await (const _ of pageThrough(stuck, {})) {
          // drain
        }
      })(),
      /repeated a page token/,
    );
  });
});

describe("checkpointPosition", () => {
  it("reads service-shaped tokens and tolerates others", () => {
    assert.equal(checkpointPosition(makeToken(42)), 42);
    assert.equal(checkpointPosition(""), undefined);
    assert.equal(checkpointPosition("garbage"), undefined);
    assert.equal(checkpointPosition("!!!.mac"), undefined);
  });
});
