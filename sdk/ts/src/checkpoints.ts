/** Persists the last checkpoint token per feed (`thread:{id}` / `artifact:{id}`). */
export interface CheckpointStore {
  load(feed: string): string | undefined | Promise<string | undefined>;
  save(feed: string, token: string): void | Promise<void>;
}

/** Checkpoints kept for the life of the page or process (the default). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly tokens = new Map<string, string>();

  load(feed: string): string | undefined {
    return this.tokens.get(feed);
  }

  save(feed: string, token: string): void {
    this.tokens.set(feed, token);
  }
}

/**
 * The feed sequence inside a checkpoint token, or undefined when the token is not readable.
 *
 * Tokens are opaque to applications; the SDK reads the unsigned payload's `q` only to drop updates it has
 * already delivered. A token it cannot read is compared by value instead.
 */
export function checkpointPosition(token: string): number | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0) {
    return undefined;
  }
  try {
    const base64 = token.slice(0, dot).replace(/-/g, "+").replace(/_/g, "/");
    const payload: unknown = JSON.parse(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
    if (typeof payload === "object" && payload !== null && "q" in payload) {
      const seq = (payload as { q: unknown }).q;
      return typeof seq === "number" && Number.isInteger(seq) ? seq : undefined;
    }
  } catch {
    // Not a token this SDK can read: fall through.
  }
  return undefined;
}
