// PresenceService in memory (docs/api/live.md): announce, leave and list who of the caller's tenant is on a chat or
// an artifact the caller may read.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";

import { PresenceService } from "../gen/ameide_core_proto/live/v1/live_service_pb.js";
import { PresenceState } from "../gen/ameide_core_proto/live/v1/live_types_pb.js";
import { readableArtifact, readableChat } from "./chat-commands.js";
import { callerOf } from "./identity.js";
import type { MockRuntime } from "./runtime.js";
import type { Identity } from "./state.js";
import { Checks, checkIdentity } from "./validate.js";

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
export const MAX_DISPLAY_NAME_CHARS = 64;

type Resource = { case: "threadsId" | "artifactId"; value: string } | { case: undefined; value?: undefined };

/** The feed of the resource a presence request names (its checks added to `checks`). */
function resourceFeed(resource: Resource, checks: Checks): string | undefined {
  if (resource.case === undefined) {
    checks.add("resource", "threads_id or artifact_id is required");
    return undefined;
  }
  const field = resource.case === "threadsId" ? "threads_id" : "artifact_id";
  const before = checks.count;
  checks.uuid(field, resource.value);
  if (checks.count > before) {
    return undefined;
  }
  return `${resource.case === "threadsId" ? "thread" : "artifact"}:${resource.value.toLowerCase()}`;
}

function checkClientId(checks: Checks, clientId: string): void {
  if (!CLIENT_ID.test(clientId)) {
    checks.add("client_id", "1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
  }
}

/** NOT_FOUND (CHAT_NOT_FOUND / ARTIFACT_NOT_FOUND) unless the caller may read the resource, as GetChat / GetArtifact. */
function requireReadable(rt: MockRuntime, resource: Resource, caller: Identity): void {
  if (resource.case === "threadsId") {
    readableChat(rt, resource.value, caller, "specific");
  } else if (resource.case === "artifactId") {
    readableArtifact(rt, resource.value, caller, "specific");
  }
}

export function presenceService(rt: MockRuntime): ServiceImpl<typeof PresenceService> {
  return {
    announcePresence(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks();
      checkClientId(checks, request.clientId);
      if (request.state !== PresenceState.VIEWING && request.state !== PresenceState.TYPING) {
        checks.add("state", "must be PRESENCE_STATE_VIEWING or PRESENCE_STATE_TYPING");
      }
      if ([...request.displayName].length > MAX_DISPLAY_NAME_CHARS) {
        checks.add("display_name", `at most ${MAX_DISPLAY_NAME_CHARS} characters`);
      }
      const feed = resourceFeed(request.resource, checks);
      checks.throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      requireReadable(rt, request.resource, caller);
      const expiresAt = rt.live.announce(feed ?? "", caller, request.clientId, request.state, request.displayName);
      return { renewAfterMs: Math.max(1, Math.floor(rt.live.ttls.viewingMs / 3)), expiresAt: timestampFromMs(expiresAt) };
    },

    leavePresence(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks();
      checkClientId(checks, request.clientId);
      const feed = resourceFeed(request.resource, checks);
      checks.throwIfAny();
      // No read check: leaving reveals nothing, and a caller who just lost access must still be able to go.
      rt.live.leave(feed ?? "", caller, request.clientId);
      return {};
    },

    listPresence(request, context) {
      const caller = callerOf(context);
      checkIdentity(request, caller);
      const checks = new Checks();
      const feed = resourceFeed(request.resource, checks);
      checks.throwIfAny();
      rt.checkConsistency(request.consistencyToken);
      requireReadable(rt, request.resource, caller);
      return { participants: rt.live.participants(feed ?? "", caller.tenantId) };
    },
  };
}
