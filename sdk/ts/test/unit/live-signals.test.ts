// LiveSignals (the fold of a stream's signals) and PresenceHeartbeat (one client kept present), without a server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { create } from "@bufbuild/protobuf";
import { createRouterTransport, createClient } from "@connectrpc/connect";

import {
  type AnnouncePresenceRequest,
  ChatUpdateSchema,
  LiveSignals,
  PresenceChange_Kind,
  PresenceService,
  PresenceState,
} from "../../src/index.js";
import { PresenceHeartbeat, TYPING_MS, TYPING_RENEW_MS } from "../../src/presence.js";

type Case = Parameters<typeof create<typeof ChatUpdateSchema>>[1];
const update = (value: NonNullable<Case>["update"]) => create(ChatUpdateSchema, { update: value });
const person = (userId: string, state = PresenceState.VIEWING) => ({ userId, displayName: userId.toUpperCase(), state });

describe("LiveSignals", () => {
  it("folds presence: a snapshot replaces, changes add, update and remove", () => {
    const signals = new LiveSignals();
    assert.equal(signals.apply(update({ case: "presenceSnapshot", value: { participants: [person("ada"), person("bo", PresenceState.TYPING)] } })), true);
    assert.deepEqual([...signals.participants.values()].map((p) => [p.userId, p.displayName, p.state]), [["ada", "ADA", "viewing"], ["bo", "BO", "typing"]]);
    signals.apply(update({ case: "presenceChanged", value: { kind: PresenceChange_Kind.TYPING_STARTED, participant: person("ada", PresenceState.TYPING) } }));
    signals.apply(update({ case: "presenceChanged", value: { kind: PresenceChange_Kind.LEFT, participant: person("bo"), expired: true } }));
    signals.apply(update({ case: "presenceChanged", value: { kind: PresenceChange_Kind.JOINED, participant: person("cy") } }));
    assert.deepEqual([...signals.participants.values()].map((p) => [p.userId, p.state]), [["ada", "typing"], ["cy", "viewing"]]);
    assert.deepEqual(signals.typing.map((p) => p.userId), ["ada"]);
    assert.equal(signals.apply(update({ case: "message", value: {} })), false);
  });

  it("folds drafts: started (create or replace), deltas in order, completed or abandoned; a snapshot drops them", () => {
    const signals = new LiveSignals();
    signals.apply(update({ case: "draftStarted", value: { draftId: "d1", agentId: "helper", userId: "ada", text: "The ", seq: 1n } }));
    signals.apply(update({ case: "draftDelta", value: { draftId: "d1", seq: 2n, text: "diagram" } }));
    signals.apply(update({ case: "draftDelta", value: { draftId: "d1", seq: 2n, text: "diagram" } })); // not the next: ignored
    signals.apply(update({ case: "draftStarted", value: { draftId: "d2", agentId: "helper", text: "", seq: 0n } }));
    assert.deepEqual([...signals.drafts.values()].map((d) => [d.draftId, d.text, d.seq]), [["d1", "The diagram", 2], ["d2", "", 0]]);
    const before = signals.drafts;
    signals.apply(update({ case: "draftCompleted", value: { draftId: "d1", messageId: "m1" } }));
    assert.notEqual(signals.drafts, before, "a change makes a new map");
    assert.deepEqual([...signals.drafts.keys()], ["d2"]);
    assert.equal(signals.completed.get("d1"), "m1");
    assert.equal(signals.messageArrived({ id: "m2", idempotencyKey: "d2" }), true);
    assert.equal(signals.drafts.size, 0);
    signals.apply(update({ case: "draftStarted", value: { draftId: "d3", text: "x", seq: 1n } }));
    signals.apply(update({ case: "draftAbandoned", value: { draftId: "d3" } }));
    signals.apply(update({ case: "draftStarted", value: { draftId: "d4", text: "y", seq: 1n } }));
    signals.apply(update({ case: "presenceSnapshot", value: { participants: [] } }));
    assert.equal(signals.drafts.size, 0);
  });
});

/** A PresenceService that records what it was asked. */
function recordingPresence(renewAfterMs: number) {
  const asked: { method: string; state?: PresenceState }[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(PresenceService, {
      announcePresence: (request: AnnouncePresenceRequest) => {
        asked.push({ method: "announce", state: request.state });
        return { renewAfterMs };
      },
      leavePresence: () => {
        asked.push({ method: "leave" });
        return {};
      },
      listPresence: () => ({ participants: [] }),
    });
  });
  return { asked, client: createClient(PresenceService, transport) };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("PresenceHeartbeat", () => {
  it("announces typing at most every TYPING_RENEW_MS, viewing when told, and leaves on stop", async () => {
    const { asked, client } = recordingPresence(60_000);
    let now = 1_000_000;
    const heartbeat = new PresenceHeartbeat(client, { threadsId: crypto.randomUUID() }, { now: () => now, page: null });
    heartbeat.start();
    heartbeat.typing();
    now += TYPING_RENEW_MS - 1;
    heartbeat.typing(); // throttled
    now += 1;
    heartbeat.typing();
    await settled();
    heartbeat.viewing();
    heartbeat.viewing(); // already viewing: nothing to say
    await heartbeat.stop();
    await heartbeat.stop();
    const states = asked.map((a) => (a.method === "leave" ? "leave" : PresenceState[a.state ?? 0]));
    assert.deepEqual(states, ["VIEWING", "TYPING", "TYPING", "VIEWING", "leave"]);
    assert.ok(TYPING_MS > TYPING_RENEW_MS);
  });

  it("leaves when the page hides and announces again when it is shown from the back/forward cache", async () => {
    const { asked, client } = recordingPresence(60_000);
    const page = new EventTarget();
    const heartbeat = new PresenceHeartbeat(client, { artifactId: crypto.randomUUID() }, { page });
    heartbeat.start();
    await settled();
    page.dispatchEvent(new Event("pagehide"));
    await settled();
    page.dispatchEvent(Object.assign(new Event("pageshow"), { persisted: true }));
    await settled();
    await heartbeat.stop();
    page.dispatchEvent(new Event("pagehide")); // stopped: no longer listening
    await settled();
    assert.deepEqual(asked.map((a) => a.method), ["announce", "leave", "announce", "leave"]);
  });
});
