import { ConnectError } from "@connectrpc/connect";

import { type CheckpointStore, MemoryCheckpointStore, checkpointPosition } from "./checkpoints.js";
import { RESUMABLE_CODES, ResumeExpiredError, isResumeExpired } from "./errors.js";
import { backoffMs, sleep } from "./retry.js";
import { requireUuid } from "./validation.js";

/** What ChatUpdate and ArtifactUpdate have in common. */
export interface FeedUpdate {
  checkpointToken: string;
  update: { case: string | undefined };
}

export interface SubscribeOptions {
  /** Start after this token (e.g. GetMessages' checkpointToken); else after the stored checkpoint; else from now. */
  resumeToken?: string;
  /**
   * A write's consistencyToken: the server starts the stream only once that write is visible (a chat just created
   * is found, one just deleted is NotFound). Sent with every reconnect. Given with a write's answer, it wins.
   */
  consistencyToken?: string;
  /** Where the last checkpoint is kept (default: in memory). */
  checkpointStore?: CheckpointStore;
  /** Also yield StreamControl updates (SUBSCRIBED, CAUGHT_UP, HEARTBEAT, FELL_BEHIND). */
  includeControl?: boolean;
  /**
   * Also yield live signals after CAUGHT_UP (presence, typing, draft assistant messages; fold them with
   * LiveSignals). They carry no checkpoint: never saved, never deduplicated, and every (re)connection starts them
   * over with a presenceSnapshot.
   */
  includeSignals?: boolean;
  /** Ends the subscription. */
  signal?: AbortSignal;
  /** Failed reconnects in a row before giving up (default 8). */
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The answer of a write that names a chat: SendResult, or an ensureChatForArtifactAndSendMessage response. */
export interface ChatWrite {
  threadsId: string;
  consistencyToken: string;
}

/** The answer of a write that names an artifact: a createArtifact or updateArtifact* response. */
export interface ArtifactWrite {
  artifactId: string;
  consistencyToken: string;
}

/**
 * The resource id and the consistency token a subscription waits for: from a write's answer, or from an id and
 * `options.consistencyToken` (which wins over the write's own token).
 */
export function writeTarget<W extends ChatWrite | ArtifactWrite>(
  field: "threadsId" | "artifactId",
  target: string | W,
  options: SubscribeOptions,
): { id: string; consistencyToken: string } {
  const written = typeof target === "string" ? undefined : (target as Partial<ChatWrite & ArtifactWrite>);
  const id = written === undefined ? target : written[field];
  return {
    id: requireUuid(field, id),
    consistencyToken: options.consistencyToken || written?.consistencyToken || "",
  };
}

/** Opens the server stream resuming after `token` ("" = from now). */
export type StreamOpener<U> = (token: string, signal: AbortSignal) => AsyncIterable<U>;

/**
 * Updates of one feed that survive disconnects: reconnects with backoff on Unavailable/ResourceExhausted,
 * resumes from the last checkpoint, drops updates at or below the last delivered position, and saves each
 * checkpoint before yielding. Throws ResumeExpiredError when the checkpoint is too old.
 */
export async function* resumable<U extends FeedUpdate>(
  feed: string,
  open: StreamOpener<U>,
  options: SubscribeOptions = {},
): AsyncGenerator<U, void, undefined> {
  const store = options.checkpointStore ?? new MemoryCheckpointStore();
  let token = options.resumeToken || (await store.load(feed)) || "";
  let position = token ? checkpointPosition(token) : undefined;
  let failures = 0;
  const save = async (next: string): Promise<void> => {
    token = next;
    position = checkpointPosition(next) ?? position;
    await store.save(feed, next);
  };
  for (;;) {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let received = 0;
    try {
      for await (const update of open(token, controller.signal)) {
        received += 1;
        if (received > 1) {
          failures = 0; // past the greeting, the server is really serving again
        }
        const next = update.checkpointToken;
        const at = next ? checkpointPosition(next) : undefined;
        if (update.update.case === "control") {
          if (next && !(at !== undefined && position !== undefined && at < position)) {
            await save(next);
          }
          if (options.includeControl) {
            yield update;
          }
          continue;
        }
        const duplicate =
          at !== undefined && position !== undefined ? at <= position : next !== "" && next === token;
        if (duplicate) {
          continue;
        }
        if (next) {
          await save(next);
        }
        yield update;
      }
      return; // the server ended the feed (deleted)
    } catch (error) {
      if (options.signal?.aborted) {
        throw error;
      }
      const connectError = ConnectError.from(error);
      if (isResumeExpired(connectError)) {
        throw new ResumeExpiredError(feed, { cause: error });
      }
      failures += 1;
      if (!RESUMABLE_CODES.has(connectError.code) || failures >= (options.maxAttempts ?? 8)) {
        throw error;
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      controller.abort();
    }
    await sleep(backoffMs(failures, options.initialBackoffMs ?? 200, options.maxBackoffMs ?? 10_000), options.signal);
  }
}
