// ArtifactCommandService in memory (docs/api/artifact-commands.md).
import { Code, type ServiceImpl } from "@connectrpc/connect";

import { ArtifactCommandService, CreateArtifactRequestSchema } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { RelationType } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { chatReference } from "./views.js";
import { readableArtifact, writableChat } from "./chat-commands.js";
import { rpcError } from "./errors.js";
import { callerOf } from "./identity.js";
import type { MockRuntime } from "./runtime.js";
import { type ArtifactRecord, type Identity, currentVersion, relationOrDefault } from "./state.js";
import { Checks, LIMITS, checkIdentity } from "./validate.js";

const KIND_LIMIT = 128;

function checkExpectedVersion(checks: Checks, expected: bigint | undefined): void {
  if (expected !== undefined && expected < 1n) {
    checks.add("expected_version", "must be at least 1");
  }
}

function requireVersion(artifact: ArtifactRecord, expected: bigint | undefined): void {
  if (expected !== undefined && expected !== BigInt(artifact.versions.length)) {
    throw rpcError(Code.Aborted, "VERSION_MISMATCH", `artifact is at version ${artifact.versions.length}, not ${expected}`);
  }
}

function ownedArtifact(rt: MockRuntime, id: string, caller: Identity): ArtifactRecord {
  const artifact = readableArtifact(rt, id, caller);
  if (artifact.owner !== caller.userId) {
    throw rpcError(Code.PermissionDenied, "NOT_ARTIFACT_OWNER", "only the artifact's owner may do this");
  }
  return artifact;
}

export function artifactCommands(rt: MockRuntime): ServiceImpl<typeof ArtifactCommandService> {
  return {
    createArtifact(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const primary = request.primaryThreadsId || request.metadata["primaryChatId"] || "";
      const checks = new Checks().title("title", request.title, true).uuid("primary_threads_id", primary, false);
      if (request.kind.trim() === "" || request.kind.length > KIND_LIMIT) {
        checks.add("kind", `is required, at most ${KIND_LIMIT} characters`);
      }
      if (request.primaryThreadsId && request.metadata["primaryChatId"] && request.primaryThreadsId !== request.metadata["primaryChatId"]) {
        checks.add("primary_threads_id", "differs from metadata.primaryChatId");
      }
      if (Object.keys(request.metadata).length > LIMITS.labels) {
        checks.add("metadata", `at most ${LIMITS.labels} labels`);
      }
      if ((request.content?.body.length ?? 0) > LIMITS.artifactBody) {
        checks.add("content.body", `must be at most ${LIMITS.artifactBody} bytes`);
      }
      checks.idempotencyKey(request.idempotencyKey, false).throwIfAny();
      return rt.idempotency.run(context, caller, CreateArtifactRequestSchema, request, request.idempotencyKey, () => {
        const chat = primary ? writableChat(rt, primary, caller) : undefined;
        const first = {
          title: request.title,
          labels: { ...request.metadata },
          mimeType: request.content?.mimeType ?? "",
          body: request.content?.body ?? new Uint8Array(),
        };
        const artifact = rt.store.createArtifact(caller, request.kind, first, primary);
        if (chat) {
          rt.store.link(caller, chat, artifact, RelationType.CREATED);
        }
        return { artifactId: artifact.id, version: 1n, consistencyToken: rt.consistencyToken() };
      });
    },

    associateChat(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).uuid("threads_id", request.threadsId).throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller);
      const chat = writableChat(rt, request.threadsId, caller);
      const link = rt.store.link(caller, chat, artifact, relationOrDefault(request.relationType));
      return { threadsReference: chatReference(link, chat.title), consistencyToken: rt.consistencyToken() };
    },

    dissociateChat(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).uuid("threads_id", request.threadsId).throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller);
      const chat = rt.store.state.chats.get(request.threadsId);
      if (!chat || !artifact.links.has(chat.id)) {
        throw rpcError(Code.NotFound, "LINK_NOT_FOUND", "the chat is not linked to the artifact");
      }
      rt.store.unlink(caller, chat, artifact);
      return { success: true, consistencyToken: rt.consistencyToken() };
    },

    updateArtifactContent(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks().uuid("artifact_id", request.artifactId).uuid("threads_id", request.threadsId, false);
      if (!request.content) {
        checks.add("content", "is required");
      } else if (request.content.body.length > LIMITS.artifactBody) {
        checks.add("content.body", `must be at most ${LIMITS.artifactBody} bytes`);
      }
      checkExpectedVersion(checks, request.expectedVersion);
      checks.throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller);
      const chat = request.threadsId ? writableChat(rt, request.threadsId, caller) : undefined;
      requireVersion(artifact, request.expectedVersion);
      const now = currentVersion(artifact);
      const content = request.content ?? { mimeType: "", body: new Uint8Array() };
      rt.store.addVersion(caller, artifact, { ...now, mimeType: content.mimeType, body: content.body }, "content", chat?.id);
      if (chat) {
        rt.store.link(caller, chat, artifact, RelationType.MODIFIED);
      }
      return { artifactId: artifact.id, version: BigInt(artifact.versions.length), consistencyToken: rt.consistencyToken() };
    },

    updateArtifactMetadata(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const paths = request.updateMask?.paths ?? [];
      const checks = new Checks().uuid("artifact_id", request.artifactId);
      if (!request.metadata) {
        checks.add("metadata", "is required");
      }
      for (const path of paths.filter((p) => p !== "title" && p !== "labels")) {
        checks.add("update_mask", `unknown path ${path}`);
      }
      const both = paths.length === 0;
      if (request.metadata && (both || paths.includes("title"))) {
        checks.title("metadata.title", request.metadata.title, true);
      }
      checkExpectedVersion(checks, request.expectedVersion);
      checks.throwIfAny();
      const artifact = readableArtifact(rt, request.artifactId, caller);
      requireVersion(artifact, request.expectedVersion);
      const now = currentVersion(artifact);
      const next = {
        ...now,
        title: both || paths.includes("title") ? (request.metadata?.title ?? now.title) : now.title,
        labels: both || paths.includes("labels") ? { ...request.metadata?.labels } : now.labels,
      };
      if (next.title !== now.title || JSON.stringify(next.labels) !== JSON.stringify(now.labels)) {
        rt.store.addVersion(caller, artifact, next, "metadata");
      }
      return { artifactId: artifact.id, version: BigInt(artifact.versions.length), consistencyToken: rt.consistencyToken() };
    },

    deleteArtifact(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      new Checks().uuid("artifact_id", request.artifactId).throwIfAny();
      rt.store.deleteArtifact(caller, ownedArtifact(rt, request.artifactId, caller));
      return { success: true, consistencyToken: rt.consistencyToken() };
    },
  };
}
