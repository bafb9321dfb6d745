import { type Client, type Transport, createClient } from "@connectrpc/connect";

import { ArtifactCommandService, ArtifactQueryService } from "./gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import type { ArtifactUpdate } from "./gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { ChatCommandService, ChatQueryService } from "./gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { ChatUpdate } from "./gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { ChatVisibility } from "./gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { DraftService, PresenceService } from "./gen/ameide_core_proto/live/v1/live_service_pb.js";
import type { AnnouncePresenceResponse } from "./gen/ameide_core_proto/live/v1/live_service_pb.js";
import { type Participant as ParticipantMessage, PresenceState } from "./gen/ameide_core_proto/live/v1/live_types_pb.js";
import { type PresenceOptions, PresenceHeartbeat, type PresenceTarget, resourceOf } from "./presence.js";
import { type RetryOptions, withRetries } from "./retry.js";
import { type ArtifactWrite, type ChatWrite, type SubscribeOptions, resumable, writeTarget } from "./subscription.js";
import { optionalUuid, requireText, requireUuid } from "./validation.js";

/** Options of one sendMessageFromArtifact call beyond the spec's three arguments. */
export interface SendOptions {
  /** Reuse the key of an earlier, unanswered call; a fresh UUID by default. */
  idempotencyKey?: string;
  /** Visibility of a newly created chat (default PRIVATE). */
  visibility?: ChatVisibility;
  signal?: AbortSignal;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs?: number;
}

/** What sendMessageFromArtifact returns: the spec's three fields, plus a token to read this write. */
export interface SendResult {
  threadsId: string;
  messageId: string;
  isNewChat: boolean;
  /** Pass to a query (e.g. getMessages) to wait until this write is visible; `subscribeChat(result)` passes it. */
  consistencyToken: string;
}

// SDK helper for atomic operations
export class ChatArtifactHelper {
  constructor(
    private client: AmeideClient,
    private retry: RetryOptions = {},
  ) {}

  /**
   * Sends `message` about an artifact, into `threadsId` or into a new chat linked to the artifact.
   * One idempotency key serves every retry of this call (Unavailable/Aborted are retried with backoff), so a
   * retry after a lost response returns the first attempt's chat and message instead of writing twice.
   * Throws AmeideArgumentError before sending when an argument is invalid.
   */
  async sendMessageFromArtifact(
    artifactId: string,
    message: string,
    threadsId?: string,
    options: SendOptions = {},
  ): Promise<SendResult> {
    const request = {
      artifactId: requireUuid("artifactId", artifactId),
      threadsId: optionalUuid("threadsId", threadsId),
      message: { role: "user", parts: [{ kind: { case: "text" as const, value: { text: requireText("message", message) } } }] },
      idempotencyKey: optionalUuid("idempotencyKey", options.idempotencyKey) || crypto.randomUUID(),
      visibility: options.visibility,
    };
    const callOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
    const response = await withRetries(
      () => this.client.threadsCommands.ensureChatForArtifactAndSendMessage(request, callOptions),
      this.retry,
    );

    return {
      threadsId: response.threadsId,
      messageId: response.persistedMessage?.id ?? "",
      isNewChat: response.threadsCreated,
      consistencyToken: response.consistencyToken,
    };
  }
}

/** The transports of the two deployables: commands (writes) and queries (reads and streams). */
export interface AmeideTransports {
  commands: Transport;
  queries: Transport;
}

export interface AmeideClientOptions {
  /** Retries of ChatArtifactHelper's idempotent writes. */
  retry?: RetryOptions;
  /** Transport of the query services when they are not behind `transport` (see withTransports). */
  queryTransport?: Transport;
}

export class AmeideClient {
  // Artifact services
  readonly artifactCommands: Client<typeof ArtifactCommandService>;
  readonly artifactQueries: Client<typeof ArtifactQueryService>;

  // Threads services
  readonly threadsCommands: Client<typeof ChatCommandService>;
  readonly threadsQueries: Client<typeof ChatQueryService>;

  // Live signals (served by the query deployable)
  readonly presence: Client<typeof PresenceService>;
  readonly drafts: Client<typeof DraftService>;

  // Helper utilities
  readonly threadsArtifact: ChatArtifactHelper;

  /** One transport for every service (a gateway in front of the command and query deployables). */
  constructor(transport: Transport, options: AmeideClientOptions = {}) {
    const queries = options.queryTransport ?? transport;
    this.threadsCommands = createClient(ChatCommandService, transport);
    this.threadsQueries = createClient(ChatQueryService, queries);
    this.artifactCommands = createClient(ArtifactCommandService, transport);
    this.artifactQueries = createClient(ArtifactQueryService, queries);
    this.presence = createClient(PresenceService, queries);
    this.drafts = createClient(DraftService, queries);
    this.threadsArtifact = new ChatArtifactHelper(this, options.retry);
  }

  /** Talks to the command and query deployables on their own endpoints. */
  static withTransports(transports: AmeideTransports, options: AmeideClientOptions = {}): AmeideClient {
    return new AmeideClient(transports.commands, { ...options, queryTransport: transports.queries });
  }

  /**
   * Live updates of a chat that reconnect, resume from the last checkpoint and never repeat an update.
   * `chat` is a chat id, or the answer of a write naming the chat (e.g. sendMessageFromArtifact's SendResult):
   * then the stream starts once that write is visible, as `options.consistencyToken` does for an id.
   */
  subscribeChat(chat: string | ChatWrite, options: SubscribeOptions = {}): AsyncGenerator<ChatUpdate, void, undefined> {
    const { id: threadsId, consistencyToken } = writeTarget("threadsId", chat, options);
    return resumable(
      `thread:${threadsId}`,
      (resumeToken, signal) =>
        this.threadsQueries.streamChatUpdates({ threadsId, resumeToken, consistencyToken, includeSignals: options.includeSignals ?? false }, { signal }),
      options,
    );
  }

  /** Live updates of an artifact (an id, or a write's answer naming it, e.g. createArtifact's), as subscribeChat. */
  subscribeArtifact(
    artifact: string | ArtifactWrite,
    options: SubscribeOptions = {},
  ): AsyncGenerator<ArtifactUpdate, void, undefined> {
    const { id: artifactId, consistencyToken } = writeTarget("artifactId", artifact, options);
    return resumable(
      `artifact:${artifactId}`,
      (resumeToken, signal) =>
        this.artifactQueries.streamArtifactUpdates({ artifactId, resumeToken, consistencyToken, includeSignals: options.includeSignals ?? false }, { signal }),
      options,
    );
  }

  /**
   * Announces one client (a tab, a device) on a chat or an artifact once, viewing or typing; announce again within
   * the answer's `renewAfterMs`, or the presence expires (`presenceHeartbeat` does both).
   */
  announcePresence(
    target: PresenceTarget,
    options: { clientId: string; typing?: boolean; displayName?: string; consistencyToken?: string },
  ): Promise<AnnouncePresenceResponse> {
    return this.presence.announcePresence({
      resource: resourceOf(checkedTarget(target)),
      clientId: options.clientId,
      state: options.typing ? PresenceState.TYPING : PresenceState.VIEWING,
      displayName: options.displayName ?? "",
      consistencyToken: options.consistencyToken ?? "",
    });
  }

  /** Removes one client at once (the user leaves when it was their last); leaving twice is fine. */
  async leavePresence(target: PresenceTarget, clientId: string): Promise<void> {
    await this.presence.leavePresence({ resource: resourceOf(checkedTarget(target)), clientId });
  }

  /** Everyone of the caller's tenant present on a chat or an artifact now (to render on load). */
  async listPresence(target: PresenceTarget, options: { consistencyToken?: string } = {}): Promise<ParticipantMessage[]> {
    const answer = await this.presence.listPresence({ resource: resourceOf(checkedTarget(target)), consistencyToken: options.consistencyToken ?? "" });
    return answer.participants;
  }

  /**
   * Keeps one client present on a chat or an artifact between `start()` and `stop()`: it announces itself again as
   * often as the services ask, `typing()` / `viewing()` say what the user does, and it leaves on `stop()` (in a
   * page also on `pagehide`).
   */
  presenceHeartbeat(target: PresenceTarget, options: PresenceOptions = {}): PresenceHeartbeat {
    return new PresenceHeartbeat(this.presence, checkedTarget(target), options);
  }
}

function checkedTarget(target: PresenceTarget): PresenceTarget {
  return target.threadsId !== undefined ? { threadsId: requireUuid("threadsId", target.threadsId) } : { artifactId: requireUuid("artifactId", target.artifactId) };
}
