// The life of one live resource: load, follow its feed from the load's checkpoint, reconnect with backoff from
// the last checkpoint when the stream drops, reload when the checkpoint expired, and report a status throughout.
// Framework-free: React reads it through useSyncExternalStore.
import { Code, ConnectError } from "@connectrpc/connect";

import { errorReason } from "../error-details.js";
import { ResumeExpiredError } from "../errors.js";
import { backoffMs } from "../retry.js";
import type { FeedUpdate } from "../subscription.js";
import { Waker } from "../waker.js";
import { type AmeideError, type FeedStatus, statusAfter, toAmeideError } from "./status.js";
import { FeedPosition, type KeyValueStorage, startingPoint, storedResumeToken } from "./storage.js";

export interface FeedSettings {
  /** Scopes stored resume tokens; without it tokens are kept in memory only. */
  tenantId: string | undefined;
  local: KeyValueStorage | undefined;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface FeedState {
  status: FeedStatus;
  error: AmeideError | undefined;
}

type Listener = () => void;

/** Outcome of applying one data update: keep following, or the resource is gone (deleted). */
export type Applied = "continue" | "ended";

export abstract class LiveFeed<S extends FeedState, U extends FeedUpdate> {
  private listeners = new Set<Listener>();
  private controller: AbortController | undefined;
  private readonly wake = new Waker();
  protected readonly position: FeedPosition;
  protected state: S;

  constructor(
    readonly feed: string,
    protected readonly settings: FeedSettings,
    initial: S,
  ) {
    this.state = initial;
    this.position = new FeedPosition(settings.local, settings.tenantId);
  }

  /** Loads the state (setting it) and returns the checkpoint token matching it. */
  protected abstract load(signal: AbortSignal): Promise<string>;
  /** The subscription, resuming after the position's token. */
  protected abstract follow(signal: AbortSignal): AsyncIterable<U>;
  protected abstract apply(update: U): Applied;
  protected abstract hasData(): boolean;

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): S => this.state;

  protected set(patch: Partial<S>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) {
      listener();
    }
  }

  start(): void {
    if (this.controller) {
      return;
    }
    this.controller = new AbortController();
    void this.run(this.controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = undefined;
    this.wake.fire();
  }

  /** Tries again now: after a terminal status (not-found, signed-out, error), or instead of waiting out a backoff. */
  retry(): void {
    this.wake.fire();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let mustLoad = true;
    let fromStorage = false;
    let reloads = 0; // reloads for an expired checkpoint since the stream last answered
    let trustStored = true; // a stored token once refused is not offered again
    while (!signal.aborted) {
      try {
        if (mustLoad) {
          this.set({ status: this.hasData() ? "reconnecting" : "loading", error: undefined } as Partial<S>);
          const loaded = await this.load(signal);
          const stored = trustStored ? storedResumeToken(this.settings.local, this.settings.tenantId, this.feed) : undefined;
          const start = startingPoint(stored, loaded);
          fromStorage = start !== loaded;
          this.position.reset(start);
          mustLoad = false;
          this.set({ status: "connecting" } as Partial<S>);
        }
        for await (const update of this.follow(signal)) {
          if (update.update.case === "control") {
            failures = 0;
            reloads = 0;
            fromStorage = false;
            if (this.state.status !== "live") {
              this.set({ status: "live", error: undefined } as Partial<S>);
            }
            continue;
          }
          if (this.apply(update) === "ended") {
            this.set({ status: "not-found", error: undefined } as Partial<S>);
            return;
          }
        }
        if (signal.aborted) {
          return;
        }
        throw new ConnectError("the live stream ended", Code.Unavailable);
      } catch (error) {
        if (signal.aborted) {
          return;
        }
        const reason = error instanceof ResumeExpiredError ? "RESUME_TOKEN_EXPIRED" : errorReason(error);
        if (reason === "RESUME_TOKEN_EXPIRED" || (fromStorage && reason === "INVALID_RESUME_TOKEN")) {
          // Too old (or a stored token of another tenant): load the state again and follow from its checkpoint;
          // back off when a fresh load's checkpoint is refused too, rather than spin.
          mustLoad = true;
          trustStored = false;
          fromStorage = false;
          reloads += 1;
          if (reloads > 1) {
            await this.pause(backoffMs(reloads - 1, this.settings.initialBackoffMs, this.settings.maxBackoffMs));
          }
          continue;
        }
        const failure = toAmeideError(error);
        this.set({ status: statusAfter(failure, !mustLoad && this.hasData()), error: failure } as Partial<S>);
        if (failure.kind === "unavailable") {
          failures += 1;
          await this.pause(backoffMs(failures, this.settings.initialBackoffMs, this.settings.maxBackoffMs));
        } else {
          mustLoad = true;
          await this.pause(0);
        }
      }
    }
  }

  /** Waits `ms` (0 = until retry()), or less when retry() or stop() is called. */
  private async pause(ms: number): Promise<void> {
    await this.wake.wait(ms);
  }
}
