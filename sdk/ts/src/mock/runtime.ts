// What the mock's service handlers share: the store, tokens, idempotency records, stream settings, faults.
import type { Message } from "@bufbuild/protobuf";

import { Faults } from "./faults.js";
import { Identities } from "./identity.js";
import { IdempotencyRecords } from "./idempotency.js";
import { invalidField } from "./errors.js";
import { MockLive } from "./live-state.js";
import type { Identity } from "./state.js";
import { MockStore } from "./store.js";
import type { OpenStream, StreamSettings } from "./streams.js";
import { TokenCodec } from "./tokens.js";

const HOUR_MS = 3_600_000;

export interface MockBackendOptions {
  /** The clock of timestamps, token lifetimes and idempotency records (default: Date.now). */
  now?: () => Date;
  /** Quiet time before a live stream sends a HEARTBEAT (default 15000 ms, as the services; 0 = never). */
  heartbeatMs?: number;
  /** Lifetime of resume tokens (default 24 h). */
  resumeTokenTtlMs?: number;
  /** Lifetime of idempotency records (default 24 h). */
  idempotencyTtlMs?: number;
  /** Agent of a chat created for an artifact, by the artifact's kind (as AMEIDE_AGENT_BY_KIND). */
  agentByKind?: Record<string, string>;
  /** Agent for other kinds (default "general-assistant", as AMEIDE_DEFAULT_AGENT). */
  defaultAgent?: string;
  /** A client not announced again within this is gone (default 30000 ms, as AMEIDE_PRESENCE_VIEWING_TTL_SECONDS). */
  presenceViewingTtlMs?: number;
  /** Typing lapses this long after its last announcement (default 6000 ms, as AMEIDE_PRESENCE_TYPING_TTL_SECONDS). */
  presenceTypingTtlMs?: number;
  /** A draft its agent says nothing about for this long is abandoned (default 60000 ms, as AMEIDE_DRAFT_TTL_SECONDS). */
  draftTtlMs?: number;
}

/** One call as the mock saw it, for assertions (e.g. that a retry reused its idempotency key). */
export interface RecordedCall {
  /** Proto name of the RPC, e.g. "EnsureChatForArtifactAndSendMessage". */
  method: string;
  /** The request (for streams: the first message). */
  request: Message;
  /** The authenticated caller; undefined when the call failed before authentication. */
  caller: Identity | undefined;
}

/**
 * A clock that never repeats an instant: orderings by time ("most recently linked first") then follow the order
 * of the writes, as the services' microsecond timestamps do, even for writes within one millisecond.
 */
function monotonic(clock: () => Date): () => Date {
  let last = 0;
  return () => {
    last = Math.max(clock().getTime(), last + 1);
    return new Date(last);
  };
}

export class MockRuntime {
  readonly now: () => Date;
  readonly store: MockStore;
  readonly codec = new TokenCodec(crypto.randomUUID());
  readonly identities = new Identities();
  readonly open = new Set<OpenStream>();
  readonly faults: Faults;
  readonly idempotency: IdempotencyRecords;
  readonly streams: StreamSettings;
  readonly calls: RecordedCall[] = [];
  readonly agentByKind: Record<string, string>;
  readonly defaultAgent: string;
  readonly live: MockLive;

  constructor(options: MockBackendOptions = {}) {
    this.now = monotonic(options.now ?? (() => new Date()));
    this.store = new MockStore(this.now);
    this.live = new MockLive(this.now, {
      viewingMs: options.presenceViewingTtlMs ?? 30_000,
      typingMs: options.presenceTypingTtlMs ?? 6_000,
      draftMs: options.draftTtlMs ?? 60_000,
    });
    this.faults = new Faults(this.open, this.now, this.live);
    this.idempotency = new IdempotencyRecords(options.idempotencyTtlMs ?? 24 * HOUR_MS, this.now);
    this.streams = {
      codec: this.codec,
      now: this.now,
      resumeTtlMs: options.resumeTokenTtlMs ?? 24 * HOUR_MS,
      expiredBefore: () => this.faults.expiredBefore,
      heartbeatMs: options.heartbeatMs ?? 15_000,
    };
    this.agentByKind = options.agentByKind ?? {};
    this.defaultAgent = options.defaultAgent ?? "general-assistant";
  }

  /** The token of a write: what a query may wait for (the mock is always caught up). */
  consistencyToken(): string {
    return this.codec.encode("consistency", { w: this.store.writes });
  }

  /** Accepts "" and the mock's own consistency tokens; anything else is INVALID_ARGUMENT, as forged ones are. */
  checkConsistency(token: string, field = "consistency_token"): void {
    if (token && !this.codec.decode("consistency", token)) {
      throw invalidField(field, "not a valid consistency token", "INVALID_TOKEN");
    }
  }

  agentFor(kind: string): string {
    return this.agentByKind[kind] ?? this.defaultAgent;
  }
}
