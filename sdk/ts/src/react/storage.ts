// Browser storage the bindings use: resume tokens in localStorage (per tenant and feed), the selected chat of an
// artifact page in sessionStorage (per tab and artifact). Storage may be absent or throw (private mode, quota):
// then the bindings work from memory.
import type { CheckpointStore } from "../checkpoints.js";
import { checkpointPosition } from "../checkpoints.js";

/** The subset of the Web Storage API the bindings use. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function safely<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}

export function resumeTokenKey(tenantId: string, feed: string): string {
  return `ameide.resume.${tenantId}.${feed}`;
}

export function selectedChatKey(artifactId: string): string {
  return `ameide.selectedChat.${artifactId}`;
}

/** The last resume token this browser stored for a feed (any tab), or undefined. */
export function storedResumeToken(storage: KeyValueStorage | undefined, tenantId: string | undefined, feed: string): string | undefined {
  if (!storage || !tenantId) {
    return undefined;
  }
  return safely(() => storage.getItem(resumeTokenKey(tenantId, feed)), null) ?? undefined;
}

/**
 * A feed's position as one subscriber knows it: read from memory (never from storage, which other tabs share:
 * resuming from another tab's newer token would skip updates this one never received), written through to
 * storage so the next mount can start from it.
 */
export class FeedPosition implements CheckpointStore {
  private token: string | undefined;

  constructor(
    private readonly storage: KeyValueStorage | undefined,
    private readonly tenantId: string | undefined,
  ) {}

  load(): string | undefined {
    return this.token;
  }

  save(feed: string, token: string): void {
    this.token = token;
    const { storage, tenantId } = this;
    if (storage && tenantId) {
      const key = resumeTokenKey(tenantId, feed);
      const stored = safely(() => storage.getItem(key), null);
      const [mine, theirs] = [checkpointPosition(token), stored ? checkpointPosition(stored) : undefined];
      if (mine === undefined || theirs === undefined || mine >= theirs) {
        safely(() => storage.setItem(key, token), undefined);
      }
    }
  }

  /** Starts (again) from `token`, e.g. after a load. */
  reset(token: string): void {
    this.token = token;
  }
}

/** The chat selected on an artifact page, kept per tab (sessionStorage) so a refresh restores it. */
export function loadSelectedChat(storage: KeyValueStorage | undefined, artifactId: string): string | undefined {
  return storage ? (safely(() => storage.getItem(selectedChatKey(artifactId)), null) ?? undefined) : undefined;
}

export function saveSelectedChat(storage: KeyValueStorage | undefined, artifactId: string, threadsId: string | undefined): void {
  if (!storage) {
    return;
  }
  safely(() => (threadsId ? storage.setItem(selectedChatKey(artifactId), threadsId) : storage.removeItem(selectedChatKey(artifactId))), undefined);
}

/** The older of two resume tokens (the stored one only when it is readable and not newer than the load's). */
export function startingPoint(stored: string | undefined, loaded: string): string {
  if (!stored || stored === loaded) {
    return loaded;
  }
  const [a, b] = [checkpointPosition(stored), checkpointPosition(loaded)];
  return a !== undefined && b !== undefined && a <= b ? stored : loaded;
}
