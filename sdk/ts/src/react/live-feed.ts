// The life of one live resource: load, follow its feed from the load's checkpoint, reconnect with backoff from
// the last checkpoint when the stream drops, reload when the checkpoint expired, and report a status throughout.
// With live signals on, it also keeps the caller present on the resource while it runs (a heartbeat) and folds the
// stream's signals (who else is here, drafts) beside the durable state, which they never touch.
// Framework-free: React reads it through useSyncExternalStore.
import { Code, ConnectError } from "@connectrpc/connect";

import { errorReason } from "../error-details.js";
import { ResumeExpiredError } from "../errors.js";
import { type LiveParticipant, LiveSignals, isSignal } from "../live-signals.js";
import type { PresenceHeartbeat, PresenceTarget } from "../presence.js";
import { backoffMs } from "../retry.js";
import type { ArtifactUpdate } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import type { ChatUpdate } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { SubscribeOptions } from "../subscription.js";
import { Waker } from "../waker.js";
import { type AmeideError, type FeedStatus, statusAfter, toAmeideError } from "./status.js";
import { FeedPosition, type KeyValueStorage, startingPoint, storedResumeToken } from "./storage.js";

/** How a live resource takes part in live signals (undefined: it neither announces nor receives them). */
export interface FeedPresence {
  /** A heartbeat keeping this page present on the resource. */
  heartbeat(target: PresenceTarget, consistencyToken: string): PresenceHeartbeat;
  /** The caller: left out of `participants` (others only). */
  userId: string | undefined;
}

export interface FeedSettings {
  /** Scopes stored resume tokens; without it tokens are kept in memory only. */
  tenantId: string | undefined;
  local: KeyValueStorage | undefined;
  initialBackoffMs: number;
  maxBackoffMs: number;
  presence: FeedPresence | undefined;
}

export interface FeedState {
  status: FeedStatus;
  error: AmeideError | undefined;
  /** Who else is on the resource now (one entry per user, the caller left out), viewing or typing. */
  participants: readonly LiveParticipant[];
}

type Listener = () => void;

/** Outcome of applying one data update: keep following, or the resource is gone (deleted). */
export type Applied = "continue" | "ended";

export abstract class LiveFeed<S extends FeedState, U extends ChatUpdate | ArtifactUpdate> {
  private listeners = new Set<Listener>();
  private controller: AbortController | undefined;
  private readonly wake = new Waker();
  private heartbeat: PresenceHeartbeat | undefined;
  /** Set while a snapshot's draftStarted updates arrive: what they restate is shown once, all together. */
  private restating: ReturnType<typeof setTimeout> | undefined;
  protected readonly position: FeedPosition;
  protected readonly signals = new LiveSignals();
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

  /** The consistency token presence announcements wait for (a write of this page that created the resource). */
  protected presenceConsistency(): string {
    return "";
  }

  /** What the signals folded so far show; a store with more to show (drafts) adds it. */
  protected signalState(): Partial<S> {
    const me = this.settings.presence?.userId;
    const participants = [...this.signals.participants.values()].filter((person) => person.userId !== me);
    const patch: Partial<FeedState> = { participants };
    return patch as Partial<S>;
  }

  /** The subscription options of follow(): this store's position, control messages, signals when wanted. */
  protected subscribeOptions(signal: AbortSignal): SubscribeOptions {
    return { checkpointStore: this.position, includeControl: true, includeSignals: this.settings.presence !== undefined, signal, maxAttempts: 1 };
  }

  /** The user is typing on this resource (throttled; typing lapses by itself a few seconds after the last call). */
  typing(): void {
    this.heartbeat?.typing();
  }

  /** The user stopped typing (sent, cleared the text, left the composer). */
  notTyping(): void {
    this.heartbeat?.viewing();
  }

  private present(): void {
    const presence = this.settings.presence;
    if (!presence) {
      return;
    }
    if (!this.heartbeat) {
      const [kind, id = ""] = this.feed.split(/:(.*)/);
      const target: PresenceTarget = kind === "thread" ? { threadsId: id } : { artifactId: id };
      this.heartbeat = presence.heartbeat(target, this.presenceConsistency());
    }
    this.heartbeat.start();
  }

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
    clearTimeout(this.restating);
    this.restating = undefined;
    void this.heartbeat?.stop();
  }

  /**
   * Folds a signal in and shows the result. A snapshot ("start over") is followed at once by a draftStarted per
   * open draft: the state they restate is shown after the last of them (at the next update, or once the updates
   * already received are handled), so a draft shown before a reconnect never blinks out and back.
   */
  private applySignal(update: U): void {
    this.signals.apply(update);
    const kind = update.update.case;
    if (kind === "presenceSnapshot" || (this.restating !== undefined && kind === "draftStarted")) {
      clearTimeout(this.restating);
      this.restating = setTimeout(() => this.showSignals(), 0);
    } else {
      this.showSignals();
    }
  }

  private showSignals(): void {
    clearTimeout(this.restating);
    this.restating = undefined;
    this.set(this.signalState());
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
          this.present();
        }
        for await (const update of this.follow(signal)) {
          if (isSignal(update)) {
            this.applySignal(update);
            continue;
          }
          if (this.restating !== undefined) {
            this.showSignals(); // what a snapshot restated comes before anything that follows it
          }
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
            void this.heartbeat?.stop();
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
