// Writes on the mock's state, each emitting the feed updates the projector would: a chat feed gets message,
// relation, relation_removed, state_changed and deleted; an artifact feed threads_added, threads_removed,
// content_updated, metadata_changed and deleted (each with the artifact version after it), and threads_added /
// threads_removed again when a linked chat is renamed, changes visibility or is deleted.
import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import { type ArtifactUpdate, ArtifactUpdateSchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { ArtifactHistoryEntrySchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import { type ChatUpdate, ChatUpdateSchema } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import {
  type ChatMessage,
  type ChatMessageInput,
  ChatMessageSchema,
  ChatVisibility,
  type RelationType,
} from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { Feed } from "./feeds.js";
import { type ArtifactRecord, type ArtifactVersion, type ChatRecord, type Identity, type LinkRecord, MockState, currentVersion } from "./state.js";
import { chatReference, chatView, relationView } from "./views.js";

type ChatUpdateCase = MessageInitShape<typeof ChatUpdateSchema>["update"];
type ArtifactUpdateCase = MessageInitShape<typeof ArtifactUpdateSchema>["update"];

export class MockStore {
  readonly state = new MockState();
  private readonly chatFeeds = new Map<string, Feed<ChatUpdate>>();
  private readonly artifactFeeds = new Map<string, Feed<ArtifactUpdate>>();
  /** Counts writes: what a consistency token stands for. */
  writes = 0;

  constructor(readonly now: () => Date) {}

  chatFeed(id: string): Feed<ChatUpdate> {
    let feed = this.chatFeeds.get(id);
    if (!feed) {
      feed = new Feed(`thread:${id}`);
      this.chatFeeds.set(id, feed);
    }
    return feed;
  }

  artifactFeed(id: string): Feed<ArtifactUpdate> {
    let feed = this.artifactFeeds.get(id);
    if (!feed) {
      feed = new Feed(`artifact:${id}`);
      this.artifactFeeds.set(id, feed);
    }
    return feed;
  }

  private emitChat(chat: ChatRecord, update: ChatUpdateCase): void {
    this.chatFeed(chat.id).append(create(ChatUpdateSchema, { update, timestamp: timestampFromDate(this.now()) }));
  }

  private emitArtifact(artifact: ArtifactRecord, update: ArtifactUpdateCase, chatVisibilityBefore = 0): void {
    const version = BigInt(artifact.versions.length);
    const message = create(ArtifactUpdateSchema, { update, version, timestamp: timestampFromDate(this.now()) });
    this.artifactFeed(artifact.id).append(message, chatVisibilityBefore);
  }

  /**
   * The chat as its artifacts show it changed (renamed, visibility changed, deleted): each live artifact it is
   * linked to tells its subscribers (threads_added with the current reference, threads_removed once deleted), as the
   * projector does; what each subscriber receives is decided when it is sent (`artifactFeedKind`).
   */
  private announce(chat: ChatRecord, visibilityBefore: number): void {
    for (const link of chat.links.values()) {
      const artifact = this.state.artifacts.get(link.artifactId);
      if (!artifact || artifact.deleted) {
        continue;
      }
      if (chat.deleted) {
        this.emitArtifact(artifact, { case: "threadsRemoved", value: { threadsId: chat.id } }, visibilityBefore);
      } else {
        this.emitArtifact(artifact, { case: "threadsAdded", value: chatReference(link, chat.title) }, visibilityBefore);
      }
    }
  }

  private history(artifact: ArtifactRecord, who: Identity, eventType: string, metadata: Record<string, string>, threadsId = ""): void {
    artifact.history.push(
      create(ArtifactHistoryEntrySchema, {
        eventType,
        timestamp: timestampFromDate(this.now()),
        userId: who.userId,
        threadsId,
        metadata,
        version: BigInt(artifact.versions.length),
        eventId: crypto.randomUUID(),
      }),
    );
  }

  private touchChat(chat: ChatRecord): void {
    chat.version += 1;
    chat.updatedAt = this.now();
    this.writes += 1;
  }

  createChat(who: Identity, init: Pick<ChatRecord, "title" | "visibility" | "labels" | "description" | "tags" | "agentId">): ChatRecord {
    const at = this.now();
    const chat: ChatRecord = {
      ...init,
      visibility: init.visibility === ChatVisibility.UNSPECIFIED ? ChatVisibility.PRIVATE : init.visibility,
      id: crypto.randomUUID(),
      tenantId: who.tenantId,
      owner: who.userId,
      createdAt: at,
      updatedAt: at,
      lastActivityAt: at,
      version: 1,
      deleted: false,
      messages: [],
      links: new Map(),
    };
    this.state.chats.set(chat.id, chat);
    this.writes += 1;
    return chat;
  }

  appendMessage(who: Identity, chat: ChatRecord, input: ChatMessageInput, idempotencyKey: string, artifactId = ""): ChatMessage {
    const at = this.now();
    const message = create(ChatMessageSchema, {
      id: crypto.randomUUID(),
      threadsId: chat.id,
      role: input.role,
      parts: input.parts,
      attachments: input.attachments,
      createdAt: timestampFromDate(at),
      artifactId: artifactId || input.artifactId,
      tenantId: who.tenantId,
      idempotencyKey,
      sequence: BigInt(chat.messages.length + 1),
      userId: who.userId,
    });
    chat.messages.push(message);
    chat.lastActivityAt = at;
    this.touchChat(chat);
    this.emitChat(chat, { case: "message", value: message });
    return message;
  }

  /** Links both sides (one event on each stream); an existing link is returned unchanged. */
  link(who: Identity, chat: ChatRecord, artifact: ArtifactRecord, type: RelationType): LinkRecord {
    const existing = chat.links.get(artifact.id);
    if (existing) {
      return existing;
    }
    const link: LinkRecord = { threadsId: chat.id, artifactId: artifact.id, type, linkedAt: this.now(), linkedBy: who.userId };
    chat.links.set(artifact.id, link);
    artifact.links.set(chat.id, link);
    this.touchChat(chat);
    this.emitChat(chat, { case: "relation", value: relationView(link) });
    this.history(artifact, who, "threads_linked", { relation_type: String(type) }, chat.id);
    this.emitArtifact(artifact, { case: "threadsAdded", value: chatReference(link, chat.title) });
    return link;
  }

  unlink(who: Identity, chat: ChatRecord, artifact: ArtifactRecord): void {
    chat.links.delete(artifact.id);
    artifact.links.delete(chat.id);
    this.touchChat(chat);
    this.emitChat(chat, { case: "relationRemoved", value: { threadsId: chat.id, artifactId: artifact.id } });
    this.history(artifact, who, "threads_unlinked", {}, chat.id);
    this.emitArtifact(artifact, { case: "threadsRemoved", value: { threadsId: chat.id } }, chat.visibility);
  }

  changeChat(chat: ChatRecord, field: "title" | "visibility", change: () => void): void {
    const before = chat.visibility;
    change();
    this.touchChat(chat);
    this.emitChat(chat, { case: "stateChanged", value: { threads: chatView(chat), field } });
    this.announce(chat, field === "visibility" ? before : 0);
  }

  deleteChat(chat: ChatRecord): void {
    chat.deleted = true;
    this.touchChat(chat);
    this.emitChat(chat, { case: "deleted", value: { threadsId: chat.id } });
    this.announce(chat, chat.visibility);
  }

  createArtifact(who: Identity, kind: string, first: ArtifactVersion, primaryChatId: string): ArtifactRecord {
    const at = this.now();
    const artifact: ArtifactRecord = {
      id: crypto.randomUUID(),
      tenantId: who.tenantId,
      owner: who.userId,
      kind,
      versions: [first],
      primaryChatId,
      createdAt: at,
      updatedAt: at,
      deleted: false,
      links: new Map(),
      history: [],
    };
    this.state.artifacts.set(artifact.id, artifact);
    this.writes += 1;
    const details = { title: first.title, kind, mime_type: first.mimeType, size_bytes: String(first.body.length) };
    this.history(artifact, who, "created", details, primaryChatId);
    return artifact;
  }

  /** A content or metadata change: a new version. */
  addVersion(who: Identity, artifact: ArtifactRecord, next: ArtifactVersion, change: "content" | "metadata", threadsId = ""): void {
    const before = currentVersion(artifact);
    artifact.versions.push(next);
    artifact.updatedAt = this.now();
    this.writes += 1;
    if (change === "content") {
      this.history(artifact, who, "modified", { mime_type: next.mimeType, size_bytes: String(next.body.length) }, threadsId);
      this.emitArtifact(artifact, { case: "contentUpdated", value: { mimeType: next.mimeType, body: next.body } });
    } else {
      this.history(artifact, who, "metadata_changed", { title: next.title, old_title: before.title });
      this.emitArtifact(artifact, { case: "metadataChanged", value: { title: next.title, labels: { ...next.labels } } });
    }
  }

  deleteArtifact(who: Identity, artifact: ArtifactRecord): void {
    artifact.deleted = true;
    artifact.updatedAt = this.now();
    this.writes += 1;
    this.history(artifact, who, "deleted", {});
    this.emitArtifact(artifact, { case: "deleted", value: { artifactId: artifact.id } });
  }
}
