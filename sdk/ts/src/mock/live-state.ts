// The mock's live signals (docs/api/live.md): presence per resource and tenant (one entry per client, one
// participant per user), drafts per chat, and one signal log per resource that streams follow. Deadlines run on the
// mock's clock and a timer settles them (LEFT / TYPING_STOPPED with `expired`, drafts abandoned as EXPIRED); the
// fault injector can make them run out at once.
import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import {
  DraftAbandoned_Reason,
  type Participant,
  ParticipantSchema,
  type PresenceChange,
  PresenceChangeSchema,
  PresenceChange_Kind,
  PresenceState,
} from "../gen/ameide_core_proto/live/v1/live_types_pb.js";
import type { CompleteDraftResponse } from "../gen/ameide_core_proto/live/v1/live_service_pb.js";
import type { ChatUpdateSchema } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import { Feed } from "./feeds.js";
import type { Identity } from "./state.js";

/** A draft signal: the ChatUpdate case it becomes. */
export type DraftCase = Extract<MessageInitShape<typeof ChatUpdateSchema>["update"], { case: "draftStarted" | "draftDelta" | "draftCompleted" | "draftAbandoned" }>;

/** One entry of a resource's signal log. */
export type Signal = { kind: "presence"; tenantId: string; change: PresenceChange } | { kind: "draft"; draftId: string; update: DraftCase };

export interface LiveTtls {
  /** A client not announced again within this is gone (default 30 s, as the services). */
  viewingMs: number;
  /** Typing lapses this long after its last announcement (default 6 s). */
  typingMs: number;
  /** A draft its agent says nothing about for this long is abandoned (default 60 s). */
  draftMs: number;
}

interface ClientDeadlines {
  viewingUntil: number;
  typingUntil: number;
}

interface UserPresence {
  clients: Map<string, ClientDeadlines>;
  displayName: string;
  joinedAt: Date;
  /** The state last published: 0 (gone), VIEWING, TYPING. */
  state: PresenceState;
}

export type DraftStatus = "active" | "completed" | "abandoned";

export interface DraftRecord {
  id: string;
  threadsId: string;
  feed: string;
  tenantId: string;
  userId: string;
  agentId: string;
  status: DraftStatus;
  seq: number;
  text: string;
  startedAt: Date;
  deadline: number;
  answer: CompleteDraftResponse | undefined;
}

const presenceKey = (feed: string, tenantId: string): string => `${feed}\n${tenantId}`;

export class MockLive {
  private readonly logs = new Map<string, Feed<Signal>>();
  private readonly presence = new Map<string, Map<string, UserPresence>>();
  readonly drafts = new Map<string, DraftRecord>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly now: () => Date,
    readonly ttls: LiveTtls,
  ) {}

  /** The signal log of a resource (`thread:{id}` / `artifact:{id}`). */
  signals(feed: string): Feed<Signal> {
    let log = this.logs.get(feed);
    if (!log) {
      log = new Feed(`signals:${feed}`);
      this.logs.set(feed, log);
    }
    return log;
  }

  // Presence ----------------------------------------------------------------------------------------------------

  /** One client of `who` announces itself; returns when it expires without a renewal (ms). */
  announce(feed: string, who: Identity, clientId: string, state: PresenceState, displayName: string): number {
    const now = this.now().getTime();
    const users = this.users(feed, who.tenantId, true);
    let user = users.get(who.userId);
    if (!user) {
      user = { clients: new Map(), displayName, joinedAt: new Date(now), state: PresenceState.UNSPECIFIED };
      users.set(who.userId, user);
    }
    user.displayName = displayName;
    const viewingUntil = now + this.ttls.viewingMs;
    user.clients.set(clientId, { viewingUntil, typingUntil: state === PresenceState.TYPING ? now + this.ttls.typingMs : 0 });
    this.settle(feed, who.tenantId, who.userId, now, false);
    this.schedule();
    return viewingUntil;
  }

  /** One client leaves now (nothing to do when it is not present). */
  leave(feed: string, who: Identity, clientId: string): void {
    const user = this.users(feed, who.tenantId, false)?.get(who.userId);
    if (user?.clients.delete(clientId)) {
      this.settle(feed, who.tenantId, who.userId, this.now().getTime(), false);
    }
  }

  /** Everyone of `tenantId` present on the resource, in the order they joined. */
  participants(feed: string, tenantId: string): Participant[] {
    const users = this.users(feed, tenantId, false);
    return users ? [...users].filter(([, user]) => user.state !== PresenceState.UNSPECIFIED).map(([userId, user]) => this.participant(userId, user, user.state)) : [];
  }

  private users(feed: string, tenantId: string, make: true): Map<string, UserPresence>;
  private users(feed: string, tenantId: string, make: false): Map<string, UserPresence> | undefined;
  private users(feed: string, tenantId: string, make: boolean): Map<string, UserPresence> | undefined {
    const key = presenceKey(feed, tenantId);
    let users = this.presence.get(key);
    if (!users && make) {
      users = new Map();
      this.presence.set(key, users);
    }
    return users;
  }

  private participant(userId: string, user: UserPresence, state: PresenceState): Participant {
    return create(ParticipantSchema, { userId, displayName: user.displayName, state, joinedAt: timestampFromDate(user.joinedAt) });
  }

  /** Recomputes one user from their clients' deadlines and publishes what changed. */
  private settle(feed: string, tenantId: string, userId: string, now: number, expired: boolean): void {
    const users = this.users(feed, tenantId, false);
    const user = users?.get(userId);
    if (!users || !user) {
      return;
    }
    let typing = false;
    for (const [clientId, client] of user.clients) {
      if (client.viewingUntil <= now) {
        user.clients.delete(clientId);
      } else if (client.typingUntil > now) {
        typing = true;
      }
    }
    const before = user.state;
    const after = user.clients.size === 0 ? PresenceState.UNSPECIFIED : typing ? PresenceState.TYPING : PresenceState.VIEWING;
    const kind =
      before === PresenceState.UNSPECIFIED && after !== PresenceState.UNSPECIFIED
        ? PresenceChange_Kind.JOINED
        : before !== PresenceState.UNSPECIFIED && after === PresenceState.UNSPECIFIED
          ? PresenceChange_Kind.LEFT
          : before === PresenceState.VIEWING && after === PresenceState.TYPING
            ? PresenceChange_Kind.TYPING_STARTED
            : before === PresenceState.TYPING && after === PresenceState.VIEWING
              ? PresenceChange_Kind.TYPING_STOPPED
              : undefined;
    user.state = after;
    if (kind !== undefined) {
      const shown = kind === PresenceChange_Kind.LEFT ? before : after;
      const change = create(PresenceChangeSchema, { kind, participant: this.participant(userId, user, shown), expired });
      this.signals(feed).append({ kind: "presence", tenantId, change });
    }
    if (after === PresenceState.UNSPECIFIED) {
      users.delete(userId);
    }
  }

  // Drafts ------------------------------------------------------------------------------------------------------

  /** Open drafts of a chat (its feed), in the order they started. */
  openDrafts(feed: string): DraftRecord[] {
    return [...this.drafts.values()].filter((draft) => draft.feed === feed && draft.status === "active");
  }

  startDraft(draft: Omit<DraftRecord, "status" | "seq" | "text" | "startedAt" | "deadline" | "answer">): DraftRecord {
    const now = this.now();
    const record: DraftRecord = { ...draft, status: "active", seq: 0, text: "", startedAt: now, deadline: now.getTime() + this.ttls.draftMs, answer: undefined };
    this.drafts.set(record.id, record);
    this.publishDraft(record, {
      case: "draftStarted",
      value: { draftId: record.id, threadsId: record.threadsId, agentId: record.agentId, userId: record.userId, startedAt: timestampFromDate(now), text: "", seq: 0n },
    });
    this.schedule();
    return record;
  }

  /** The agent is still there: the draft's deadline moves on. */
  touchDraft(draft: DraftRecord): void {
    draft.deadline = this.now().getTime() + this.ttls.draftMs;
    this.schedule();
  }

  appendDraft(draft: DraftRecord, text: string): void {
    draft.seq += 1;
    draft.text += text;
    this.touchDraft(draft);
    this.publishDraft(draft, { case: "draftDelta", value: { draftId: draft.id, seq: BigInt(draft.seq), text } });
  }

  /** The draft became a message (already appended to the chat's feed, so streams deliver it first). */
  completeDraft(draft: DraftRecord, answer: CompleteDraftResponse): void {
    draft.status = "completed";
    draft.answer = answer;
    draft.text = "";
    this.publishDraft(draft, { case: "draftCompleted", value: { draftId: draft.id, messageId: answer.messageId, messageSequence: answer.messageSequence } });
  }

  abandonDraft(draft: DraftRecord, reason: DraftAbandoned_Reason, detail: string): void {
    draft.status = "abandoned";
    draft.text = "";
    this.publishDraft(draft, { case: "draftAbandoned", value: { draftId: draft.id, reason, detail } });
  }

  private publishDraft(draft: DraftRecord, update: DraftCase): void {
    this.signals(draft.feed).append({ kind: "draft", draftId: draft.id, update });
  }

  // Deadlines ---------------------------------------------------------------------------------------------------

  /** Settles every deadline that has passed (what the services' sweeper does). */
  sweep(): void {
    const now = this.now().getTime();
    for (const [key, users] of [...this.presence]) {
      const [feed = "", tenantId = ""] = key.split("\n");
      for (const [userId, user] of [...users]) {
        const due = [...user.clients.values()].some((c) => c.viewingUntil <= now || (c.typingUntil > 0 && c.typingUntil <= now));
        if (due) {
          for (const client of user.clients.values()) {
            if (client.typingUntil <= now) {
              client.typingUntil = 0;
            }
          }
          this.settle(feed, tenantId, userId, now, true);
        }
      }
      if (users.size === 0) {
        this.presence.delete(key);
      }
    }
    for (const draft of this.drafts.values()) {
      if (draft.status === "active" && draft.deadline <= now) {
        this.abandonDraft(draft, DraftAbandoned_Reason.EXPIRED, "");
      }
    }
    this.schedule();
  }

  /** Every client's presence runs out now (LEFT, expired), as when a tab vanished without leaving. */
  expirePresence(): void {
    this.runOut((client) => {
      client.viewingUntil = 0;
    });
  }

  /** Every client's typing runs out now (TYPING_STOPPED, expired), as when a user stops typing. */
  lapseTyping(): void {
    this.runOut((client) => {
      client.typingUntil = Math.min(client.typingUntil, 1);
    });
  }

  /** Every open draft's agent is taken as gone (abandoned, REASON_EXPIRED). */
  expireDrafts(): void {
    for (const draft of this.drafts.values()) {
      draft.deadline = Math.min(draft.deadline, 0);
    }
    this.sweep();
  }

  private runOut(change: (client: ClientDeadlines) => void): void {
    for (const users of this.presence.values()) {
      for (const user of users.values()) {
        user.clients.forEach(change);
      }
    }
    this.sweep();
  }

  /** Arms the timer for the earliest deadline still ahead. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) {
      return;
    }
    const now = this.now().getTime();
    let next = Number.POSITIVE_INFINITY;
    for (const users of this.presence.values()) {
      for (const user of users.values()) {
        for (const client of user.clients.values()) {
          next = Math.min(next, client.viewingUntil, client.typingUntil > now ? client.typingUntil : Number.POSITIVE_INFINITY);
        }
      }
    }
    for (const draft of this.drafts.values()) {
      if (draft.status === "active") {
        next = Math.min(next, draft.deadline);
      }
    }
    if (Number.isFinite(next)) {
      this.timer = setTimeout(() => this.sweep(), Math.max(0, next - now));
      // A test or page that forgets the backend must not be kept alive by it.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops the timer (the backend is closed). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
