// One scenario file, run against the mock backend (test/unit/mock-contract.test.ts) and against the real services
// (test/e2e/contract.e2e.test.ts), so the mock cannot drift from the services in what it models. Every read after
// a write passes the write's consistency token: the services' read model is eventually consistent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  type AmeideClient,
  type ArtifactUpdate,
  ChatVisibility,
  type ChatMessage,
  type ChatUpdate,
  Code,
  ConnectError,
  RelationType,
  StreamControl_Kind,
  errorReason,
} from "../../src/index.js";

export interface Caller {
  client: AmeideClient;
  userId: string;
  tenantId: string;
}

/** alice and bob share a tenant; mallory is of another; `stranger` sends a token the services do not accept. */
export interface World {
  alice: Caller;
  bob: Caller;
  mallory: Caller;
  stranger: AmeideClient;
}

// A safety net for streams only: each wait ends as soon as what it waits for has arrived.
const BOUND_MS = 30_000;

function text(message: ChatMessage | undefined): string {
  const part = message?.parts[0]?.kind;
  return part?.case === "text" ? part.value.text : "";
}

function input(value: string) {
  return { role: "user", parts: [{ kind: { case: "text" as const, value: { text: value } } }] };
}

/** Asserts the call fails with `code` (and `reason`); the error, for a closer look. */
export async function rejects(call: Promise<unknown>, code: Code, reason?: string): Promise<ConnectError> {
  let caught: ConnectError | undefined;
  await assert.rejects(call, (error: unknown) => {
    caught = ConnectError.from(error);
    assert.equal(Code[caught.code], Code[code], caught.message);
    if (reason !== undefined) {
      assert.equal(errorReason(caught), reason);
    }
    return true;
  });
  return caught as ConnectError;
}

/** Reads a stream until `each` answers true (that ends the call), within BOUND_MS. */
export async function readUntil<U>(stream: (signal: AbortSignal) => AsyncIterable<U>, each: (update: U) => Promise<boolean> | boolean): Promise<void> {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(BOUND_MS)]);
  try {
    for await (const update of stream(signal)) {
      if (await each(update)) {
        controller.abort();
        break;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) {
      throw error;
    }
  }
}

/** What a stream delivered, in order: control kinds as "SUBSCRIBED"..., data as `case:detail`. */
async function collect<U extends ChatUpdate | ArtifactUpdate>(
  stream: (signal: AbortSignal) => AsyncIterable<U>,
  until: (seen: string[]) => boolean,
  describe: (update: U) => string,
  afterCaughtUp?: () => Promise<void>,
): Promise<{ seen: string[]; updates: U[] }> {
  const seen: string[] = [];
  const updates: U[] = [];
  await readUntil(stream, async (update) => {
    updates.push(update);
    const control = update.update.case === "control" ? update.update.value.kind : undefined;
    seen.push(control !== undefined ? StreamControl_Kind[control] : describe(update));
    if (control === StreamControl_Kind.CAUGHT_UP && afterCaughtUp) {
      await afterCaughtUp();
    }
    return until(seen);
  });
  return { seen: seen.filter((kind) => kind !== "HEARTBEAT"), updates };
}

/** A stream read one data update at a time, so a test can write between reads (bounded like `collect`). */
class Following<U extends ChatUpdate | ArtifactUpdate> {
  private readonly controller = new AbortController();
  private readonly updates: AsyncIterator<U>;

  constructor(open: (signal: AbortSignal) => AsyncIterable<U>) {
    this.updates = open(AbortSignal.any([this.controller.signal, AbortSignal.timeout(BOUND_MS)]))[Symbol.asyncIterator]();
  }

  /** Reads until CAUGHT_UP; returns the data updates replayed before it. */
  async caughtUp(): Promise<U[]> {
    const replayed: U[] = [];
    for (;;) {
      const update = await this.read();
      if (update.update.case !== "control") {
        replayed.push(update);
      } else if (update.update.value.kind === StreamControl_Kind.CAUGHT_UP) {
        return replayed;
      }
    }
  }

  /** The next data update (control messages skipped). */
  async next(): Promise<U> {
    for (;;) {
      const update = await this.read();
      if (update.update.case !== "control") {
        return update;
      }
    }
  }

  close(): void {
    this.controller.abort();
  }

  private async read(): Promise<U> {
    const { value, done } = await this.updates.next();
    assert.ok(!done, "the stream ended");
    return value;
  }
}

/** A chat reference update as `case:chat:title` (the title for threadsAdded only). */
function describeReference(update: ArtifactUpdate, names: Record<string, string>): string {
  const change = update.update;
  if (change.case === "threadsAdded") {
    return `threadsAdded:${names[change.value.threadsId] ?? change.value.threadsId}:${change.value.threadsTitle}`;
  }
  if (change.case === "threadsRemoved") {
    return `threadsRemoved:${names[change.value.threadsId] ?? change.value.threadsId}`;
  }
  return `${change.case}`;
}

const describeChat = (update: ChatUpdate): string =>
  update.update.case === "message" ? `message:${text(update.update.value)}` : `${update.update.case}`;

const describeArtifact = (update: ArtifactUpdate): string => `${update.update.case}:v${update.version}`;

export function defineContract(world: () => World): void {
  const send = async (caller: Caller, threadsId: string, value: string) =>
    caller.client.threadsCommands.sendMessage({ threadsId, message: input(value), idempotencyKey: crypto.randomUUID() });

  const artifact = async (caller: Caller, title = "Order Process") =>
    caller.client.artifactCommands.createArtifact({ title, kind: "bpmn", content: { mimeType: "application/bpmn+xml", body: new TextEncoder().encode("<bpmn/>") } });

  describe("EnsureChatForArtifactAndSendMessage", () => {
    it("creates, links and sends at once; then sends into the selected chat", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const first = await alice.client.threadsCommands.ensureChatForArtifactAndSendMessage({ artifactId, message: input("first"), idempotencyKey: crypto.randomUUID() });
      const second = await alice.client.threadsCommands.ensureChatForArtifactAndSendMessage({
        artifactId,
        threadsId: first.threadsId,
        message: input("second"),
        idempotencyKey: crypto.randomUUID(),
      });
      assert.equal(first.threadsCreated, true);
      assert.equal(second.threadsCreated, false);
      assert.equal(second.threadsId, first.threadsId);
      assert.deepEqual([first.persistedMessage?.sequence, second.persistedMessage?.sequence], [1n, 2n]);
      assert.equal(first.persistedMessage?.artifactId, artifactId);
      assert.equal(first.persistedMessage?.userId, alice.userId);

      const consistencyToken = second.consistencyToken;
      const { threads } = await alice.client.threadsQueries.getChat({ threadsId: first.threadsId, consistencyToken });
      assert.equal(threads?.title, "Discussion about Order Process");
      assert.equal(threads?.visibility, ChatVisibility.PRIVATE);
      assert.equal(threads?.messageCount, 2n);
      const chats = await alice.client.artifactQueries.getArtifactChats({ artifactId });
      assert.deepEqual(chats.threads.map((c) => [c.threadsId, c.threadsTitle, c.relationType]), [[first.threadsId, "Discussion about Order Process", RelationType.REFERENCED]]);
      const artifacts = await alice.client.threadsQueries.getChatArtifacts({ threadsId: first.threadsId });
      assert.deepEqual(artifacts.artifacts.map((a) => [a.artifactId, a.title, a.kind]), [[artifactId, "Order Process", "bpmn"]]);
    });

    it("replays the same key and request; refuses the same key with another request", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const request = { artifactId, message: input("once"), idempotencyKey: crypto.randomUUID() };
      let replayed: string | null = null;
      const first = await alice.client.threadsCommands.ensureChatForArtifactAndSendMessage(request);
      const again = await alice.client.threadsCommands.ensureChatForArtifactAndSendMessage(request, {
        onTrailer: (trailer) => {
          replayed = trailer.get("idempotent-replayed");
        },
      });
      assert.deepEqual([again.threadsId, again.persistedMessage?.id, again.threadsCreated], [first.threadsId, first.persistedMessage?.id, true]);
      assert.equal(replayed, "true");
      await rejects(
        alice.client.threadsCommands.ensureChatForArtifactAndSendMessage({ ...request, message: input("twice") }),
        Code.FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
      );
      const { totalCount } = await alice.client.threadsQueries.getMessages({ threadsId: first.threadsId, consistencyToken: first.consistencyToken });
      assert.equal(totalCount, 1);
    });

    it("answers bad input with INVALID_ARGUMENT and unknown artifacts with NOT_FOUND", async () => {
      const { alice } = world();
      await rejects(alice.client.threadsCommands.ensureChatForArtifactAndSendMessage({ artifactId: "nope", message: input("x"), idempotencyKey: "k" }), Code.InvalidArgument);
      await rejects(
        alice.client.threadsCommands.ensureChatForArtifactAndSendMessage({ artifactId: crypto.randomUUID(), message: input("x"), idempotencyKey: crypto.randomUUID() }),
        Code.NotFound,
        "NOT_FOUND",
      );
    });
  });

  describe("tenancy and visibility", () => {
    it("hides another tenant's chats and artifacts as NOT_FOUND, never PERMISSION_DENIED", async () => {
      const { alice, mallory } = world();
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "secret");
      await alice.client.threadsQueries.getChat({ threadsId: sent.threadsId, consistencyToken: sent.consistencyToken });
      await rejects(mallory.client.threadsQueries.getChat({ threadsId: sent.threadsId }), Code.NotFound, "CHAT_NOT_FOUND");
      await rejects(mallory.client.threadsQueries.getMessages({ threadsId: sent.threadsId }), Code.NotFound, "CHAT_NOT_FOUND");
      await rejects(mallory.client.artifactQueries.getArtifact({ artifactId }), Code.NotFound, "ARTIFACT_NOT_FOUND");
      await rejects(mallory.client.artifactQueries.getArtifactChats({ artifactId }), Code.NotFound, "ARTIFACT_NOT_FOUND");
      await rejects(
        mallory.client.threadsCommands.ensureChatForArtifactAndSendMessage({ artifactId, message: input("x"), idempotencyKey: crypto.randomUUID() }),
        Code.NotFound,
        "NOT_FOUND",
      );
      await rejects(collect((signal) => mallory.client.threadsQueries.streamChatUpdates({ threadsId: sent.threadsId }, { signal }), () => true, describeChat), Code.NotFound, "CHAT_NOT_FOUND");
      const listed = await mallory.client.threadsQueries.listChats({ filter: { artifactIds: [artifactId] } });
      assert.equal(listed.totalCount, 0);
    });

    it("PRIVATE is the owner's; TEAM opens it to the tenant; PUBLIC to anyone by id, never listed elsewhere", async () => {
      const { alice, bob, mallory } = world();
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "hello");
      const { threadsId } = sent;
      await alice.client.threadsQueries.getChat({ threadsId, consistencyToken: sent.consistencyToken });
      await rejects(bob.client.threadsQueries.getChat({ threadsId }), Code.NotFound, "CHAT_NOT_FOUND");
      assert.equal((await bob.client.artifactQueries.getArtifactChats({ artifactId })).totalCount, 0);

      const team = await alice.client.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.TEAM });
      assert.equal((await bob.client.threadsQueries.getChat({ threadsId, consistencyToken: team.consistencyToken })).threads?.visibility, ChatVisibility.TEAM);
      const bobs = await send(bob, threadsId, "from bob");
      assert.equal(bobs.message?.userId, bob.userId);
      await rejects(bob.client.threadsCommands.updateChatTitle({ threadsId, title: "mine" }), Code.PermissionDenied, "NOT_CHAT_OWNER");
      await rejects(mallory.client.threadsQueries.getChat({ threadsId }), Code.NotFound);

      const made = await alice.client.threadsCommands.updateVisibility({ threadsId, visibility: ChatVisibility.PUBLIC });
      await alice.client.threadsQueries.getChat({ threadsId, consistencyToken: made.consistencyToken });
      const shared = await mallory.client.threadsQueries.getMessages({ threadsId });
      assert.deepEqual(shared.messages.map(text), ["hello", "from bob"]);
      await rejects(send(mallory, threadsId, "intruder"), Code.NotFound, "NOT_FOUND");
      assert.equal((await mallory.client.threadsQueries.listChats({ filter: { artifactIds: [artifactId] } })).totalCount, 0);
    });

    it("refuses a token it does not accept with UNAUTHENTICATED, and foreign identity fields with PERMISSION_DENIED", async () => {
      const { alice, mallory, stranger } = world();
      await rejects(stranger.threadsQueries.listChats({}), Code.Unauthenticated, "INVALID_TOKEN");
      await rejects(alice.client.threadsQueries.listChats({ tenantId: mallory.tenantId }), Code.PermissionDenied, "TENANT_MISMATCH");
    });
  });

  describe("pagination", () => {
    it("walks messages in pages with opaque tokens and an exact total, both directions", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "m0");
      let last = sent.consistencyToken;
      for (let i = 1; i <= 6; i++) {
        last = (await send(alice, sent.threadsId, `m${i}`)).consistencyToken;
      }
      const pages: string[][] = [];
      let pageToken = "";
      do {
        const page = await alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, pageSize: 3, pageToken, consistencyToken: last });
        assert.equal(page.totalCount, 7);
        assert.equal(page.hasMore, page.nextPageToken !== "");
        pages.push(page.messages.map(text));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(pages, [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]);

      const newest = await alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, pageSize: 2, newestFirst: true });
      assert.deepEqual(newest.messages.map(text), ["m6", "m5"]);
      const older = await alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, pageSize: 2, newestFirst: true, pageToken: newest.nextPageToken });
      assert.deepEqual(older.messages.map(text), ["m4", "m3"]);
      await rejects(alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, pageToken: newest.nextPageToken }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
      await rejects(alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, pageSize: -1 }), Code.InvalidArgument);
    });

    it("pages through an artifact's chats and the caller's chats (ListChats by artifact)", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      let last = "";
      for (let i = 0; i < 5; i++) {
        last = (await alice.client.threadsCommands.createChat({ title: `chat ${i}`, artifactId })).consistencyToken;
      }
      const listed: string[] = [];
      let pageToken = "";
      do {
        const page = await alice.client.threadsQueries.listChats({ pageSize: 2, pageToken, filter: { artifactIds: [artifactId] }, consistencyToken: last });
        assert.equal(page.totalCount, 5);
        listed.push(...page.threads.map((chat) => chat.title));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual([...listed].sort(), ["chat 0", "chat 1", "chat 2", "chat 3", "chat 4"]);

      const linked: string[] = [];
      do {
        const page = await alice.client.artifactQueries.getArtifactChats({ artifactId, pageSize: 2, pageToken });
        assert.equal(page.totalCount, 5);
        assert.ok(page.threads.every((ref) => ref.relationType === RelationType.CREATED));
        linked.push(...page.threads.map((ref) => ref.threadsTitle));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(linked, ["chat 4", "chat 3", "chat 2", "chat 1", "chat 0"]);
    });
  });

  describe("artifacts", () => {
    it("versions content and metadata; links from a chat show on both sides (CREATED)", async () => {
      const { alice } = world();
      const chat = await alice.client.threadsCommands.createChat({ title: "Planning" });
      const threadsId = chat.threads?.id ?? "";
      const created = await alice.client.artifactCommands.createArtifact({ title: "Order Process", kind: "bpmn", metadata: { primaryChatId: threadsId } });
      assert.equal(created.version, 1n);
      const artifactId = created.artifactId;
      const updated = await alice.client.artifactCommands.updateArtifactContent({ artifactId, content: { mimeType: "text/plain", body: new TextEncoder().encode("v2") }, expectedVersion: 1n });
      assert.equal(updated.version, 2n);
      await rejects(
        alice.client.artifactCommands.updateArtifactContent({ artifactId, content: { mimeType: "text/plain", body: new Uint8Array() }, expectedVersion: 1n }),
        Code.Aborted,
        "VERSION_MISMATCH",
      );
      const renamed = await alice.client.artifactCommands.updateArtifactMetadata({ artifactId, metadata: { title: "Order Process v2" }, updateMask: { paths: ["title"] } });
      assert.equal(renamed.version, 3n);
      const current = await alice.client.artifactQueries.getArtifact({ artifactId, includeChats: true, consistencyToken: renamed.consistencyToken });
      assert.deepEqual([current.artifact?.title, current.artifact?.version, current.artifact?.primaryThreadsId], ["Order Process v2", 3n, threadsId]);
      assert.equal(new TextDecoder().decode(current.artifact?.content?.body), "v2");
      assert.deepEqual(current.artifact?.threadsIds, [threadsId]);
      const past = await alice.client.artifactQueries.getArtifact({ artifactId, version: 1n });
      assert.deepEqual([past.artifact?.title, past.artifact?.version], ["Order Process", 1n]);
      await rejects(alice.client.artifactQueries.getArtifact({ artifactId, version: 9n }), Code.NotFound, "ARTIFACT_NOT_FOUND");
      const refs = await alice.client.threadsQueries.getChatArtifacts({ threadsId });
      assert.deepEqual(refs.artifacts.map((a) => [a.artifactId, a.relationType, a.title]), [[artifactId, RelationType.CREATED, "Order Process v2"]]);
      const listed = await alice.client.artifactQueries.listArtifacts({ threadsId, consistencyToken: renamed.consistencyToken });
      assert.deepEqual(listed.artifacts.map((a) => [a.id, a.content]), [[artifactId, undefined]]);
    });
  });

  describe("search", () => {
    it("finds chats by message text with a highlighted snippet", async () => {
      const { alice } = world();
      const word = `zebra${crypto.randomUUID().slice(0, 8)}`;
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, `the ${word} approval step`);
      await alice.client.threadsQueries.getChat({ threadsId: sent.threadsId, consistencyToken: sent.consistencyToken });
      const found = await alice.client.threadsQueries.searchChats({ query: word });
      assert.deepEqual(found.threads.map((chat) => chat.id), [sent.threadsId]);
      assert.equal(found.totalCount, 1);
      assert.match(found.snippets[sent.threadsId] ?? "", new RegExp(`<b>${word}</b>`));
      await rejects(alice.client.threadsQueries.searchChats({ query: "" }), Code.InvalidArgument);
    });
  });

  describe("live updates", () => {
    it("replays after the load's checkpoint, marks CAUGHT_UP, then follows live; resumes after any update", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "m0");
      const loaded = await alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, consistencyToken: sent.consistencyToken });
      await send(alice, sent.threadsId, "m1");
      const m2 = await send(alice, sent.threadsId, "m2");
      await alice.client.threadsQueries.getMessages({ threadsId: sent.threadsId, consistencyToken: m2.consistencyToken });

      const open = (resumeToken: string) => (signal: AbortSignal) => alice.client.threadsQueries.streamChatUpdates({ threadsId: sent.threadsId, resumeToken }, { signal });
      const first = await collect(open(loaded.checkpointToken), (seen) => seen.includes("message:m3"), describeChat, async () => {
        await send(alice, sent.threadsId, "m3");
      });
      assert.deepEqual(first.seen, ["SUBSCRIBED", "message:m1", "message:m2", "CAUGHT_UP", "message:m3"]);
      const [subscribed] = first.updates;
      assert.equal(subscribed?.checkpointToken, loaded.checkpointToken);
      assert.ok(subscribed?.update.case === "control" && subscribed.update.value.resumeValidUntil);
      const tokens = first.updates.map((update) => update.checkpointToken);
      assert.ok(tokens.every(Boolean));

      const afterM1 = first.updates[1]?.checkpointToken ?? "";
      const resumed = await collect(open(afterM1), (seen) => seen.includes("CAUGHT_UP"), describeChat);
      assert.deepEqual(resumed.seen, ["SUBSCRIBED", "message:m2", "message:m3", "CAUGHT_UP"]);

      const fromNow = await collect(open(""), (seen) => seen.includes("CAUGHT_UP"), describeChat);
      assert.deepEqual(fromNow.seen, ["SUBSCRIBED", "CAUGHT_UP"]);
    });

    it("refuses a resume token of another feed or a forged one with INVALID_ARGUMENT", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const one = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "a");
      const two = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "b");
      const loaded = await alice.client.threadsQueries.getChat({ threadsId: one.threadsId, consistencyToken: two.consistencyToken });
      const open = (resumeToken: string) => (signal: AbortSignal) => alice.client.threadsQueries.streamChatUpdates({ threadsId: two.threadsId, resumeToken }, { signal });
      await rejects(collect(open(loaded.checkpointToken), () => true, describeChat), Code.InvalidArgument, "INVALID_RESUME_TOKEN");
      await rejects(collect(open("forged.token"), () => true, describeChat), Code.InvalidArgument, "INVALID_RESUME_TOKEN");
    });

    it("ends a chat's stream after its deletion", async () => {
      const { alice } = world();
      const { artifactId } = await artifact(alice);
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "bye");
      const loaded = await alice.client.threadsQueries.getChat({ threadsId: sent.threadsId, consistencyToken: sent.consistencyToken });
      const deleted = await alice.client.threadsCommands.deleteChat({ threadsId: sent.threadsId });
      await rejects(alice.client.threadsQueries.getChat({ threadsId: sent.threadsId, consistencyToken: deleted.consistencyToken }), Code.NotFound, "CHAT_NOT_FOUND");
      await rejects(
        collect((signal) => alice.client.threadsQueries.streamChatUpdates({ threadsId: sent.threadsId, resumeToken: loaded.checkpointToken }, { signal }), () => false, describeChat),
        Code.NotFound,
        "CHAT_NOT_FOUND",
      );
    });

    it("names a chat in an artifact's stream only to who may read it, and follows its visibility, title and deletion", async () => {
      const { alice, bob } = world();
      const created = await artifact(alice);
      const { artifactId } = created;
      const loaded = await alice.client.artifactQueries.getArtifact({ artifactId, consistencyToken: created.consistencyToken });
      const following = new Following((signal) => alice.client.artifactQueries.streamArtifactUpdates({ artifactId, resumeToken: loaded.checkpointToken }, { signal }));
      try {
        assert.deepEqual(await following.caughtUp(), []);
        const hidden = await bob.client.threadsCommands.createChat({ title: "Draft", visibility: ChatVisibility.PRIVATE, artifactId });
        const team = await bob.client.threadsCommands.createChat({ title: "Team", visibility: ChatVisibility.TEAM, artifactId });
        const p = hidden.threads?.id ?? "";
        const t = team.threads?.id ?? "";
        const names = { [p]: "P", [t]: "T" };
        const next = async () => describeReference(await following.next(), names);
        // In feed order: bob's private chat was linked first, and alice is not told of it.
        assert.equal(await next(), "threadsAdded:T:Team");
        await bob.client.threadsCommands.updateVisibility({ threadsId: p, visibility: ChatVisibility.TEAM });
        assert.equal(await next(), "threadsAdded:P:Draft");
        await bob.client.threadsCommands.updateChatTitle({ threadsId: p, title: "Plan" });
        assert.equal(await next(), "threadsAdded:P:Plan");
        await bob.client.threadsCommands.updateVisibility({ threadsId: p, visibility: ChatVisibility.PRIVATE });
        assert.equal(await next(), "threadsRemoved:P");
        await bob.client.threadsCommands.updateChatTitle({ threadsId: p, title: "Secret" });
        const gone = await bob.client.threadsCommands.deleteChat({ threadsId: t });
        // The rename of what is bob's private chat again is not alice's to hear: the next update is T's deletion.
        assert.equal(await next(), "threadsRemoved:T");
        const listed = await bob.client.artifactQueries.getArtifactChats({ artifactId, consistencyToken: gone.consistencyToken });
        assert.deepEqual(listed.threads.map((c) => [names[c.threadsId], c.threadsTitle]), [["P", "Secret"]]);
        const hers = await alice.client.artifactQueries.getArtifactChats({ artifactId });
        assert.deepEqual(hers.threads, []);
        // Replayed now, every reference is read as the chats are now: P private, T deleted. Nothing is added.
        const replay = new Following((signal) => alice.client.artifactQueries.streamArtifactUpdates({ artifactId, resumeToken: loaded.checkpointToken }, { signal }));
        try {
          const replayed = (await replay.caughtUp()).map((update) => describeReference(update, names));
          assert.deepEqual([...new Set(replayed)].sort(), ["threadsRemoved:P", "threadsRemoved:T"]);
        } finally {
          replay.close();
        }
      } finally {
        following.close();
      }
    });

    it("tells a PUBLIC chat's reader from another tenant nothing of that tenant's artifacts", async () => {
      const { alice, mallory } = world();
      const created = await alice.client.threadsCommands.createChat({ title: "Shared by link", visibility: ChatVisibility.PUBLIC });
      const threadsId = created.threads?.id ?? "";
      const { artifactId } = await artifact(alice);
      const open = (caller: Caller) => (signal: AbortSignal) =>
        caller.client.threadsQueries.streamChatUpdates({ threadsId, consistencyToken: created.consistencyToken }, { signal });
      const theirs = new Following(open(mallory));
      const hers = new Following(open(alice));
      try {
        await theirs.caughtUp();
        await hers.caughtUp();
        await alice.client.threadsCommands.associateArtifact({ threadsId, artifactId });
        const sent = await send(alice, threadsId, "after the link");
        assert.equal(describeChat(await theirs.next()), "message:after the link");
        assert.deepEqual([describeChat(await hers.next()), describeChat(await hers.next())], ["relation", "message:after the link"]);
        const listed = await mallory.client.threadsQueries.getChatArtifacts({ threadsId, consistencyToken: sent.consistencyToken });
        assert.deepEqual([listed.artifacts, listed.totalCount], [[], 0]);
        const own = await alice.client.threadsQueries.getChatArtifacts({ threadsId });
        assert.deepEqual(own.artifacts.map((a) => a.artifactId), [artifactId]);
      } finally {
        theirs.close();
        hers.close();
      }
    });

    it("streams an artifact's content, chat links and metadata with the version after each", async () => {
      const { alice } = world();
      const created = await artifact(alice);
      const { artifactId } = created;
      const loaded = await alice.client.artifactQueries.getArtifact({ artifactId, consistencyToken: created.consistencyToken });
      await alice.client.artifactCommands.updateArtifactContent({ artifactId, content: { mimeType: "text/plain", body: new TextEncoder().encode("v2") } });
      const sent = await alice.client.threadsArtifact.sendMessageFromArtifact(artifactId, "about it");
      const renamed = await alice.client.artifactCommands.updateArtifactMetadata({ artifactId, metadata: { title: "Renamed" }, updateMask: { paths: ["title"] } });
      await alice.client.artifactQueries.getArtifact({ artifactId, consistencyToken: renamed.consistencyToken });
      const { seen, updates } = await collect(
        (signal) => alice.client.artifactQueries.streamArtifactUpdates({ artifactId, resumeToken: loaded.checkpointToken }, { signal }),
        (kinds) => kinds.includes("CAUGHT_UP"),
        describeArtifact,
      );
      assert.deepEqual(seen, ["SUBSCRIBED", "contentUpdated:v2", "threadsAdded:v2", "metadataChanged:v3", "CAUGHT_UP"]);
      const added = updates.find((u) => u.update.case === "threadsAdded");
      assert.ok(added?.update.case === "threadsAdded");
      assert.equal(added.update.value.threadsId, sent.threadsId);
      assert.equal(added.update.value.relationType, RelationType.REFERENCED);
    });
  });
}
