// ChatCommandService in memory (docs/api/chat-commands.md).
import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";

import {
  ChatCommandService,
  CreateChatRequestSchema,
  EnsureChatForArtifactAndSendMessageRequestSchema,
  SendMessageRequestSchema,
} from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import { ChatMessageInputSchema, ChatVisibility, RelationType } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { type NotFoundReason, artifactNotFound, chatNotFound, rpcError } from "./errors.js";
import { callerOf } from "./identity.js";
import type { MockRuntime } from "./runtime.js";
import { type ArtifactRecord, type ChatRecord, type Identity, canReadArtifact, canReadChat, canWriteChat, currentVersion, relationOrDefault } from "./state.js";
import { Checks, LIMITS, checkIdentity } from "./validate.js";
import { chatView, relationView } from "./views.js";

const VISIBILITIES = new Set([ChatVisibility.UNSPECIFIED, ChatVisibility.PRIVATE, ChatVisibility.TEAM, ChatVisibility.PUBLIC]);
const RELATIONS = new Set([RelationType.UNSPECIFIED, RelationType.CREATED, RelationType.REFERENCED, RelationType.MODIFIED]);

// Commands answer NOT_FOUND with the generic reason, reads with the resource's: `reason` says which.
export function readableArtifact(rt: MockRuntime, id: string, caller: Identity, reason: NotFoundReason = "generic"): ArtifactRecord {
  const artifact = rt.store.state.artifacts.get(id);
  if (!artifact || !canReadArtifact(artifact, caller)) {
    throw artifactNotFound(id, reason);
  }
  return artifact;
}

export function readableChat(rt: MockRuntime, id: string, caller: Identity, reason: NotFoundReason = "generic"): ChatRecord {
  const chat = rt.store.state.chats.get(id);
  if (!chat || !canReadChat(chat, caller)) {
    throw chatNotFound(id, reason);
  }
  return chat;
}

export function writableChat(rt: MockRuntime, id: string, caller: Identity): ChatRecord {
  const chat = rt.store.state.chats.get(id);
  if (!chat || !canWriteChat(chat, caller)) {
    throw chatNotFound(id, "generic");
  }
  return chat;
}

/** Owner-only changes: a user who can see the chat gets PERMISSION_DENIED, one who cannot gets NOT_FOUND. */
function ownedChat(rt: MockRuntime, id: string, caller: Identity): ChatRecord {
  const chat = readableChat(rt, id, caller);
  if (chat.owner !== caller.userId) {
    throw rpcError(Code.PermissionDenied, "NOT_CHAT_OWNER", "only the chat's owner may do this");
  }
  return chat;
}

function checkVisibility(checks: Checks, visibility: ChatVisibility, allowUnspecified = true): void {
  if (!VISIBILITIES.has(visibility) || (!allowUnspecified && visibility === ChatVisibility.UNSPECIFIED)) {
    checks.add("visibility", "must be PRIVATE, TEAM or PUBLIC");
  }
}

function cut(text: string, limit: number): string {
  return [...text].slice(0, limit).join("");
}

export function chatCommands(rt: MockRuntime): ServiceImpl<typeof ChatCommandService> {
  const idempotent = rt.idempotency;
  return {
    ensureChatForArtifactAndSendMessage(request, context: HandlerContext) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().uuid("artifact_id", request.artifactId).uuid("threads_id", request.threadsId, false);
      checks.message("message", request.message).idempotencyKey(request.idempotencyKey, true);
      if (request.message?.artifactId && request.message.artifactId !== request.artifactId) {
        checks.add("message.artifact_id", "must equal artifact_id");
      }
      checkVisibility(checks, request.visibility);
      checks.throwIfAny();
      const schema = EnsureChatForArtifactAndSendMessageRequestSchema;
      return idempotent.run(context, caller, schema, request, request.idempotencyKey, () => {
        const artifact = readableArtifact(rt, request.artifactId, caller);
        const existing = request.threadsId ? writableChat(rt, request.threadsId, caller) : undefined;
        const chat =
          existing ??
          rt.store.createChat(caller, {
            title: cut(`Discussion about ${currentVersion(artifact).title}`, LIMITS.title),
            visibility: request.visibility,
            labels: {},
            description: "",
            tags: [],
            agentId: rt.agentFor(artifact.kind),
          });
        rt.store.link(caller, chat, artifact, RelationType.REFERENCED);
        const input = request.message ?? create(ChatMessageInputSchema);
        const message = rt.store.appendMessage(caller, chat, input, request.idempotencyKey, artifact.id);
        return { threadsId: chat.id, persistedMessage: message, threadsCreated: !existing, consistencyToken: rt.consistencyToken() };
      });
    },

    createChat(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().title("title", request.title, false).uuid("artifact_id", request.artifactId, false);
      checkVisibility(checks, request.visibility);
      if (Object.keys(request.metadata?.labels ?? {}).length > LIMITS.labels) {
        checks.add("metadata.labels", `at most ${LIMITS.labels} labels`);
      }
      checks.idempotencyKey(request.idempotencyKey, false).throwIfAny();
      return idempotent.run(context, caller, CreateChatRequestSchema, request, request.idempotencyKey, () => {
        const artifact = request.artifactId ? readableArtifact(rt, request.artifactId, caller) : undefined;
        const chat = rt.store.createChat(caller, {
          title: request.title,
          visibility: request.visibility,
          labels: { ...request.metadata?.labels },
          description: request.metadata?.description ?? "",
          tags: [...(request.metadata?.tags ?? [])],
          agentId: request.agentId || (artifact ? rt.agentFor(artifact.kind) : rt.defaultAgent),
        });
        if (artifact) {
          rt.store.link(caller, chat, artifact, RelationType.CREATED);
        }
        return { threads: chatView(chat), consistencyToken: rt.consistencyToken() };
      });
    },

    sendMessage(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).message("message", request.message).idempotencyKey(request.idempotencyKey, false).throwIfAny();
      return idempotent.run(context, caller, SendMessageRequestSchema, request, request.idempotencyKey, () => {
        const chat = writableChat(rt, request.threadsId, caller);
        const input = request.message ?? create(ChatMessageInputSchema);
        const message = rt.store.appendMessage(caller, chat, input, request.idempotencyKey);
        return { message, consistencyToken: rt.consistencyToken() };
      });
    },

    updateChatTitle(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).title("title", request.title, true).throwIfAny();
      const chat = ownedChat(rt, request.threadsId, caller);
      if (chat.title !== request.title) {
        rt.store.changeChat(chat, "title", () => {
          chat.title = request.title;
        });
      }
      return { threads: chatView(chat), consistencyToken: rt.consistencyToken() };
    },

    updateVisibility(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().uuid("threads_id", request.threadsId);
      checkVisibility(checks, request.visibility, false);
      checks.throwIfAny();
      const chat = ownedChat(rt, request.threadsId, caller);
      if (chat.visibility !== request.visibility) {
        rt.store.changeChat(chat, "visibility", () => {
          chat.visibility = request.visibility;
        });
      }
      return { threads: chatView(chat), consistencyToken: rt.consistencyToken() };
    },

    deleteChat(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("threads_id", request.threadsId).throwIfAny();
      rt.store.deleteChat(ownedChat(rt, request.threadsId, caller));
      return { success: true, consistencyToken: rt.consistencyToken() };
    },

    associateArtifact(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().uuid("threads_id", request.threadsId).uuid("artifact_id", request.artifactId);
      if (!RELATIONS.has(request.relationType)) {
        checks.add("relation_type", "unknown relation type");
      }
      checks.throwIfAny();
      const chat = writableChat(rt, request.threadsId, caller);
      const artifact = readableArtifact(rt, request.artifactId, caller);
      const link = rt.store.link(caller, chat, artifact, relationOrDefault(request.relationType));
      return { relation: relationView(link), consistencyToken: rt.consistencyToken() };
    },
  };
}
