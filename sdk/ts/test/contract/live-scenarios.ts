// The live signals' scenarios (presence, typing, drafts), run against the mock backend and the real services like
// the rest of the contract (scenarios.ts). Each step of a scenario is taken when the stream shows what the previous
// one caused, starting from the presenceSnapshot (the services read it after CAUGHT_UP): nothing depends on timing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  type ArtifactUpdate,
  type ChatUpdate,
  ChatVisibility,
  Code,
  DraftAbandoned_Reason,
  PresenceChange_Kind,
  PresenceState,
  StreamControl_Kind,
  errorInfo,
} from "../../src/index.js";
import { type Caller, type World, readUntil, rejects } from "./scenarios.js";

type Update = ChatUpdate | ArtifactUpdate;

/** One update as a short line: control kinds, presence changes by name, drafts with their text. */
function describeUpdate(update: Update, names: Map<string, string>): string {
  const change = update.update;
  const who = (id: string | undefined) => names.get(id ?? "") ?? id ?? "?";
  switch (change.case) {
    case "control":
      return StreamControl_Kind[change.value.kind];
    case "presenceSnapshot":
      return `snapshot:[${change.value.participants.map((p) => `${who(p.userId)}/${PresenceState[p.state]}`).join(",")}]`;
    case "presenceChanged":
      return `${PresenceChange_Kind[change.value.kind]}:${who(change.value.participant?.userId)}/${PresenceState[change.value.participant?.state ?? 0]}`;
    case "draftStarted":
      return `draftStarted:${change.value.text}@${change.value.seq}`;
    case "draftDelta":
      return `draftDelta:${change.value.text}@${change.value.seq}`;
    case "draftCompleted":
      return "draftCompleted";
    case "draftAbandoned":
      return `draftAbandoned:${DraftAbandoned_Reason[change.value.reason]}:${change.value.detail}`;
    case "message":
      return `message:${change.value.role}:${change.value.parts.map((p) => (p.kind.case === "text" ? p.kind.value.text : "")).join("")}`;
    default:
      return change.case ?? "?";
  }
}

/**
 * Follows a stream until `done`; after each update, `step` may act (it sees every line so far). Returns the lines
 * (heartbeats left out) and the updates.
 */
async function follow<U extends Update>(
  open: (signal: AbortSignal) => AsyncIterable<U>,
  names: Map<string, string>,
  step: (seen: string[], update: U) => Promise<void> | void,
  done: (seen: string[]) => boolean,
): Promise<{ seen: string[]; updates: U[] }> {
  const seen: string[] = [];
  const updates: U[] = [];
  await readUntil(open, async (update) => {
    const line = describeUpdate(update, names);
    if (line === "HEARTBEAT") {
      return false;
    }
    seen.push(line);
    updates.push(update);
    if (done(seen)) {
      return true;
    }
    await step(seen, update);
    return false;
  });
  return { seen, updates };
}

/** Runs each action once, the first time `when` holds for the newest line. */
function script(...steps: [when: (line: string) => boolean, action: () => Promise<unknown>][]) {
  let next = 0;
  return async (seen: string[]) => {
    const [when, action] = steps[next] ?? [];
    if (when && action && when(seen.at(-1) ?? "")) {
      next += 1;
      await action();
    }
  };
}

const starts = (prefix: string) => (line: string) => line.startsWith(prefix);

export function defineLiveContract(world: () => World): void {
  const names = (): Map<string, string> => {
    const { alice, bob, mallory } = world();
    return new Map([
      [alice.userId, "alice"],
      [bob.userId, "bob"],
      [mallory.userId, "mallory"],
    ]);
  };

  const teamChat = async (owner: Caller, visibility = ChatVisibility.TEAM): Promise<string> => {
    const created = await owner.client.threadsCommands.createChat({ title: "live", visibility });
    const threadsId = created.threads?.id ?? "";
    await owner.client.threadsQueries.getChat({ threadsId, consistencyToken: created.consistencyToken });
    return threadsId;
  };

  const chatStream = (caller: Caller, threadsId: string) => (signal: AbortSignal) =>
    caller.client.threadsQueries.streamChatUpdates({ threadsId, includeSignals: true }, { signal });

  describe("presence", () => {
    it("a subscriber sees the snapshot, then a colleague join, type from a second tab, stop and leave", async () => {
      const { alice, bob } = world();
      const threadsId = await teamChat(alice);
      const chat = { threadsId };
      const { seen } = await follow(
        chatStream(bob, threadsId),
        names(),
        script(
          [starts("snapshot"), () => alice.client.announcePresence(chat, { clientId: "tab-1", displayName: "Alice" })],
          [starts("JOINED"), () => alice.client.announcePresence(chat, { clientId: "tab-2", typing: true, displayName: "Alice" })],
          [
            starts("TYPING_STARTED"),
            async () => {
              const present = await bob.client.listPresence(chat);
              assert.deepEqual(present.map((p) => [p.userId, p.displayName]), [[alice.userId, "Alice"]]);
              await alice.client.leavePresence(chat, "tab-2");
            },
          ],
          [starts("TYPING_STOPPED"), () => alice.client.leavePresence(chat, "tab-1")],
        ),
        (lines) => lines.some(starts("LEFT")),
      );
      assert.deepEqual(seen, [
        "SUBSCRIBED",
        "CAUGHT_UP",
        "snapshot:[]",
        "JOINED:alice/VIEWING",
        "TYPING_STARTED:alice/TYPING",
        "TYPING_STOPPED:alice/VIEWING",
        "LEFT:alice/VIEWING",
      ]);
      await alice.client.leavePresence(chat, "tab-1"); // leaving twice is fine
      assert.deepEqual(await bob.client.listPresence(chat), []);
    });

    it("a subscription starts from who is present; a second tab of the same user is no second participant", async () => {
      const { alice, bob } = world();
      const created = await alice.client.artifactCommands.createArtifact({ title: "Presence", kind: "document" });
      const target = { artifactId: created.artifactId };
      await alice.client.announcePresence(target, { clientId: "tab-1", consistencyToken: created.consistencyToken });
      const { seen } = await follow(
        (signal) => bob.client.artifactQueries.streamArtifactUpdates({ artifactId: created.artifactId, includeSignals: true }, { signal }),
        names(),
        script([
          starts("snapshot"),
          async () => {
            await alice.client.announcePresence(target, { clientId: "tab-2" }); // no change: shown to nobody
            await bob.client.announcePresence(target, { clientId: "tab-1", typing: true });
          },
        ]),
        (lines) => lines.some(starts("JOINED:bob")),
      );
      assert.deepEqual(seen, ["SUBSCRIBED", "CAUGHT_UP", "snapshot:[alice/VIEWING]", "JOINED:bob/TYPING"]);
      await alice.client.leavePresence(target, "tab-1");
      const present = await bob.client.listPresence(target);
      assert.deepEqual(present.map((p) => p.userId).sort(), [alice.userId, bob.userId].sort()); // alice's tab-2 stays
    });

    it("a PUBLIC chat's readers of another tenant and its owner's tenant never see each other", async () => {
      const { alice, bob, mallory } = world();
      const threadsId = await teamChat(alice, ChatVisibility.PUBLIC);
      const chat = { threadsId };
      const { seen } = await follow(
        chatStream(bob, threadsId),
        names(),
        script([
          starts("snapshot"),
          async () => {
            await mallory.client.announcePresence(chat, { clientId: "tab-1" });
            await alice.client.announcePresence(chat, { clientId: "tab-1" });
          },
        ]),
        (lines) => lines.some(starts("JOINED")),
      );
      // Mallory announced first: had it been shown, it would have come first.
      assert.deepEqual(seen, ["SUBSCRIBED", "CAUGHT_UP", "snapshot:[]", "JOINED:alice/VIEWING"]);
      const seenByMallory = await mallory.client.listPresence(chat);
      assert.deepEqual(seenByMallory.map((p) => p.userId), [mallory.userId]);
      const seenByAlice = await alice.client.listPresence(chat);
      assert.deepEqual(seenByAlice.map((p) => p.userId), [alice.userId]);
      const outside = await follow(chatStream(mallory, threadsId), names(), () => undefined, (lines) => lines.some(starts("snapshot")));
      assert.deepEqual(outside.seen.at(-1), "snapshot:[mallory/VIEWING]");
    });

    it("follows the read rule and refuses bad input", async () => {
      const { alice, mallory } = world();
      const threadsId = await teamChat(alice, ChatVisibility.PRIVATE);
      const { artifactId } = await alice.client.artifactCommands.createArtifact({ title: "Hidden", kind: "document" });
      await rejects(mallory.client.announcePresence({ threadsId }, { clientId: "tab-1" }), Code.NotFound, "CHAT_NOT_FOUND");
      await rejects(mallory.client.listPresence({ artifactId }), Code.NotFound, "ARTIFACT_NOT_FOUND");
      await rejects(alice.client.announcePresence({ threadsId }, { clientId: "not allowed!" }), Code.InvalidArgument);
      await rejects(alice.client.presence.announcePresence({ clientId: "tab-1", state: PresenceState.VIEWING }), Code.InvalidArgument);
      await rejects(alice.client.presence.announcePresence({ resource: { case: "threadsId", value: threadsId }, clientId: "tab-1" }), Code.InvalidArgument);
      const answer = await alice.client.announcePresence({ threadsId }, { clientId: "tab-1" });
      assert.ok(answer.renewAfterMs > 0 && answer.expiresAt);
      await alice.client.leavePresence({ threadsId }, "tab-1");
    });
  });

  describe("drafts", () => {
    it("grows delta by delta, then becomes one assistant message delivered before its draftCompleted", async () => {
      const { alice, bob } = world();
      const threadsId = await teamChat(alice);
      const draftId = crypto.randomUUID();
      const drafts = alice.client.drafts;
      let messageId = "";
      const { seen, updates } = await follow(
        chatStream(bob, threadsId),
        names(),
        script(
          [starts("snapshot"), () => drafts.startDraft({ draftId, threadsId, agentId: "helper" })],
          [starts("draftStarted"), () => drafts.appendDraft({ draftId, seq: 1n, text: "Hello, " })],
          [starts("draftDelta:Hello"), () => drafts.appendDraft({ draftId, seq: 2n, text: "world." })],
          [
            starts("draftDelta:world"),
            async () => {
              assert.equal((await drafts.appendDraft({ draftId, seq: 1n, text: "Hello, " })).seq, 2n); // a retry: ignored
              messageId = (await drafts.completeDraft({ draftId })).messageId;
            },
          ],
        ),
        (lines) => lines.includes("draftCompleted"),
      );
      assert.deepEqual(seen, [
        "SUBSCRIBED",
        "CAUGHT_UP",
        "snapshot:[]",
        "draftStarted:@0",
        "draftDelta:Hello, @1",
        "draftDelta:world.@2",
        "message:assistant:Hello, world.",
        "draftCompleted",
      ]);
      const message = updates.find((u) => u.update.case === "message");
      assert.ok(message?.update.case === "message");
      assert.deepEqual([message.update.value.id, message.update.value.idempotencyKey, message.update.value.userId], [messageId, draftId, alice.userId]);
      assert.ok(message.checkpointToken);
      const completed = updates.at(-1);
      assert.ok(completed?.update.case === "draftCompleted");
      assert.deepEqual([completed.update.value.draftId, completed.update.value.messageId, completed.checkpointToken], [draftId, messageId, ""]);

      const again = await drafts.completeDraft({ draftId });
      assert.equal(again.messageId, messageId);
      const page = await alice.client.threadsQueries.getMessages({ threadsId, consistencyToken: again.consistencyToken });
      assert.equal(page.totalCount, 1);
      await rejects(drafts.appendDraft({ draftId, seq: 3n, text: "more" }), Code.FailedPrecondition, "DRAFT_ENDED");
    });

    it("a subscriber joining mid-draft gets the text so far, then the following deltas; abandoning removes it", async () => {
      const { alice } = world();
      const threadsId = await teamChat(alice);
      const draftId = crypto.randomUUID();
      const drafts = alice.client.drafts;
      await drafts.startDraft({ draftId, threadsId, agentId: "helper" });
      await drafts.appendDraft({ draftId, seq: 1n, text: "The diagram " });
      await drafts.appendDraft({ draftId, seq: 0n, text: "has " }); // 0: the next one
      const { seen } = await follow(
        chatStream(alice, threadsId),
        names(),
        script(
          [starts("draftStarted"), () => drafts.appendDraft({ draftId, seq: 3n, text: "three tasks." })],
          [starts("draftDelta"), () => drafts.abandonDraft({ draftId, reason: "the user left" })],
        ),
        (lines) => lines.some(starts("draftAbandoned")),
      );
      assert.deepEqual(seen, [
        "SUBSCRIBED",
        "CAUGHT_UP",
        "snapshot:[]",
        "draftStarted:The diagram has @2",
        "draftDelta:three tasks.@3",
        "draftAbandoned:ABANDONED:the user left",
      ]);
      await drafts.abandonDraft({ draftId }); // abandoning again is fine
      await rejects(drafts.completeDraft({ draftId }), Code.FailedPrecondition, "DRAFT_ENDED");
    });

    it("refuses gaps, strangers, reused ids, empty completions and unwritable chats", async () => {
      const { alice, bob, mallory } = world();
      const threadsId = await teamChat(alice);
      const other = await teamChat(alice);
      const draftId = crypto.randomUUID();
      const drafts = alice.client.drafts;
      assert.equal((await drafts.startDraft({ draftId, threadsId, agentId: "helper" })).seq, 0n);
      await rejects(drafts.completeDraft({ draftId }), Code.FailedPrecondition, "DRAFT_EMPTY");
      const gap = await rejects(drafts.appendDraft({ draftId, seq: 2n, text: "skipped" }), Code.FailedPrecondition, "DRAFT_SEQUENCE_GAP");
      assert.equal(errorInfo(gap)?.metadata["last_seq"], "0");
      await drafts.appendDraft({ draftId, seq: 1n, text: "first" });
      assert.equal((await drafts.startDraft({ draftId, threadsId, agentId: "helper" })).seq, 1n); // found again
      await rejects(drafts.startDraft({ draftId, threadsId: other, agentId: "helper" }), Code.FailedPrecondition, "DRAFT_ID_REUSED");
      await rejects(bob.client.drafts.appendDraft({ draftId, seq: 2n, text: "not mine" }), Code.NotFound, "DRAFT_NOT_FOUND");
      await rejects(drafts.appendDraft({ draftId: crypto.randomUUID(), seq: 1n, text: "x" }), Code.NotFound, "DRAFT_NOT_FOUND");
      await rejects(mallory.client.drafts.startDraft({ draftId: crypto.randomUUID(), threadsId, agentId: "helper" }), Code.NotFound, "CHAT_NOT_FOUND");
      await rejects(drafts.startDraft({ draftId: "not-a-uuid", threadsId, agentId: "" }), Code.InvalidArgument);
      await rejects(drafts.appendDraft({ draftId, seq: 2n, text: "" }), Code.InvalidArgument);
      await drafts.abandonDraft({ draftId });
    });
  });
}
