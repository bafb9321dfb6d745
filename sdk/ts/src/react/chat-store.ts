// useChat's store: a chat, its messages (newest page first, older pages on demand), its artifacts, live.
import type { ArtifactReference, Chat, ChatMessage, ChatVisibility } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import type { ChatUpdate } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { LiveDraft } from "../live-signals.js";
import { requireText, requireUuid } from "../validation.js";
import { newKey } from "./keys.js";
import type { Bindings } from "./bindings.js";
import { type Applied, type FeedState, LiveFeed } from "./live-feed.js";
import { withFirstPage, withNextPage } from "./merge.js";
import { startingPoint } from "./storage.js";
import { toAmeideError } from "./status.js";

export interface ChatState extends FeedState {
  chat: Chat | undefined;
  /** Oldest first; a page of the newest on load, older pages prepended by loadOlder(). */
  messages: ChatMessage[];
  /** Messages in the chat. */
  totalCount: number;
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Artifacts linked to the chat, most recently linked first. */
  artifacts: ArtifactReference[];
  artifactsTotal: number;
  hasMoreArtifacts: boolean;
  /**
   * Assistant messages being written (live signals), in the order they started: each grows delta by delta and is
   * replaced by its message in `messages` in the same update that adds the message (never both, never neither).
   */
  drafts: readonly LiveDraft[];
}

export const IDLE_CHAT: ChatState = {
  status: "idle",
  error: undefined,
  participants: [],
  drafts: [],
  chat: undefined,
  messages: [],
  totalCount: 0,
  hasOlder: false,
  loadingOlder: false,
  artifacts: [],
  artifactsTotal: 0,
  hasMoreArtifacts: false,
};

/** What createArtifact needs: the new artifact is linked to the chat as CREATED in the same transaction. */
export interface NewArtifact {
  title: string;
  kind: string;
  content?: { mimeType: string; body: Uint8Array };
  labels?: Record<string, string>;
  idempotencyKey?: string;
}

const artifactId = (reference: ArtifactReference): string => reference.artifactId;

function insert(messages: ChatMessage[], added: ChatMessage[], floor: bigint | undefined): ChatMessage[] {
  const known = new Set(messages.map((m) => m.id));
  const fresh = added.filter((m) => !known.has(m.id) && (floor === undefined || m.sequence >= floor));
  if (fresh.length === 0) {
    return messages;
  }
  return [...messages, ...fresh].sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
}

export class ChatStore extends LiveFeed<ChatState, ChatUpdate> {
  private olderToken = "";
  private artifactsToken = "";

  constructor(
    private readonly bindings: Bindings,
    readonly threadsId: string,
  ) {
    super(`thread:${threadsId}`, bindings.settings, { ...IDLE_CHAT, status: "loading" });
  }

  private get queries() {
    return this.bindings.client.threadsQueries;
  }

  protected hasData(): boolean {
    return this.state.chat !== undefined;
  }

  protected async load(signal: AbortSignal): Promise<string> {
    const threadsId = requireUuid("threadsId", this.threadsId);
    const consistencyToken = this.bindings.consistencyFor(threadsId);
    const pageSize = this.bindings.settings.pageSizes.messages;
    const [chat, page] = await Promise.all([
      this.queries.getChat({ threadsId, consistencyToken }, { signal }),
      this.queries.getMessages({ threadsId, newestFirst: true, pageSize, consistencyToken }, { signal }),
    ]);
    // Read after the checkpoint was taken: a link made meanwhile is in both this page and the replay (deduped).
    const artifacts = await this.queries.getChatArtifacts({ threadsId, pageSize: this.bindings.settings.pageSizes.artifacts }, { signal });
    this.olderToken = page.nextPageToken;
    this.artifactsToken = artifacts.nextPageToken;
    const messages = [...page.messages].reverse();
    this.set({
      chat: chat.threads,
      messages,
      drafts: this.shownDrafts(messages),
      totalCount: page.totalCount,
      hasOlder: page.nextPageToken !== "",
      artifacts: artifacts.artifacts,
      artifactsTotal: artifacts.totalCount,
      hasMoreArtifacts: artifacts.nextPageToken !== "",
    });
    // The two reads may straddle a write: follow from the older of their checkpoints (replays are deduped).
    return startingPoint(chat.checkpointToken, page.checkpointToken);
  }

  protected follow(signal: AbortSignal): AsyncIterable<ChatUpdate> {
    return this.bindings.client.subscribeChat(this.threadsId, this.subscribeOptions(signal));
  }

  protected override presenceConsistency(): string {
    return this.bindings.consistencyFor(this.threadsId);
  }

  protected override signalState(): Partial<ChatState> {
    return { ...super.signalState(), drafts: this.shownDrafts(this.state.messages) };
  }

  /** The open drafts, less any whose message is already shown (a snapshot may still list a draft being completed). */
  private shownDrafts(messages: ChatMessage[]): LiveDraft[] {
    const drafts = [...this.signals.drafts.values()];
    if (drafts.length === 0) {
      return drafts;
    }
    const sent = new Set(messages.map((m) => m.idempotencyKey));
    return drafts.filter((draft) => !sent.has(draft.draftId));
  }

  protected apply(update: ChatUpdate): Applied {
    const { update: change } = update;
    switch (change.case) {
      case "message": {
        const oldest = this.state.hasOlder ? this.state.messages[0]?.sequence : undefined;
        const messages = insert(this.state.messages, [change.value], oldest);
        const totalCount = Math.max(this.state.totalCount, Number(change.value.sequence));
        // A draft's message replaces the draft in this same update: no moment shows both, or neither.
        this.signals.messageArrived(change.value);
        this.set({ messages, totalCount, drafts: this.shownDrafts(messages) });
        break;
      }
      case "stateChanged":
        this.set({ chat: change.value.threads });
        break;
      case "relation":
        void this.refreshArtifacts();
        break;
      case "relationRemoved":
        this.set({
          artifacts: this.state.artifacts.filter((a) => a.artifactId !== change.value.artifactId),
          artifactsTotal: Math.max(0, this.state.artifactsTotal - 1),
        });
        break;
      case "deleted":
        return "ended";
      default:
        break;
    }
    return "continue";
  }

  /** The first page of linked artifacts again (a relation update carries ids only), merged with what is shown. */
  private async refreshArtifacts(): Promise<void> {
    try {
      const page = await this.queries.getChatArtifacts({ threadsId: this.threadsId, pageSize: this.bindings.settings.pageSizes.artifacts });
      this.set({ artifacts: withFirstPage(this.state.artifacts, page.artifacts, artifactId), artifactsTotal: page.totalCount });
    } catch {
      // The list stays as it is; the next relation update or reload refreshes it.
    }
  }

  /** The next page of older messages (prepended). */
  async loadOlder(): Promise<void> {
    if (!this.state.hasOlder || this.state.loadingOlder) {
      return;
    }
    this.set({ loadingOlder: true });
    try {
      const pageSize = this.bindings.settings.pageSizes.messages;
      const page = await this.queries.getMessages({ threadsId: this.threadsId, newestFirst: true, pageSize, pageToken: this.olderToken });
      this.olderToken = page.nextPageToken;
      this.set({ messages: insert(this.state.messages, page.messages, undefined), hasOlder: page.nextPageToken !== "", loadingOlder: false });
    } catch (error) {
      this.set({ loadingOlder: false });
      throw toAmeideError(error);
    }
  }

  /** The next page of linked artifacts (appended). */
  async loadMoreArtifacts(): Promise<void> {
    if (!this.state.hasMoreArtifacts) {
      return;
    }
    try {
      const pageSize = this.bindings.settings.pageSizes.artifacts;
      const page = await this.queries.getChatArtifacts({ threadsId: this.threadsId, pageSize, pageToken: this.artifactsToken });
      this.artifactsToken = page.nextPageToken;
      this.set({ artifacts: withNextPage(this.state.artifacts, page.artifacts, artifactId), hasMoreArtifacts: page.nextPageToken !== "" });
    } catch (error) {
      throw toAmeideError(error);
    }
  }

  /** Sends a text message (SendMessage). Pass the same `idempotencyKey` when retrying the same user action. */
  async send(text: string, idempotencyKey: string = newKey()): Promise<ChatMessage> {
    try {
      const response = await this.bindings.client.threadsCommands.sendMessage({
        threadsId: requireUuid("threadsId", this.threadsId),
        message: { role: "user", parts: [{ kind: { case: "text", value: { text: requireText("text", text) } } }] },
        idempotencyKey,
      });
      const message = response.message;
      if (message) {
        this.bindings.noteWrite(this.threadsId, response.consistencyToken);
        this.set({ messages: insert(this.state.messages, [message], undefined), totalCount: Math.max(this.state.totalCount, Number(message.sequence)) });
        return message;
      }
      throw new Error("SendMessage answered without the message");
    } catch (error) {
      throw toAmeideError(error);
    }
  }

  /** Renames the chat (owner only: others get an AmeideError of kind "forbidden"). */
  async rename(title: string): Promise<void> {
    try {
      const response = await this.bindings.client.threadsCommands.updateChatTitle({ threadsId: this.threadsId, title });
      this.set({ chat: response.threads });
    } catch (error) {
      throw toAmeideError(error);
    }
  }

  /** Changes who may see the chat (owner only). */
  async setVisibility(visibility: ChatVisibility.PRIVATE | ChatVisibility.TEAM | ChatVisibility.PUBLIC): Promise<void> {
    try {
      const response = await this.bindings.client.threadsCommands.updateVisibility({ threadsId: this.threadsId, visibility });
      this.set({ chat: response.threads });
    } catch (error) {
      throw toAmeideError(error);
    }
  }

  /**
   * Creates an artifact from this chat: one CreateArtifact with the chat as its primary chat, which links both
   * sides as CREATED in the same transaction. The chat's `artifacts` list shows it when its link arrives live.
   */
  async createArtifact(artifact: NewArtifact): Promise<{ artifactId: string; consistencyToken: string }> {
    try {
      const response = await this.bindings.client.artifactCommands.createArtifact({
        title: artifact.title,
        kind: artifact.kind,
        content: artifact.content,
        metadata: artifact.labels ?? {},
        primaryThreadsId: requireUuid("threadsId", this.threadsId),
        idempotencyKey: artifact.idempotencyKey ?? newKey(),
      });
      return { artifactId: response.artifactId, consistencyToken: response.consistencyToken };
    } catch (error) {
      throw toAmeideError(error);
    }
  }
}
