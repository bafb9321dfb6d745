// Live signals as a subscriber sees them: who is present, who is typing, and the drafts being written.
//
// `subscribeChat(..., { includeSignals: true })` / `subscribeArtifact(..., { includeSignals: true })` yield, besides
// the durable updates, these ChatUpdate / ArtifactUpdate cases, none of which carries a checkpoint token:
//
//   presenceSnapshot   start over: these are present; drop every draft (a draftStarted follows per open draft)
//   presenceChanged    JOINED, LEFT, TYPING_STARTED, TYPING_STOPPED of one participant
//   draftStarted       a draft exists with this text so far (create or replace)
//   draftDelta         append `text`; `seq` is the previous one + 1
//   draftCompleted     the draft is now the message `messageId` (delivered before this update)
//   draftAbandoned     the draft ended without a message
//
// LiveSignals folds them into plain values, as the Python SDK's `LiveSignals` does.
import { timestampDate } from "@bufbuild/protobuf/wkt";

import {
  type DraftStarted,
  type Participant as ParticipantMessage,
  PresenceChange_Kind,
  PresenceState,
} from "./gen/ameide_core_proto/live/v1/live_types_pb.js";
import type { ArtifactUpdate } from "./gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import type { ChatUpdate } from "./gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { ChatMessage } from "./gen/ameide_core_proto/threads/v1/threads_types_pb.js";

/** What a participant is doing: looking at the resource, or typing on it (and looking). */
export type PresenceStateName = "viewing" | "typing";

/** A user present on a chat or an artifact (one entry however many tabs or devices they have). */
export interface LiveParticipant {
  userId: string;
  /** As the user declared it (may be empty: show the user id then). */
  displayName: string;
  state: PresenceStateName;
  joinedAt: Date | undefined;
}

/** An assistant message being written: `text` holds every delta up to `seq`. */
export interface LiveDraft {
  draftId: string;
  agentId: string;
  /** The caller whose credentials drive the draft (the completed message is sent as this user). */
  userId: string;
  text: string;
  seq: number;
  startedAt: Date | undefined;
}

const SIGNAL_CASES = new Set(["presenceSnapshot", "presenceChanged", "draftStarted", "draftDelta", "draftCompleted", "draftAbandoned"]);

/** True for the update cases that are live signals (never a resume position). */
export function isSignal(update: { update: { case: string | undefined } }): boolean {
  return SIGNAL_CASES.has(update.update.case ?? "");
}

function participant(value: ParticipantMessage | undefined): LiveParticipant | undefined {
  if (!value?.userId) {
    return undefined;
  }
  return {
    userId: value.userId,
    displayName: value.displayName,
    state: value.state === PresenceState.TYPING ? "typing" : "viewing",
    joinedAt: value.joinedAt ? timestampDate(value.joinedAt) : undefined,
  };
}

function started(value: DraftStarted): LiveDraft {
  return {
    draftId: value.draftId,
    agentId: value.agentId,
    userId: value.userId,
    text: value.text,
    seq: Number(value.seq),
    startedAt: value.startedAt ? timestampDate(value.startedAt) : undefined,
  };
}

/**
 * The live signals of one subscription, folded: feed it every update (it ignores the others). Each change
 * replaces `participants` and `drafts` with new maps, so a renderer can compare them by reference.
 *
 * ```ts
 * const signals = new LiveSignals();
 * for await (const update of client.subscribeChat(threadsId, { includeSignals: true })) {
 *   if (signals.apply(update)) {
 *     render([...signals.participants.values()], [...signals.drafts.values()]);
 *   }
 * }
 * ```
 */
export class LiveSignals {
  /** By user id. */
  participants: ReadonlyMap<string, LiveParticipant> = new Map();
  /** By draft id, in the order they started. */
  drafts: ReadonlyMap<string, LiveDraft> = new Map();
  /** Draft id -> the id of the message that replaced it (the message itself came as a `message` update). */
  readonly completed = new Map<string, string>();

  /** Who is typing now. */
  get typing(): LiveParticipant[] {
    return [...this.participants.values()].filter((person) => person.state === "typing");
  }

  /** Folds one update in; false when it is not a live signal (a message, a control message, ...). */
  apply(update: ChatUpdate | ArtifactUpdate): boolean {
    const change = update.update;
    switch (change.case) {
      case "presenceSnapshot": {
        const present = change.value.participants.map(participant).filter((p): p is LiveParticipant => p !== undefined);
        this.participants = new Map(present.map((p) => [p.userId, p]));
        this.drafts = new Map();
        return true;
      }
      case "presenceChanged": {
        const person = participant(change.value.participant);
        if (person) {
          const next = new Map(this.participants);
          if (change.value.kind === PresenceChange_Kind.LEFT) {
            next.delete(person.userId);
          } else {
            next.set(person.userId, person);
          }
          this.participants = next;
        }
        return true;
      }
      case "draftStarted":
        this.drafts = new Map(this.drafts).set(change.value.draftId, started(change.value));
        return true;
      case "draftDelta": {
        const draft = this.drafts.get(change.value.draftId);
        if (draft && Number(change.value.seq) === draft.seq + 1) {
          this.drafts = new Map(this.drafts).set(draft.draftId, { ...draft, text: draft.text + change.value.text, seq: draft.seq + 1 });
        }
        return true;
      }
      case "draftCompleted":
        this.completed.set(change.value.draftId, change.value.messageId);
        this.drop(change.value.draftId);
        return true;
      case "draftAbandoned":
        this.drop(change.value.draftId);
        return true;
      default:
        return false;
    }
  }

  /**
   * A message arrived: when it is a shown draft's (its idempotency key is the draft id), the draft is dropped at
   * once, so the message and its draft are never both shown; the draftCompleted that follows changes nothing.
   * True when a draft was dropped.
   */
  messageArrived(message: Pick<ChatMessage, "idempotencyKey" | "id">): boolean {
    const draftId = message.idempotencyKey;
    if (!draftId || !this.drafts.has(draftId)) {
      return false;
    }
    this.completed.set(draftId, message.id);
    this.drop(draftId);
    return true;
  }

  private drop(draftId: string): void {
    if (this.drafts.has(draftId)) {
      const next = new Map(this.drafts);
      next.delete(draftId);
      this.drafts = next;
    }
  }
}
