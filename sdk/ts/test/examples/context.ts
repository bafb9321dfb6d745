// What the documents' TypeScript examples may use without defining it, and how the runner keeps their live
// subscriptions alive and finite (docs/examples.md).
import { AmeideClient, type ChatUpdate, type CheckpointStore, MemoryCheckpointStore, StreamControl_Kind } from "../../src/index.js";
import type { ArtifactUpdate } from "../../src/index.js";
import type { ArtifactWrite, ChatWrite, SubscribeOptions } from "../../src/subscription.js";

type Callback = (...args: unknown[]) => void;

/** The names every TypeScript example may use without defining them. */
export interface ExampleContext {
  /** A client of the running services, for the caller of `token`. */
  client: AmeideClient;
  /** A JWT, as `ameide token` prints it. */
  token: string;
  /** An artifact of the caller (a BPMN diagram). */
  artifactId: string;
  /** A chat of the caller about that artifact, with one message. */
  threadsId: string;
  checkpointStore: CheckpointStore;
  /** A changed diagram, and the artifact's version the caller last read. */
  newBody: Uint8Array;
  seenVersion: bigint;
  /** A dev endpoint (`http://127.0.0.1:50051`, ...) as the running services' address. */
  endpoint(devAddress: string): string;
  /** The application's own functions: they record what they are given. */
  render: Callback;
  apply: Callback;
  addChatToSidebar: Callback;
  showContent: Callback;
  showMetadata: Callback;
}

/** A TypeScript example, as scripts/doc-examples.mjs builds it into test/examples/generated/. */
export interface TypeScriptExample {
  /** The document and line it is written at. */
  where: string;
  /** The application functions it calls (one of them must be reached). */
  calls: string[];
  run(context: ExampleContext): Promise<void>;
}

/** A shell example to run: its mode (run, stream, prelude), code, and the preludes of its folder. */
export interface ShellExample {
  where: string;
  mode: string;
  code: string;
  prelude: string[];
}

/** Calls of the application functions, by name. */
export type Recorded = Map<string, unknown[][]>;

export function bpmn(tasks: number): Uint8Array {
  const steps = Array.from({ length: tasks }, (_, i) => `<bpmn:task id="t${i + 1}" name="Step ${i + 1}"/>`).join("");
  return new TextEncoder().encode(
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">' +
      `<bpmn:process id="order" isExecutable="false">${steps}</bpmn:process></bpmn:definitions>`,
  );
}

/** An artifact and a chat about it for `client`'s caller, both readable at once. */
export async function seed(client: AmeideClient): Promise<{ artifactId: string; threadsId: string; version: bigint }> {
  const created = await client.artifactCommands.createArtifact({
    title: "Order Process",
    kind: "bpmn",
    content: { mimeType: "application/bpmn+xml", body: bpmn(2) },
  });
  const sent = await client.threadsArtifact.sendMessageFromArtifact(created.artifactId, "What does this process do?");
  await client.threadsQueries.getChat({ threadsId: sent.threadsId, consistencyToken: sent.consistencyToken });
  const loaded = await client.artifactQueries.getArtifact({ artifactId: created.artifactId });
  return { artifactId: created.artifactId, threadsId: sent.threadsId, version: loaded.artifact?.version ?? 0n };
}

export async function exampleContext(
  client: AmeideClient,
  token: string,
  endpoint: (devAddress: string) => string,
  recorded: Recorded,
): Promise<ExampleContext> {
  const { artifactId, threadsId, version } = await seed(client);
  const callback = (name: string): Callback => (...args) => {
    recorded.set(name, [...(recorded.get(name) ?? []), args]);
  };
  return {
    client,
    token,
    artifactId,
    threadsId,
    checkpointStore: new MemoryCheckpointStore(),
    newBody: bpmn(3),
    seenVersion: version,
    endpoint,
    render: callback("render"),
    apply: callback("apply"),
    addChatToSidebar: callback("addChatToSidebar"),
    showContent: callback("showContent"),
    showMetadata: callback("showMetadata"),
  };
}

/**
 * Until the returned function is called, every subscribeChat / subscribeArtifact is kept alive and finite: once the
 * server greets it (SUBSCRIBED), `writer` writes one update to that chat or artifact, and the subscription ends
 * after the first update the example receives.
 */
export function liveFeeds(writer: AmeideClient): () => void {
  const prototype = AmeideClient.prototype;
  const { subscribeChat, subscribeArtifact } = prototype;
  prototype.subscribeChat = function (this: AmeideClient, chat: string | ChatWrite, options: SubscribeOptions = {}) {
    const inner = subscribeChat.call(this, chat, { ...options, includeControl: true });
    const threadsId = typeof chat === "string" ? chat : chat.threadsId;
    return firstUpdate(inner, () => sayMeanwhile(writer, threadsId), options.includeControl ?? false);
  };
  prototype.subscribeArtifact = function (
    this: AmeideClient,
    artifact: string | ArtifactWrite,
    options: SubscribeOptions = {},
  ) {
    const inner = subscribeArtifact.call(this, artifact, { ...options, includeControl: true });
    const artifactId = typeof artifact === "string" ? artifact : artifact.artifactId;
    return firstUpdate(inner, () => linkAChat(writer, artifactId), options.includeControl ?? false);
  };
  return () => {
    prototype.subscribeChat = subscribeChat;
    prototype.subscribeArtifact = subscribeArtifact;
  };
}

async function* firstUpdate<U extends ChatUpdate | ArtifactUpdate>(
  inner: AsyncGenerator<U, void, undefined>,
  nudge: () => Promise<void>,
  control: boolean,
): AsyncGenerator<U, void, undefined> {
  let nudged = false;
  for await (const update of inner) {
    if (update.update.case !== "control") {
      yield update;
      return;
    }
    if (!nudged && update.update.value.kind === StreamControl_Kind.SUBSCRIBED) {
      nudged = true;
      await nudge();
    }
    if (control) {
      yield update;
    }
  }
}

async function sayMeanwhile(writer: AmeideClient, threadsId: string): Promise<void> {
  await writer.threadsCommands.sendMessage({
    threadsId,
    idempotencyKey: crypto.randomUUID(),
    message: { role: "user", parts: [{ kind: { case: "text", value: { text: "(meanwhile)" } } }] },
  });
}

/** A new chat linked to the artifact: an update of its feed that leaves its version alone. */
async function linkAChat(writer: AmeideClient, artifactId: string): Promise<void> {
  const { threads } = await writer.threadsCommands.createChat({ title: "Meanwhile" });
  await writer.threadsCommands.associateArtifact({ threadsId: threads?.id ?? "", artifactId });
}
