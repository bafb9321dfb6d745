// What one AmeideProvider shares with its hooks: the client, settings, one live store per resource (so several
// components on a page share one stream), and the consistency tokens of this page's own writes.
import type { AmeideClient } from "../client.js";
import { newClientId } from "../presence.js";
import { ArtifactStore } from "./artifact-store.js";
import { ChatStore } from "./chat-store.js";
import type { FeedPresence, FeedSettings } from "./live-feed.js";
import type { KeyValueStorage } from "./storage.js";

export interface PageSizes {
  /** Messages per page of useChat (default 50). */
  messages: number;
  /** Chats per page of an artifact's sidebar and of lists (default 20). */
  chats: number;
  /** Artifacts per page of a chat's artifacts and of lists (default 20). */
  artifacts: number;
}

export interface BindingsSettings extends FeedSettings {
  session: KeyValueStorage | undefined;
  pageSizes: PageSizes;
}

/** Who the page is, for live signals: the caller (left out of `participants`) and the name others see. */
export interface PresenceIdentity {
  userId: string | undefined;
  displayName: string;
}

/** Live signals of the stores of one page: one client id for the page, the caller left out of what others see. */
export function feedPresence(client: AmeideClient, identity: PresenceIdentity): FeedPresence {
  const clientId = newClientId();
  return {
    heartbeat: (target, consistencyToken) => client.presenceHeartbeat(target, { clientId, displayName: identity.displayName, consistencyToken }),
    userId: identity.userId,
  };
}

type Store = ChatStore | ArtifactStore;

export class Bindings {
  private readonly stores = new Map<string, { store: Store; users: number }>();
  private readonly writes = new Map<string, string>();

  constructor(
    readonly client: AmeideClient,
    readonly settings: BindingsSettings,
  ) {}

  chat(threadsId: string): ChatStore {
    return this.store(`thread:${threadsId}`, () => new ChatStore(this, threadsId)) as ChatStore;
  }

  artifact(artifactId: string): ArtifactStore {
    return this.store(`artifact:${artifactId}`, () => new ArtifactStore(this, artifactId)) as ArtifactStore;
  }

  private store(feed: string, make: () => Store): Store {
    let entry = this.stores.get(feed);
    if (!entry) {
      entry = { store: make(), users: 0 };
      this.stores.set(feed, entry);
    }
    return entry.store;
  }

  /** A component starts using the store (its stream starts with the first user). */
  retain(store: Store): void {
    const entry = this.stores.get(store.feed);
    if (entry?.store !== store) {
      this.stores.set(store.feed, { store, users: 1 });
    } else {
      entry.users += 1;
    }
    store.start();
  }

  /** A component stops using it; the last one out stops the stream (a moment later, so a remount keeps it). */
  release(store: Store): void {
    const entry = this.stores.get(store.feed);
    if (entry?.store !== store) {
      store.stop();
      return;
    }
    entry.users -= 1;
    setTimeout(() => {
      if (entry.users <= 0 && this.stores.get(store.feed) === entry) {
        this.stores.delete(store.feed);
        store.stop();
      }
    }, 0);
  }

  /** A write of this page to a chat: its next load waits for it (read-your-writes across the projector's lag). */
  noteWrite(threadsId: string, consistencyToken: string): void {
    if (consistencyToken) {
      this.writes.set(threadsId, consistencyToken);
    }
  }

  consistencyFor(threadsId: string): string {
    return this.writes.get(threadsId) ?? "";
  }
}
