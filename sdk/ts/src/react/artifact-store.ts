// useArtifact's store: an artifact with its content and version, the chats about it (paginated), the selected
// chat (kept per tab), live; sending goes through the atomic EnsureChatForArtifactAndSendMessage.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";

import type { SendResult } from "../client.js";
import type { ArtifactUpdate } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { type ArtifactView, type ChatReference, ChatReferenceSchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import { RelationType } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { requireUuid } from "../validation.js";
import type { Bindings } from "./bindings.js";
import { newKey } from "./keys.js";
import { type Applied, type FeedState, LiveFeed } from "./live-feed.js";
import { withNextPage } from "./merge.js";
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
  participants: [],
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
    return this.bindings.client.subscribeArtifact(this.artifactId, this.subscribeOptions(signal));
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
        this.showChat(change.value);
        break;
      case "threadsRemoved":
        this.hideChat(change.value.threadsId);
        break;
      case "deleted":
        return "ended";
      default:
        break;
    }
    return "continue";
  }

  /**
   * A chat the caller may list was linked, or changed (renamed, made visible again): the stream names only chats
   * the caller may read at the moment it sends the update, with their title as it is then (the query service
   * screens each subscriber's updates, D83), so a reference is shown as it comes, an update of one already listed.
   * Its title is empty only for a chat created without one (a rename needs a title), or from a service that sent
   * the title known when the link was projected: an empty title then never hides the one listed.
   */
  private showChat(reference: ChatReference): void {
    const listed = this.state.chats.find((c) => c.threadsId === reference.threadsId);
    if (!listed) {
      this.set({ chats: [reference, ...this.state.chats], chatsTotal: this.state.chatsTotal + 1 });
      return;
    }
    const title = reference.threadsTitle || listed.threadsTitle;
    this.set({ chats: this.state.chats.map((c) => (c === listed ? { ...reference, threadsTitle: title } : c)) });
  }

  /**
   * A chat left the caller's list: unlinked, deleted, or no longer readable by them (made PRIVATE by its owner). The
   * total drops when the chat was listed, or may be on a page not loaded yet.
   */
  private hideChat(threadsId: string): void {
    const listed = this.state.chats.some((c) => c.threadsId === threadsId);
    if (listed || this.state.hasMoreChats) {
      this.set({ chats: this.state.chats.filter((c) => c.threadsId !== threadsId), chatsTotal: Math.max(0, this.state.chatsTotal - 1) });
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
        this.showChat(create(ChatReferenceSchema, { threadsId: sent.threadsId, threadsTitle: title, relationType: RelationType.REFERENCED, linkedAt: timestampNow() }));
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
