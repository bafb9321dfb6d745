// Shared set-up of the React binding tests: a mock backend, its users, a wrapper with an AmeideProvider.
import { type ReactNode, createElement } from "react";

import type { Interceptor } from "@connectrpc/connect";

import type { AmeideClient } from "../../src/index.js";
import { MockBackend, MockNetwork, type MockUser } from "../../src/mock/index.js";
import { AmeideProvider, type KeyValueStorage } from "../../src/react/index.js";

/** Web Storage in memory (one per "browser"; tests make a new one to start clean). */
export class MemoryStorage implements KeyValueStorage {
  readonly values = new Map<string, string>();
  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.values.set(key, value);
  }
  removeItem(key: string): void {
    this.values.delete(key);
  }
}

export interface Browser {
  client: AmeideClient;
  network: MockNetwork;
  local: MemoryStorage;
  session: MemoryStorage;
  wrapper: (props: { children?: ReactNode }) => ReactNode;
}

export interface BrowserOptions {
  /** The storage of an earlier page of the same browser (a refresh keeps localStorage and sessionStorage). */
  storage?: Pick<Browser, "local" | "session">;
  interceptors?: Interceptor[];
  /** Token source instead of the user's token (e.g. one that has none: signed out). */
  token?: () => string;
  /** The name others see on the page's presence. */
  displayName?: string;
  /** Live signals on (default) or off. */
  signals?: boolean;
}

/** A page of `user` in a browser: its own network, storage and provider (a new one with the old storage = a refresh). */
export function browser(backend: MockBackend, user: MockUser, options: BrowserOptions = {}): Browser {
  const network = new MockNetwork();
  const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 };
  const client = backend.client(options.token ?? user.token, { network, retry, interceptors: options.interceptors });
  const local = options.storage?.local ?? new MemoryStorage();
  const session = options.storage?.session ?? new MemoryStorage();
  const wrapper = ({ children }: { children?: ReactNode }) =>
    createElement(
      AmeideProvider,
      {
        client,
        tenantId: user.tenantId,
        userId: user.userId,
        displayName: options.displayName ?? "",
        signals: options.signals ?? true,
        storage: { local, session },
        reconnect: { initialBackoffMs: 2, maxBackoffMs: 10 },
        pageSizes: { messages: 50, chats: 20 },
      },
      children,
    );
  return { client, network, local, session, wrapper };
}

export function text(message: { parts: { kind: { case: string | undefined; value?: unknown } }[] }): string {
  const kind = message.parts[0]?.kind;
  return kind?.case === "text" ? (kind.value as { text: string }).text : "";
}

/** A chat about a new artifact, with `count` messages m0..m{count-1}, written by `client`. */
export async function chatWith(client: AmeideClient, count: number, title = "Order Process"): Promise<{ artifactId: string; threadsId: string }> {
  const { artifactId } = await client.artifactCommands.createArtifact({ title, kind: "bpmn" });
  const first = await client.threadsArtifact.sendMessageFromArtifact(artifactId, "m0");
  for (let i = 1; i < count; i++) {
    await client.threadsCommands.sendMessage({
      threadsId: first.threadsId,
      message: { role: "user", parts: [{ kind: { case: "text", value: { text: `m${i}` } } }] },
      idempotencyKey: crypto.randomUUID(),
    });
  }
  return { artifactId, threadsId: first.threadsId };
}

export async function say(client: AmeideClient, threadsId: string, value: string): Promise<void> {
  await client.threadsCommands.sendMessage({
    threadsId,
    message: { role: "user", parts: [{ kind: { case: "text", value: { text: value } } }] },
    idempotencyKey: crypto.randomUUID(),
  });
}
