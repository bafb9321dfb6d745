// useArtifact's store: an artifact with its content and version, the chats about it (paginated), the selected
// chat (kept per tab), live; sending goes through the atomic EnsureChatForArtifactAndSendMessage.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";

import type { SendResult } from "../client.js";
import type { ArtifactUpdate } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { type ArtifactView, type ChatReference, ChatReferenceSchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import { RelationType } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { backoffMs, sleep } from "../retry.js";
import { requireUuid } from "../validation.js";
import type { Bindings } from "./bindings.js";
import { newKey } from "./keys.js";
import { type Applied, type FeedState, LiveFeed } from "./live-feed.js";
import { withFirstPage, withNextPage } from "./merge.js";
import { toAmeideError } from "./status.js";
import { loadSelectedChat, saveSelectedChat } from "./storage.js";

export interface ArtifactState extends FeedState {
  /** With its content; title, labels, content and version follow live changes. */
  artifact: ArtifactView | undefined;
  /** Chats about the artifact the caller may see, most recently linked first; new ones appear live. */
  chats: ChatReference[];
  chatsTotal: number;
  hasMoreChats: boolean;
  loadingMoreChats: boolean;
  /** The chat the page shows (kept in sessionStorage per artifact, so a refresh restores it); undefined = a new chat. */
  selectedChatId: string | undefined;
}

export const IDLE_ARTIFACT: ArtifactState = {
  status: "idle",
  error: undefined,
  artifact: undefined,
  chats: [],
  chatsTotal: 0,
  hasMoreChats: false,
  loadingMoreChats: false,
  selectedChatId: undefined,
};

export interface ArtifactSendOptions {
  /** The chat to send into; default: the selected chat, or a new one when none is selected. */
  threadsId?: string;
  /** The key of this user action: pass the same one when retrying it (useComposer does). */
  idempotencyKey?: string;
}

const chatId = (reference: ChatReference): string => reference.threadsId;

/** How often a newly linked chat is looked for in GetArtifactChats before it is taken as not readable. */
const LIST_CHECKS = 4;

export class ArtifactStore extends LiveFeed<ArtifactState, ArtifactUpdate> {
  private chatsToken = "";

  constructor(
    private readonly bindings: Bindings,
    readonly artifactId: string,
  ) {
    super(`artifact:${artifactId}`, bindings.settings, {
      ...IDLE_ARTIFACT,
      status: "loading",
      selectedChatId: loadSelectedChat(bindings.settings.session, artifactId),
    });
  }

  protected hasData(): boolean {
    return this.state.artifact !== undefined;
  }

  protected async load(signal: AbortSignal): Promise<string> {
    const artifactId = requireUuid("artifactId", this.artifactId);
    const queries = this.bindings.client.artifactQueries;
    const loaded = await queries.getArtifact({ artifactId }, { signal });
    // Read after the checkpoint was taken: a chat linked meanwhile is in both this page and the replay (deduped).
    const chats = await queries.getArtifactChats({ artifactId, pageSize: this.bindings.settings.pageSizes.chats }, { signal });
    this.chatsToken = chats.nextPageToken;
    this.set({ artifact: loaded.artifact, chats: chats.threads, chatsTotal: chats.totalCount, hasMoreChats: chats.nextPageToken !== "" });
    return loaded.checkpointToken;
  }

  protected follow(signal: AbortSignal): AsyncIterable<ArtifactUpdate> {
    return this.bindings.client.subscribeArtifact(this.artifactId, { checkpointStore: this.position, includeControl: true, signal, maxAttempts: 1 });
  }

  protected apply(update: ArtifactUpdate): Applied {
    const { update: change, version } = update;
    const artifact = this.state.artifact;
    switch (change.case) {
      case "contentUpdated":
        if (artifact && version >= artifact.version) {
          this.set({ artifact: { ...artifact, content: change.value, version } });
        }
        break;
      case "metadataChanged":
        if (artifact && version >= artifact.version) {
          this.set({ artifact: { ...artifact, title: change.value.title, labels: change.value.labels, version } });
        }
        break;
      case "threadsAdded":
        this.chatLinked(change.value);
        break;
      case "threadsRemoved":
        this.set({
          chats: this.state.chats.filter((c) => c.threadsId !== change.value.threadsId),
          chatsTotal: Math.max(0, this.state.chatsTotal - 1),
        });
        break;
      case "deleted":
        return "ended";
      default:
        break;
    }
    return "continue";
  }

  private addChat(reference: ChatReference): void {
    const existing = this.state.chats.find((c) => c.threadsId === reference.threadsId);
    if (existing) {
      if (!existing.threadsTitle && reference.threadsTitle) {
        this.set({ chats: this.state.chats.map((c) => (c === existing ? reference : c)) });
      }
      return;
    }
    this.set({ chats: [reference, ...this.state.chats], chatsTotal: this.state.chatsTotal + 1 });
  }

  /**
   * A chat was linked to the artifact. The stream names every chat linked, also one the caller may not read (a
   * colleague's private chat), and its title may still be empty (linked before the chat reached the read model).
   * GetArtifactChats lists exactly the chats the caller may read, with their titles: a chat not shown yet appears
   * once that list has it, asked again a few times with backoff, since the chat itself can reach the read model
   * just after its link. A chat the caller may not read is never shown.
   */
  private chatLinked(reference: ChatReference): void {
    const shown = this.state.chats.find((c) => c.threadsId === reference.threadsId);
    if (!shown) {
      void this.showWhenListed(reference.threadsId);
    } else if (!shown.threadsTitle && reference.threadsTitle) {
      this.set({ chats: this.state.chats.map((c) => (c === shown ? reference : c)) });
    }
  }

  private async showWhenListed(threadsId: string): Promise<void> {
    const { initialBackoffMs, maxBackoffMs, pageSizes } = this.bindings.settings;
    for (let attempt = 0; attempt < LIST_CHECKS; attempt++) {
      if (attempt > 0) {
        await sleep(backoffMs(attempt, initialBackoffMs, maxBackoffMs));
      }
      try {
        const page = await this.bindings.client.artifactQueries.getArtifactChats({ artifactId: this.artifactId, pageSize: pageSizes.chats });
        this.set({ chats: withFirstPage(this.state.chats, page.threads, chatId), chatsTotal: page.totalCount });
        if (page.threads.some((c) => c.threadsId === threadsId)) {
          return;
        }
      } catch {
        // Asked again; the list stays as it is meanwhile.
      }
    }
  }

  /** The next page of chats (appended). */
  async loadMoreChats(): Promise<void> {
    if (!this.state.hasMoreChats || this.state.loadingMoreChats) {
      return;
    }
    this.set({ loadingMoreChats: true });
    try {
      const pageSize = this.bindings.settings.pageSizes.chats;
      const page = await this.bindings.client.artifactQueries.getArtifactChats({ artifactId: this.artifactId, pageSize, pageToken: this.chatsToken });
      this.chatsToken = page.nextPageToken;
      this.set({ chats: withNextPage(this.state.chats, page.threads, chatId), hasMoreChats: page.nextPageToken !== "", loadingMoreChats: false });
    } catch (error) {
      this.set({ loadingMoreChats: false });
      throw toAmeideError(error);
    }
  }

  /** Shows another chat of the artifact (undefined: the next message starts a new chat). The URL is not touched. */
  selectChat(threadsId: string | undefined): void {
    saveSelectedChat(this.bindings.settings.session, this.artifactId, threadsId);
    this.set({ selectedChatId: threadsId });
  }

  /**
   * Sends a message about the artifact in one atomic call: into the selected chat, or into a new chat (titled
   * "Discussion about {title}", linked to the artifact) that then becomes the selected one. Transient failures
   * are retried with the same idempotency key, so a lost response never makes a second chat.
   */
  async send(text: string, options: ArtifactSendOptions = {}): Promise<SendResult> {
    const target = options.threadsId ?? this.state.selectedChatId;
    try {
      const sent = await this.bindings.client.threadsArtifact.sendMessageFromArtifact(this.artifactId, text, target, {
        idempotencyKey: options.idempotencyKey ?? newKey(),
      });
      this.bindings.noteWrite(sent.threadsId, sent.consistencyToken);
      if (sent.isNewChat) {
        const title = this.state.artifact ? `Discussion about ${this.state.artifact.title}` : "";
        this.addChat(create(ChatReferenceSchema, { threadsId: sent.threadsId, threadsTitle: title, relationType: RelationType.REFERENCED, linkedAt: timestampNow() }));
      }
      if (sent.isNewChat || options.threadsId === undefined) {
        this.selectChat(sent.threadsId);
      }
      return sent;
    } catch (error) {
      throw toAmeideError(error);
    }
  }
}
