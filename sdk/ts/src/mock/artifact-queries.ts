// ArtifactQueryService in memory (docs/api/artifact-queries.md).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";

import { ArtifactQueryService, type ArtifactUpdate, ArtifactUpdateSchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import {
  type ArtifactHistoryEntry,
  type ArtifactView,
  ChatReferenceRemovedSchema,
} from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import type { FeedEntry } from "./feeds.js";
import { readableArtifact, readableChat } from "./chat-commands.js";
import { artifactNotFound } from "./errors.js";
import { callerOf } from "./identity.js";
import { paginate } from "./paging.js";
import type { MockRuntime } from "./runtime.js";
import { MockLiveView } from "./live-view.js";
import { type ArtifactRecord, type Identity, type LinkRecord, canListChat, canReadArtifact, mayLearnChatLeft } from "./state.js";
import { type FeedKind, liveUpdates, resumeToken } from "./streams.js";
import { Checks, checkIdentity } from "./validate.js";
import { artifactView, chatReference, newestLinksFirst } from "./views.js";

const INCLUDED_CHATS = 100;

/** The artifact's links to chats the caller may list, newest first. */
function visibleLinks(rt: MockRuntime, artifact: ArtifactRecord, caller: Identity): LinkRecord[] {
  return newestLinksFirst(artifact.links.values(), (link) => link.threadsId).filter((link) => {
    const chat = rt.store.state.chats.get(link.threadsId);
    return chat !== undefined && canListChat(chat, caller);
  });
}

function titleOf(rt: MockRuntime, link: LinkRecord): string {
  return rt.store.state.chats.get(link.threadsId)?.title ?? "";
}

/** Whether `caller` may be shown the chat `threadsId` (a primary chat, a history entry's chat). */
function chatShown(rt: MockRuntime, threadsId: string, caller: Identity): boolean {
  const chat = rt.store.state.chats.get(threadsId);
  return chat !== undefined && canListChat(chat, caller);
}

/** The artifact as `caller` sees it: a primary chat they may not list is not named. */
function viewFor(rt: MockRuntime, artifact: ArtifactRecord, caller: Identity, version: number, withContent: boolean): ArtifactView {
  const view = artifactView(artifact, version, withContent);
  if (view.primaryThreadsId && !chatShown(rt, view.primaryThreadsId, caller)) {
    view.primaryThreadsId = "";
  }
  return view;
}

/** History as `caller` sees it: links of chats they may not list are left out, other entries lose the chat's id. */
function historyFor(rt: MockRuntime, artifact: ArtifactRecord, caller: Identity): ArtifactHistoryEntry[] {
  const shown: ArtifactHistoryEntry[] = [];
  for (const entry of artifact.history) {
    if (!entry.threadsId || chatShown(rt, entry.threadsId, caller)) {
      shown.push(entry);
    } else if (entry.eventType !== "threads_linked" && entry.eventType !== "threads_unlinked") {
      shown.push({ ...entry, threadsId: "" });
    }
  }
  return shown;
}

/**
 * What `caller` receives of an artifact feed entry (the query service's streams/screening.py): a chat's link or
 * change only if they may list it, with its title as it is now; its removal only if they could list it before;
 * nothing otherwise.
 */
function screened(rt: MockRuntime, entry: FeedEntry<ArtifactUpdate>, caller: Identity, checkpointToken: string): ArtifactUpdate | undefined {
  const change = entry.update.update;
  if (change.case !== "threadsAdded" && change.case !== "threadsRemoved") {
    return { ...entry.update, checkpointToken };
  }
  const chat = rt.store.state.chats.get(change.value.threadsId);
  if (!chat) {
    return undefined;
  }
  if (change.case === "threadsAdded" && canListChat(chat, caller)) {
    return { ...entry.update, checkpointToken, update: { case: "threadsAdded", value: { ...change.value, threadsTitle: chat.title } } };
  }
  if (!mayLearnChatLeft(chat, entry.chatVisibilityBefore, caller)) {
    return undefined;
  }
  const removed = create(ChatReferenceRemovedSchema, { threadsId: chat.id });
  return { ...entry.update, checkpointToken, update: { case: "threadsRemoved", value: removed } };
}

export function artifactFeedKind(rt: MockRuntime, artifact: ArtifactRecord, caller: Identity): FeedKind<ArtifactUpdate> {
  return {
    feed: rt.store.artifactFeed(artifact.id),
    readable: () => canReadArtifact(artifact, caller),
    notFound: () => artifactNotFound(artifact.id),
    render: (entry, checkpointToken) => screened(rt, entry, caller, checkpointToken),
    control: (kind, checkpointToken, validUntil) =>
      create(ArtifactUpdateSchema, {
        update: { case: "control", value: { kind, resumeValidUntil: validUntil ? timestampFromDate(validUntil) : undefined } },
        checkpointToken,
        timestamp: timestampFromDate(rt.now()),
      }),
    terminal: (update) => update.update.case === "deleted",
    recheck: () => false,
    signals: {
      view: () => new MockLiveView(rt.live, `artifact:${artifact.id}`, caller.tenantId, false),
      render: (signal) => {
        // An artifact's stream carries presence only (the view never yields a draft case for it).
        const update = signal.case === "presenceSnapshot" || signal.case === "presenceChanged" ? signal : undefined;
        return create(ArtifactUpdateSchema, { update, timestamp: timestampFromDate(rt.now()) });
      },
      messageOf: () => undefined,
    },
  };
}

export function artifactQueries(rt: MockRuntime): ServiceImpl<typeof ArtifactQueryService> {
  const headToken = (caller: Identity, artifact: ArtifactRecord): string =>
    resumeToken(rt.streams, caller, `artifact:${artifact.id}`, rt.store.artifactFeed(artifact.id).head);
  return {
    getArtifact(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().uuid("artifact_id", request.artifactId);
      if (request.version < 0n) {
        checks.add("version", "must not be negative");
      }
      checks.throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const artifact = readableArtifact(rt, request.artifactId, caller, "specific");
      if (request.version > BigInt(artifact.versions.length)) {
        throw artifactNotFound(artifact.id);
      }
      const view = viewFor(rt, artifact, caller, Number(request.version), true);
      if (request.includeChats) {
        const links = visibleLinks(rt, artifact, caller).slice(0, INCLUDED_CHATS);
        view.threadsIds = links.map((link) => link.threadsId);
        view.threadsRefs = links.map((link) => chatReference(link, titleOf(rt, link)));
      }
      return { artifact: view, checkpointToken: headToken(caller, artifact) };
    },

    listArtifacts(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId, false).throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const chat = request.threadsId ? readableChat(rt, request.threadsId, caller, "specific") : undefined;
      const items = [...rt.store.state.artifacts.values()].filter(
        (artifact) => canReadArtifact(artifact, caller) && (!request.kind || artifact.kind === request.kind) && (!chat || chat.links.has(artifact.id)),
      );
      const page = paginate(rt.codec, caller, request, {
        binding: `ListArtifacts|${request.kind}|${request.threadsId}`,
        items,
        keyOf: (artifact) => [artifact.updatedAt.getTime(), artifact.id],
        order: ["desc", "asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      return { artifacts: page.items.map((a) => viewFor(rt, a, caller, 0, false)), nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    },

    getArtifactChats(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller, "specific");
      const page = paginate(rt.codec, caller, request, {
        binding: `GetArtifactChats|${artifact.id}`,
        items: visibleLinks(rt, artifact, caller),
        keyOf: (link) => [link.linkedAt.getTime(), link.threadsId],
        order: ["desc", "asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      return { threads: page.items.map((link) => chatReference(link, titleOf(rt, link))), nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    },

    getArtifactHistory(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller, "specific");
      const page = paginate(rt.codec, caller, request, {
        binding: `GetArtifactHistory|${artifact.id}`,
        items: historyFor(rt, artifact, caller).map((entry, index) => ({ entry, index })),
        keyOf: (item) => [item.index],
        order: ["asc"],
        defaultSize: 20,
        maxSize: 100,
      });
      return { entries: page.items.map((item) => item.entry), nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    },

    async *streamArtifactUpdates(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      const artifact = readableArtifact(rt, request.artifactId, caller, "specific");
      yield* liveUpdates(rt.streams, rt.open, caller, artifactFeedKind(rt, artifact, caller), request.resumeToken, context.signal, request.includeSignals);
    },
  };
}
