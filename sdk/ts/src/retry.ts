import { ConnectError } from "@connectrpc/connect";

import { RETRYABLE_CODES } from "./errors.js";

/** Retries of idempotent writes: Unavailable and Aborted, jittered exponential backoff, bounded. */
export interface RetryOptions {
  /** Attempts in total, the first included (default 5). */
  maxAttempts?: number;
  /** Base delay in milliseconds, doubled per attempt (default 100). */
  initialBackoffMs?: number;
  /** Cap of one delay in milliseconds (default 2000). */
  maxBackoffMs?: number;
}

/** Delay before attempt `attempt` + 1: half the exponential ceiling plus up to half of it again, as jitter. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the attempts are used up. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  const initial = options.initialBackoffMs ?? 100;
  const max = options.maxBackoffMs ?? 2000;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const connectError = ConnectError.from(error);
      if (!RETRYABLE_CODES.has(connectError.code) || n >= maxAttempts) {
        throw error;
      }
      await sleep(backoffMs(n, initial, max));
    }
  }
}
