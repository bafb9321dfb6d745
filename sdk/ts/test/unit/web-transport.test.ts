// @ameide/sdk/web's client over gRPC-Web (fetch, HTTP/1.1), as a browser talks to Envoy: here against the mock
// backend served by a Node HTTP server, with the bearer token read from a provider on every call.
import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";

import { connectNodeAdapter } from "@connectrpc/connect-node";

import { Code, ConnectError, errorReason } from "../../src/index.js";
import { MockBackend } from "../../src/mock/index.js";
import { createWebClient, tokenIdentity } from "../../src/web.js";

const backend = new MockBackend({ heartbeatMs: 0 });
let server: Server;
let baseUrl = "";

before(async () => {
  server = createServer(connectNodeAdapter(backend.handlerOptions()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  backend.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("createWebClient", () => {
  it("sends, reads and follows a chat over gRPC-Web with the provider's current token", async () => {
    const alice = backend.signIn();
    let token: string | null = null;
    const client = createWebClient({ baseUrl, token: () => token });
    await assert.rejects(client.threadsQueries.listChats({}), (error: unknown) => {
      assert.equal(ConnectError.from(error).code, Code.Unauthenticated);
      assert.equal(errorReason(error), "NO_CREDENTIALS");
      return true;
    });

    token = alice.token; // stored later (signed in): picked up by the next call
    const { artifactId } = await client.artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn" });
    const sent = await client.threadsArtifact.sendMessageFromArtifact(artifactId, "over gRPC-Web");
    const page = await client.threadsQueries.getMessages({ threadsId: sent.threadsId });
    const kinds: string[] = [];
    const controller = new AbortController();
    await assert.rejects(
      (async () => {
        for await (const update of client.subscribeChat(sent.threadsId, { resumeToken: page.checkpointToken, includeControl: true, signal: controller.signal })) {
          kinds.push(update.update.case ?? "");
          if (update.update.case === "control" && kinds.length === 2) {
            await client.threadsCommands.sendMessage({
              threadsId: sent.threadsId,
              message: { role: "user", parts: [{ kind: { case: "text", value: { text: "live" } } }] },
              idempotencyKey: crypto.randomUUID(),
            });
          }
          if (update.update.case === "message") {
            controller.abort();
          }
        }
      })(),
      { name: "ConnectError" },
    );
    assert.deepEqual(kinds, ["control", "control", "message"]);
  });

  it("sends LeavePresence with keepalive (it outlives a closing page), and nothing else", async () => {
    const alice = backend.signIn();
    const sent: { path: string; keepalive: boolean }[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push({ path: new URL(input instanceof Request ? input.url : input).pathname, keepalive: init?.keepalive === true });
      return fetch(input, init);
    };
    const client = createWebClient({ baseUrl, token: () => alice.token, fetch: recording });
    const { artifactId } = await client.artifactCommands.createArtifact({ title: "Presence", kind: "document" });
    await client.announcePresence({ artifactId }, { clientId: "tab-1" });
    await client.leavePresence({ artifactId }, "tab-1");
    assert.deepEqual(
      sent.map((request) => [request.path.split("/").pop(), request.keepalive]),
      [
        ["CreateArtifact", false],
        ["AnnouncePresence", false],
        ["LeavePresence", true],
      ],
    );
  });

  it("reads the caller from a JWT-shaped token without verifying it", () => {
    const user = backend.signIn({ tenantId: "acme", userId: "alice" });
    assert.deepEqual(tokenIdentity(user.token), { userId: "alice", tenantId: "acme" });
    assert.equal(tokenIdentity("not a token"), undefined);
    assert.equal(tokenIdentity(null), undefined);
  });
});
