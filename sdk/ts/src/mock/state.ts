// The mock's in-memory data: chats, artifacts, their links, and what each caller may do with them
// (design.md section 5, docs/api: tenancy, visibility, ownership).
import type { ArtifactHistoryEntry } from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import type { ChatMessage } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { ChatVisibility, RelationType } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";

/** Who is calling: from the bearer token, as the services' auth layer decides it. */
export interface Identity {
  userId: string;
  tenantId: string;
}

export interface LinkRecord {
  threadsId: string;
  artifactId: string;
  type: RelationType;
  linkedAt: Date;
  linkedBy: string;
}

export interface ChatRecord {
  id: string;
  tenantId: string;
  owner: string;
  title: string;
  visibility: ChatVisibility;
  labels: Record<string, string>;
  description: string;
  tags: string[];
  agentId: string;
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  /** Version of the chat's event stream (creation = 1, +1 per event). */
  version: number;
  deleted: boolean;
  messages: ChatMessage[];
  /** By artifact id. */
  links: Map<string, LinkRecord>;
}

export interface ArtifactVersion {
  title: string;
  labels: Record<string, string>;
  mimeType: string;
  body: Uint8Array;
}

export interface ArtifactRecord {
  id: string;
  tenantId: string;
  owner: string;
  kind: string;
  /** versions[n - 1] is version n. */
  versions: ArtifactVersion[];
  primaryChatId: string;
  createdAt: Date;
  updatedAt: Date;
  deleted: boolean;
  /** By chat id. */
  links: Map<string, LinkRecord>;
  history: ArtifactHistoryEntry[];
}

export class MockState {
  readonly chats = new Map<string, ChatRecord>();
  readonly artifacts = new Map<string, ArtifactRecord>();
}

function isOwnTenant(record: { tenantId: string }, who: Identity): boolean {
  return record.tenantId === who.tenantId;
}

/** By id: own chats, TEAM/PUBLIC chats of the tenant, PUBLIC chats of any tenant (read-only share links). */
export function canReadChat(chat: ChatRecord, who: Identity): boolean {
  if (chat.deleted) {
    return false;
  }
  if (chat.visibility === ChatVisibility.PUBLIC) {
    return true;
  }
  return isOwnTenant(chat, who) && (chat.owner === who.userId || chat.visibility === ChatVisibility.TEAM);
}

/** In lists, search and artifact sidebars: own chats and the tenant's TEAM/PUBLIC chats, never another tenant's. */
export function canListChat(chat: ChatRecord, who: Identity): boolean {
  return !chat.deleted && isOwnTenant(chat, who) && (chat.owner === who.userId || chat.visibility !== ChatVisibility.PRIVATE);
}

/**
 * Whether `who` may be told that `chat` left a list of theirs (made PRIVATE, deleted, unlinked): only if they could
 * list it just before (`visibilityBefore`, 0 when not known) or could now were it not deleted.
 */
export function mayLearnChatLeft(chat: ChatRecord, visibilityBefore: number, who: Identity): boolean {
  const undeleted = { ...chat, deleted: false };
  const before = { ...undeleted, visibility: visibilityBefore || chat.visibility };
  return canListChat(undeleted, who) || canListChat(before, who);
}

/** Sending and linking: the owner, or any user of the tenant for TEAM and PUBLIC chats. */
export const canWriteChat = canListChat;

/** Every user of an artifact's tenant reads, links and changes it. */
export function canReadArtifact(artifact: ArtifactRecord, who: Identity): boolean {
  return !artifact.deleted && isOwnTenant(artifact, who);
}

export function currentVersion(artifact: ArtifactRecord): ArtifactVersion {
  const version = artifact.versions[artifact.versions.length - 1];
  if (!version) {
    throw new Error(`artifact ${artifact.id} has no version`);
  }
  return version;
}

export function relationOrDefault(type: RelationType): RelationType {
  return type === RelationType.UNSPECIFIED ? RelationType.REFERENCED : type;
}
