// The contract scenarios (test/contract/scenarios.ts) against the in-memory MockBackend.
import { after } from "node:test";

import { MockBackend } from "../../src/mock/index.js";
import { defineLiveContract } from "../contract/live-scenarios.js";
import { type Caller, type World, defineContract } from "../contract/scenarios.js";

const backend = new MockBackend();
const tenantId = crypto.randomUUID();

function caller(tenant: string): Caller {
  const user = backend.signIn({ tenantId: tenant });
  return { client: backend.client(user.token), userId: user.userId, tenantId: user.tenantId };
}

const world: World = {
  alice: caller(tenantId),
  bob: caller(tenantId),
  mallory: caller(crypto.randomUUID()),
  stranger: backend.client("not-a-token-the-mock-issued"),
};

after(() => backend.close());

defineContract(() => world);
defineLiveContract(() => world);
