// The contract scenarios (test/contract/scenarios.ts) against the real deployables started by
// tools/run_with_stack.py: what the mock models must be what the services do.
import { after } from "node:test";

import { Http2SessionManager } from "@connectrpc/connect-node";

import { AmeideClient } from "../../src/index.js";
import { createNodeTransport } from "../../src/node.js";
import { defineLiveContract } from "../contract/live-scenarios.js";
import { type Caller, type World, defineContract } from "../contract/scenarios.js";
import { env } from "../stack-env.js";

const commandUrl = env("AMEIDE_COMMAND_URL");
const queryUrl = env("AMEIDE_QUERY_URL");
// Own session managers, closed at the end: an idle HTTP/2 session would keep node running for a minute.
const sessions: Http2SessionManager[] = [];

function client(token: string): AmeideClient {
  const transport = (baseUrl: string) => {
    const sessionManager = new Http2SessionManager(baseUrl);
    sessions.push(sessionManager);
    return createNodeTransport({ baseUrl, token, sessionManager });
  };
  return AmeideClient.withTransports({ commands: transport(commandUrl), queries: transport(queryUrl) });
}

type Tokens = Record<"alice" | "bob" | "mallory", { token: string; userId: string; tenantId: string }>;
const tokens = JSON.parse(env("AMEIDE_TEST_TOKENS")) as Tokens;
const caller = (name: keyof Tokens): Caller => ({ client: client(tokens[name].token), userId: tokens[name].userId, tenantId: tokens[name].tenantId });

const world: World = { alice: caller("alice"), bob: caller("bob"), mallory: caller("mallory"), stranger: client("not-a-jwt") };

after(() => {
  for (const manager of sessions) {
    manager.abort();
  }
});

defineContract(() => world);
defineLiveContract(() => world);
