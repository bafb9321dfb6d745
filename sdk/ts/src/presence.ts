// Presence with a heartbeat: one client (a tab, a process) kept present on a chat or an artifact.
//
// The services forget a client that does not announce itself again within the viewing TTL, and stop its typing
// after the typing TTL. PresenceHeartbeat announces itself every `renew_after_ms` (the services say how often),
// says `typing()` as often as the user types (throttled) and leaves on `stop()`. In a page it also leaves when the
// page is hidden for good or unloaded (`pagehide`; the web transport sends that LeavePresence with `keepalive`, so
// it outlives the page) and announces itself again when the page is shown from the back/forward cache. A leave that
// never arrives (a crash, a lost network) is covered by the TTL. Presence is best effort: a failed announcement is
// retried on the next beat and never reaches the application.
import type { Client } from "@connectrpc/connect";

import type { AnnouncePresenceResponse } from "./gen/ameide_core_proto/live/v1/live_service_pb.js";
import type { PresenceService } from "./gen/ameide_core_proto/live/v1/live_service_pb.js";
import { PresenceState } from "./gen/ameide_core_proto/live/v1/live_types_pb.js";

/** The resource a client is present on: a chat or an artifact. */
export type PresenceTarget = { threadsId: string; artifactId?: undefined } | { artifactId: string; threadsId?: undefined };

/** After a typing(), the user counts as typing this long (the services' own typing TTL is longer). */
export const TYPING_MS = 4_000;
/** While the user keeps typing, TYPING is announced again at most this often. */
export const TYPING_RENEW_MS = 2_000;
/** How often to announce before the services have said (their default viewing TTL is 30 s, renewed every 10 s). */
const FALLBACK_RENEW_MS = 10_000;

export interface PresenceOptions {
  /** Shown to the other participants (at most 64 characters; empty: they show the user id). */
  displayName?: string;
  /** This client's id (1-64 of [A-Za-z0-9._:-]); a fresh one by default. */
  clientId?: string;
  /** The write that created the resource: the first announcement waits until it is visible. */
  consistencyToken?: string;
  /**
   * The page whose `pagehide` makes the client leave and whose `pageshow` from the back/forward cache announces it
   * again (default: the global page in a browser, none elsewhere; null: none).
   */
  page?: PageEvents | null;
  /** The clock of the typing window (default `Date.now`). */
  now?: () => number;
}

/** A fresh client id (a tab's, a process's). */
export function newClientId(): string {
  return crypto.randomUUID().replace(/-/g, "").slice(0, 16);
}

/** What the heartbeat needs of a page (a Window, or any EventTarget in tests). */
export interface PageEvents {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

function pageEvents(): PageEvents | undefined {
  const page = globalThis as Partial<PageEvents> & { document?: unknown };
  return typeof page.addEventListener === "function" && typeof page.removeEventListener === "function" && page.document !== undefined
    ? (page as PageEvents)
    : undefined;
}

/**
 * Keeps one client present on a chat or an artifact: `start()` announces it (viewing) and keeps announcing it,
 * `typing()` / `viewing()` say what the user does, `stop()` leaves. Use `AmeideClient.presenceHeartbeat`.
 *
 * ```ts
 * const presence = client.presenceHeartbeat({ threadsId }, { displayName: "Ada" });
 * presence.start();
 * presence.typing(); // on every keystroke: it throttles itself, and typing lapses by itself
 * presence.viewing(); // the message was sent
 * await presence.stop();
 * ```
 */
export class PresenceHeartbeat {
  readonly clientId: string;
  private readonly now: () => number;
  private renewMs = FALLBACK_RENEW_MS;
  private typingUntil = 0;
  private lastTyping = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private inflight: Promise<unknown> = Promise.resolve();
  private page: PageEvents | undefined;

  constructor(
    private readonly presence: Client<typeof PresenceService>,
    private readonly target: PresenceTarget,
    private readonly options: PresenceOptions = {},
  ) {
    this.clientId = options.clientId ?? newClientId();
    this.now = options.now ?? Date.now;
  }

  /** Whether the client is being kept present (between start() and stop()). */
  get active(): boolean {
    return this.running;
  }

  /** Announces the client now and keeps announcing it (a second start() does nothing). */
  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.page = this.options.page === undefined ? pageEvents() : (this.options.page ?? undefined);
    this.page?.addEventListener("pagehide", this.onPageHide);
    this.page?.addEventListener("pageshow", this.onPageShow);
    this.beat();
  }

  /** The user is typing (call on every change of the text: only every TYPING_RENEW_MS reaches the services). */
  typing(): void {
    const now = this.now();
    this.typingUntil = now + TYPING_MS;
    if (this.running && now - this.lastTyping >= TYPING_RENEW_MS) {
      this.lastTyping = now;
      this.beat();
    }
  }

  /** The user stopped typing (sent the message, left the composer): announced at once when they were typing. */
  viewing(): void {
    if (this.typingUntil === 0) {
      return;
    }
    this.typingUntil = 0;
    this.lastTyping = 0;
    if (this.running) {
      this.beat();
    }
  }

  /** Stops announcing and leaves (the user leaves when this was their last client). Never throws. */
  async stop(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.running = false;
    clearTimeout(this.timer);
    this.page?.removeEventListener("pagehide", this.onPageHide);
    this.page?.removeEventListener("pageshow", this.onPageShow);
    this.page = undefined;
    await this.inflight; // an announcement still on its way must not arrive after the leave
    await this.leave();
  }

  private readonly onPageHide = (): void => {
    clearTimeout(this.timer);
    void this.leave();
  };

  private readonly onPageShow = (event: Event): void => {
    if ((event as Event & { persisted?: boolean }).persisted && this.running) {
      this.beat();
    }
  };

  private state(): PresenceState {
    return this.now() < this.typingUntil ? PresenceState.TYPING : PresenceState.VIEWING;
  }

  /** Announces now, then again after renewMs (each announcement restarts the wait). */
  private beat(): void {
    clearTimeout(this.timer);
    const announced = this.announce(this.state());
    this.inflight = announced;
    void announced.finally(() => {
      if (this.running) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.beat(), this.renewMs);
      }
    });
  }

  private async announce(state: PresenceState): Promise<AnnouncePresenceResponse | undefined> {
    try {
      const answer = await this.presence.announcePresence({
        resource: resourceOf(this.target),
        clientId: this.clientId,
        state,
        displayName: this.options.displayName ?? "",
        consistencyToken: this.options.consistencyToken ?? "",
      });
      if (answer.renewAfterMs > 0) {
        this.renewMs = answer.renewAfterMs;
      }
      return answer;
    } catch {
      return undefined; // best effort: the next beat tries again, and the TTL covers what is lost
    }
  }

  private async leave(): Promise<void> {
    try {
      await this.presence.leavePresence({ resource: resourceOf(this.target), clientId: this.clientId });
    } catch {
      // The services drop the client when its TTL runs out.
    }
  }
}

/** The request's `resource` oneof of a target. */
export function resourceOf(target: PresenceTarget): { case: "threadsId"; value: string } | { case: "artifactId"; value: string } {
  return target.threadsId !== undefined ? { case: "threadsId", value: target.threadsId } : { case: "artifactId", value: target.artifactId };
}
