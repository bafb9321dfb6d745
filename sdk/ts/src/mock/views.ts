// Records rendered as the query side shows them.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import {
  type ArtifactView,
  ArtifactViewSchema,
  type ChatReference,
  ChatReferenceSchema,
} from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import {
  type ArtifactReference,
  ArtifactReferenceSchema,
  type Chat,
  type ChatArtifactRelation,
  ChatArtifactRelationSchema,
  ChatSchema,
} from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { type ArtifactRecord, type ChatRecord, type LinkRecord, currentVersion } from "./state.js";

export function chatView(chat: ChatRecord): Chat {
  return create(ChatSchema, {
    id: chat.id,
    title: chat.title,
    userId: chat.owner,
    createdAt: timestampFromDate(chat.createdAt),
    updatedAt: timestampFromDate(chat.updatedAt),
    visibility: chat.visibility,
    metadata: { labels: { ...chat.labels }, description: chat.description, tags: [...chat.tags] },
    tenantId: chat.tenantId,
    agentId: chat.agentId,
    messageCount: BigInt(chat.messages.length),
    lastActivityAt: timestampFromDate(chat.lastActivityAt),
    version: BigInt(chat.version),
  });
}

export function relationView(link: LinkRecord): ChatArtifactRelation {
  return create(ChatArtifactRelationSchema, {
    threadsId: link.threadsId,
    artifactId: link.artifactId,
    type: link.type,
    createdAt: timestampFromDate(link.linkedAt),
    createdBy: link.linkedBy,
  });
}

export function chatReference(link: LinkRecord, title: string): ChatReference {
  return create(ChatReferenceSchema, {
    threadsId: link.threadsId,
    threadsTitle: title,
    relationType: link.type,
    linkedAt: timestampFromDate(link.linkedAt),
  });
}

export function artifactReference(link: LinkRecord, artifact: ArtifactRecord): ArtifactReference {
  const now = currentVersion(artifact);
  return create(ArtifactReferenceSchema, {
    artifactId: artifact.id,
    title: now.title,
    kind: artifact.kind,
    relationType: link.type,
    linkedAt: timestampFromDate(link.linkedAt),
  });
}

/** The artifact at `version` (1-based; 0 = current), with or without content. */
export function artifactView(artifact: ArtifactRecord, version: number, withContent: boolean): ArtifactView {
  const at = version > 0 ? version : artifact.versions.length;
  const state = artifact.versions[at - 1] ?? currentVersion(artifact);
  return create(ArtifactViewSchema, {
    id: artifact.id,
    title: state.title,
    kind: artifact.kind,
    labels: { ...state.labels },
    content: withContent ? { mimeType: state.mimeType, body: state.body } : undefined,
    version: BigInt(at),
    userId: artifact.owner,
    createdAt: timestampFromDate(artifact.createdAt),
    updatedAt: timestampFromDate(artifact.updatedAt),
    primaryThreadsId: artifact.primaryChatId,
    tenantId: artifact.tenantId,
  });
}

/** Links newest first, then by id: the order of GetArtifactChats, GetChatArtifacts and include_chats. */
export function newestLinksFirst(links: Iterable<LinkRecord>, idOf: (link: LinkRecord) => string): LinkRecord[] {
  return [...links].sort((a, b) => b.linkedAt.getTime() - a.linkedAt.getTime() || idOf(a).localeCompare(idOf(b)));
}
