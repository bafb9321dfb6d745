// ChatQueryService in memory (docs/api/chat-queries.md).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";

import { type ChatFilter, ChatQueryService, type ChatUpdate, ChatUpdateSchema } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import { ChatVisibility } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { readableChat } from "./chat-commands.js";
import { chatNotFound } from "./errors.js";
import { callerOf } from "./identity.js";
import { paginate } from "./paging.js";
import type { MockRuntime } from "./runtime.js";
import { parseQuery, rank, snippet } from "./search.js";
import { type ChatRecord, type Identity, canListChat, canReadChat } from "./state.js";
import { MockLiveView } from "./live-view.js";
import { type FeedKind, liveUpdates, resumeToken } from "./streams.js";
import { Checks, checkIdentity } from "./validate.js";
import { artifactReference, chatView, newestLinksFirst } from "./views.js";

const MAX_FILTER_ARTIFACTS = 100;

function checkFilter(checks: Checks, filter: ChatFilter | undefined, field: string): void {
  if (!filter) {
    return;
  }
  if (!Object.values(ChatVisibility).includes(filter.visibility)) {
    checks.add(`${field}.visibility`, "unknown visibility");
  }
  if (filter.artifactIds.length > MAX_FILTER_ARTIFACTS) {
    checks.add(`${field}.artifact_ids`, `at most ${MAX_FILTER_ARTIFACTS}`);
  }
  filter.artifactIds.forEach((id, i) => checks.uuid(`${field}.artifact_ids[${i}]`, id));
}

function matchesFilter(chat: ChatRecord, filter: ChatFilter | undefined): boolean {
  if (!filter) {
    return true;
  }
  if (filter.visibility !== ChatVisibility.UNSPECIFIED && chat.visibility !== filter.visibility) {
    return false;
  }
  if (filter.artifactIds.length > 0 && !filter.artifactIds.some((id) => chat.links.has(id))) {
    return false;
  }
  const created = chat.createdAt.getTime();
  if (filter.createdAfter && created <= timestampMs(filter.createdAfter)) {
    return false;
  }
  if (filter.createdBefore && created >= timestampMs(filter.createdBefore)) {
    return false;
  }
  return !filter.query || rank(chat, parseQuery(filter.query)) > 0;
}

function filterBinding(filter: ChatFilter | undefined): string {
  return JSON.stringify([filter?.query, filter?.visibility, filter?.artifactIds, filter?.createdAfter?.seconds?.toString(), filter?.createdBefore?.seconds?.toString()]);
}

function listable(rt: MockRuntime, caller: Identity): ChatRecord[] {
  return [...rt.store.state.chats.values()].filter((chat) => canListChat(chat, caller));
}

export function chatFeedKind(rt: MockRuntime, chat: ChatRecord, caller: Identity): FeedKind<ChatUpdate> {
  return {
    feed: rt.store.chatFeed(chat.id),
    readable: () => canReadChat(chat, caller),
    notFound: () => chatNotFound(chat.id),
    // A relation names an artifact of the chat's tenant: a reader of a PUBLIC chat from another tenant learns nothing
    // of that tenant's artifacts, as GetChatArtifacts shows it none (streams/screening.py).
    render: ({ update }, checkpointToken) =>
      (update.update.case === "relation" || update.update.case === "relationRemoved") && chat.tenantId !== caller.tenantId
        ? undefined
        : { ...update, checkpointToken },
    control: (kind, checkpointToken, validUntil) =>
      create(ChatUpdateSchema, {
        update: { case: "control", value: { kind, resumeValidUntil: validUntil ? timestampFromDate(validUntil) : undefined } },
        checkpointToken,
        timestamp: timestampFromDate(rt.now()),
      }),
    terminal: (update) => update.update.case === "deleted",
    recheck: (update) => update.update.case === "stateChanged",
    signals: {
      view: () => new MockLiveView(rt.live, `thread:${chat.id}`, caller.tenantId, true),
      render: (signal) => create(ChatUpdateSchema, { update: signal, timestamp: timestampFromDate(rt.now()) }),
      messageOf: (update) => (update.update.case === "message" ? update.update.value : undefined),
    },
  };
}

export function chatQueries(rt: MockRuntime): ServiceImpl<typeof ChatQueryService> {
  const headToken = (caller: Identity, chat: ChatRecord): string => resumeToken(rt.streams, caller, `thread:${chat.id}`, rt.store.chatFeed(chat.id).head);
  return {
    getChat(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const chat = readableChat(rt, request.threadsId, caller, "specific");
      return { threads: chatView(chat), checkpointToken: headToken(caller, chat) };
    },

    listChats(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks();
      checkFilter(checks, request.filter, "filter");
      checks.throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const page = paginate(rt.codec, caller, request, {
        binding: `ListChats|${filterBinding(request.filter)}`,
        items: listable(rt, caller).filter((chat) => matchesFilter(chat, request.filter)),
        keyOf: (chat) => [chat.lastActivityAt.getTime(), chat.id],
        order: ["desc", "asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      return { threads: page.items.map(chatView), nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    },

    getMessages(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const chat = readableChat(rt, request.threadsId, caller, "specific");
      const page = paginate(rt.codec, caller, request, {
        binding: `GetMessages|${chat.id}|${request.newestFirst}`,
        items: chat.messages,
        keyOf: (message) => [Number(message.sequence)],
        order: [request.newestFirst ? "desc" : "asc"],
        defaultSize: 50,
        maxSize: 200,
      });
      return {
        messages: page.items,
        nextPageToken: page.nextPageToken,
        hasMore: page.nextPageToken !== "",
        totalCount: page.totalCount,
        checkpointToken: headToken(caller, chat),
      };
    },

    getChatArtifacts(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).throwIfAny();
      const chat = readableChat(rt, request.threadsId, caller, "specific");
      const linked = newestLinksFirst(chat.links.values(), (link) => link.artifactId).flatMap((link) => {
        const artifact = rt.store.state.artifacts.get(link.artifactId);
        return artifact && !artifact.deleted && artifact.tenantId === caller.tenantId ? [artifactReference(link, artifact)] : [];
      });
      const page = paginate(rt.codec, caller, request, {
        binding: `GetChatArtifacts|${chat.id}`,
        items: linked,
        keyOf: (ref) => [ref.linkedAt ? timestampMs(ref.linkedAt) : 0, ref.artifactId],
        order: ["desc", "asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      return { artifacts: page.items, nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    },

    searchChats(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const text = request.query || request.filter?.query || "";
      const checks = new Checks();
      if (text.trim() === "") {
        checks.add("query", "is required (or filter.query)");
      }
      checkFilter(checks, request.filter, "filter");
      checks.throwIfAny();
      const query = parseQuery(text);
      // With an empty query, filter.query is the search; with both, filter.query narrows as in ListChats.
      const filter = request.query || !request.filter ? request.filter : { ...request.filter, query: "" };
      const ranked = listable(rt, caller)
        .filter((chat) => matchesFilter(chat, filter))
        .map((chat) => ({ chat, rank: rank(chat, query) }))
        .filter((hit) => hit.rank > 0);
      const page = paginate(rt.codec, caller, request, {
        binding: `SearchChats|${text}|${filterBinding(request.filter)}`,
        items: ranked,
        keyOf: (hit) => [hit.rank, hit.chat.updatedAt.getTime(), hit.chat.id],
        order: ["desc", "desc", "asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      const snippets = Object.fromEntries(page.items.map((hit) => [hit.chat.id, snippet(hit.chat, query)]));
      return { threads: page.items.map((hit) => chatView(hit.chat)), nextPageToken: page.nextPageToken, totalCount: page.totalCount, snippets };
    },

    async *streamChatUpdates(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const chat = readableChat(rt, request.threadsId, caller, "specific");
      yield* liveUpdates(rt.streams, rt.open, caller, chatFeedKind(rt, chat, caller), request.resumeToken, context.signal, request.includeSignals);
    },
  };
}
