// What one stream with `include_signals` has been told about presence and drafts, and what it is told next, as
// the query service's LiveView does: a snapshot after CAUGHT_UP ("start over", then a draftStarted per open draft),
// then only the signals that change what the client shows (its own tenant's presence, deltas in order), and a
// draftCompleted right after the message whose idempotency key is a shown draft's id.
import { create } from "@bufbuild/protobuf";

import { PresenceChange_Kind, type PresenceState } from "../gen/ameide_core_proto/live/v1/live_types_pb.js";
import { DraftStartedSchema } from "../gen/ameide_core_proto/live/v1/live_types_pb.js";
import type { ChatMessage } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Feed } from "./feeds.js";
import type { DraftCase, MockLive, Signal } from "./live-state.js";

/** A signal case of ChatUpdate or ArtifactUpdate, before it is rendered as the stream's update type. */
export type SignalCase =
  | { case: "presenceSnapshot"; value: { participants: ReturnType<MockLive["participants"]> } }
  | { case: "presenceChanged"; value: Extract<Signal, { kind: "presence" }>["change"] }
  | DraftCase;

export class MockLiveView {
  private readonly log: Feed<Signal>;
  private after = 0;
  private readonly people = new Map<string, PresenceState>();
  /** Shown drafts: id -> the last sequence the client has. */
  private readonly shown = new Map<string, number>();

  constructor(
    private readonly live: MockLive,
    private readonly feed: string,
    private readonly tenantId: string,
    private readonly withDrafts: boolean,
  ) {
    this.log = live.signals(feed);
  }

  /** Wakes `listener` on every new signal of the resource. */
  listen(listener: () => void): () => void {
    return this.log.listen(listener);
  }

  /** The snapshot: what replaces everything the client showed. */
  startOver(): SignalCase[] {
    this.after = this.log.head;
    const participants = this.live.participants(this.feed, this.tenantId);
    this.people.clear();
    for (const person of participants) {
      this.people.set(person.userId, person.state);
    }
    this.shown.clear();
    const drafts = this.withDrafts ? this.live.openDrafts(this.feed) : [];
    const started: SignalCase[] = drafts.map((draft) => {
      this.shown.set(draft.id, draft.seq);
      const value = create(DraftStartedSchema, {
        draftId: draft.id,
        threadsId: draft.threadsId,
        agentId: draft.agentId,
        userId: draft.userId,
        startedAt: timestampFromDate(draft.startedAt),
        text: draft.text,
        seq: BigInt(draft.seq),
      });
      return { case: "draftStarted", value };
    });
    return [{ case: "presenceSnapshot", value: { participants } }, ...started];
  }

  /** The signals since the last call that change what the client shows. */
  pending(): SignalCase[] {
    const out: SignalCase[] = [];
    for (const entry of this.log.after(this.after)) {
      this.after = entry.seq;
      const shown = entry.update.kind === "presence" ? this.presence(entry.update) : this.draft(entry.update);
      if (shown) {
        out.push(shown);
      }
    }
    return out;
  }

  private presence(signal: Extract<Signal, { kind: "presence" }>): SignalCase | undefined {
    if (signal.tenantId !== this.tenantId) {
      return undefined; // presence is per tenant: another tenant's readers stay invisible
    }
    const { change } = signal;
    const user = change.participant?.userId ?? "";
    if (change.kind === PresenceChange_Kind.LEFT) {
      return this.people.delete(user) ? { case: "presenceChanged", value: change } : undefined;
    }
    const state = change.participant?.state;
    if (state === undefined || this.people.get(user) === state) {
      return undefined;
    }
    this.people.set(user, state);
    return { case: "presenceChanged", value: change };
  }

  private draft(signal: Extract<Signal, { kind: "draft" }>): SignalCase | undefined {
    if (!this.withDrafts) {
      return undefined;
    }
    const { draftId, update } = signal;
    const shown = this.shown.get(draftId);
    switch (update.case) {
      case "draftStarted":
        if (shown !== undefined) {
          return undefined;
        }
        this.shown.set(draftId, 0);
        return update;
      case "draftDelta":
        if (shown === undefined || Number(update.value.seq) !== shown + 1) {
          return undefined;
        }
        this.shown.set(draftId, shown + 1);
        return update;
      default:
        return this.shown.delete(draftId) ? update : undefined;
    }
  }

  /** After a message was sent: the draft it completes, at once (its own draftCompleted then changes nothing). */
  afterMessage(message: ChatMessage): SignalCase | undefined {
    const draftId = message.idempotencyKey;
    if (!draftId || !this.shown.delete(draftId)) {
      return undefined;
    }
    return { case: "draftCompleted", value: { draftId, messageId: message.id, messageSequence: message.sequence } };
  }
}
