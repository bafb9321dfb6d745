import { type Client, type Transport, createClient } from "@connectrpc/connect";

import { ArtifactCommandService, ArtifactQueryService } from "./gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import type { ArtifactUpdate } from "./gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { ChatCommandService, ChatQueryService } from "./gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { ChatUpdate } from "./gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { ChatVisibility } from "./gen/ameide_core_proto/threads/v1/threads_types_pb.js";
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

  // Helper utilities
  readonly threadsArtifact: ChatArtifactHelper;

  /** One transport for every service (a gateway in front of the command and query deployables). */
  constructor(transport: Transport, options: AmeideClientOptions = {}) {
    const queries = options.queryTransport ?? transport;
    this.threadsCommands = createClient(ChatCommandService, transport);
    this.threadsQueries = createClient(ChatQueryService, queries);
    this.artifactCommands = createClient(ArtifactCommandService, transport);
    this.artifactQueries = createClient(ArtifactQueryService, queries);
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
        this.threadsQueries.streamChatUpdates({ threadsId, resumeToken, consistencyToken }, { signal }),
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
        this.artifactQueries.streamArtifactUpdates({ artifactId, resumeToken, consistencyToken }, { signal }),
      options,
    );
  }
}
