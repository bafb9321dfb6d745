// DraftService in memory (docs/api/live.md): an agent's draft assistant message, started, grown by numbered deltas
// (each applied once), then completed into one assistant message of the chat (the draft id is its idempotency key:
// completing again answers the same message) or abandoned. Only the caller who started a draft may touch it.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";

import {
  type CompleteDraftResponse,
  CompleteDraftResponseSchema,
  DraftService,
  type StreamDraftResponse,
  StreamDraftResponseSchema,
} from "../gen/ameide_core_proto/live/v1/live_service_pb.js";
import { DraftAbandoned_Reason } from "../gen/ameide_core_proto/live/v1/live_types_pb.js";
import { ChatMessageInputSchema } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { writableChat } from "./chat-commands.js";
import { chatNotFound, rpcError } from "./errors.js";
import { callerOf } from "./identity.js";
import type { DraftRecord } from "./live-state.js";
import type { MockRuntime } from "./runtime.js";
import { type Identity, canWriteChat } from "./state.js";
import { Checks, LIMITS, checkIdentity } from "./validate.js";

/** The longest draft that always fits one message with the default limits (the services compute the same). */
export const MAX_DRAFT_BYTES = 1_048_335;
const MAX_AGENT_CHARS = 128;
const MAX_REASON_CHARS = 256;

const encoder = new TextEncoder();

function notFound(draftId: string) {
  return rpcError(Code.NotFound, "DRAFT_NOT_FOUND", `draft ${draftId} not found`);
}

function ended(draftId: string) {
  return rpcError(Code.FailedPrecondition, "DRAFT_ENDED", `draft ${draftId} has already ended`);
}

function invalid(field: string, description: string) {
  return new Checks().add(field, description);
}

function checkText(checks: Checks, field: string, value: string, limit: number, required = false): void {
  if (required && value === "") {
    checks.add(field, "is required");
  } else if ([...value].length > limit) {
    checks.add(field, `at most ${limit} characters`);
  }
}

/** The text cut into parts of at most `limit` UTF-8 bytes, never inside a character. */
function textParts(text: string, limit: number): string[] {
  const parts: string[] = [];
  let part = "";
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > limit) {
      parts.push(part);
      [part, bytes] = ["", 0];
    }
    part += char;
    bytes += size;
  }
  return part ? [...parts, part] : parts;
}

export function draftService(rt: MockRuntime): ServiceImpl<typeof DraftService> {
  const live = rt.live;

  /** The caller's own draft (anyone else's, or an unknown one, is NOT_FOUND). */
  function ownDraft(draftId: string, caller: Identity): DraftRecord {
    const draft = live.drafts.get(draftId);
    if (!draft || draft.tenantId !== caller.tenantId || draft.userId !== caller.userId) {
      throw notFound(draftId);
    }
    return draft;
  }

  function draftIdOf(checks: Checks, value: string, field = "draft_id"): string {
    checks.uuid(field, value);
    return value.toLowerCase();
  }

  function start(request: { draftId: string; threadsId: string; agentId: string; tenantId: string; consistencyToken: string }, caller: Identity) {
    checkIdentity(request, caller);
    const checks = new Checks();
    const draftId = draftIdOf(checks, request.draftId);
    checks.uuid("threads_id", request.threadsId);
    checkText(checks, "agent_id", request.agentId, MAX_AGENT_CHARS, true);
    checks.throwIfAny();
    rt.checkConsistency(request.consistencyToken);
    const chat = rt.store.state.chats.get(request.threadsId);
    if (!chat || !canWriteChat(chat, caller)) {
      throw chatNotFound(request.threadsId); // as GetChat words it (the command side's own NOT_FOUND is generic)
    }
    const existing = live.drafts.get(draftId);
    if (existing) {
      const same = existing.threadsId === chat.id && existing.tenantId === caller.tenantId && existing.userId === caller.userId && existing.agentId === request.agentId;
      if (!same) {
        throw rpcError(Code.FailedPrecondition, "DRAFT_ID_REUSED", `draft ${draftId} belongs to another chat, agent or caller`);
      }
      if (existing.status !== "active") {
        throw ended(draftId);
      }
      live.touchDraft(existing);
      return { seq: BigInt(existing.seq), expiresAt: timestampFromMs(existing.deadline) };
    }
    const opened = live.startDraft({
      id: draftId,
      threadsId: request.threadsId,
      feed: `thread:${request.threadsId}`,
      tenantId: caller.tenantId,
      userId: caller.userId,
      agentId: request.agentId,
    });
    return { seq: 0n, expiresAt: timestampFromMs(opened.deadline) };
  }

  function append(draftId: string, seq: bigint, text: string, caller: Identity, field: string): bigint {
    const checks = new Checks();
    if (seq < 0n) {
      checks.add("seq", "must not be negative");
    }
    if (text === "") {
      checks.add(field, "is required");
    }
    checks.throwIfAny();
    const draft = ownDraft(draftId, caller);
    if (draft.status !== "active") {
      throw ended(draftId);
    }
    const next = seq === 0n ? draft.seq + 1 : Number(seq);
    if (next <= draft.seq) {
      return BigInt(draft.seq); // already applied: a retry
    }
    if (next > draft.seq + 1) {
      throw rpcError(Code.FailedPrecondition, "DRAFT_SEQUENCE_GAP", `delta ${next} of draft ${draftId} does not follow ${draft.seq}: send ${draft.seq + 1} next`, [], {
        last_seq: String(draft.seq),
      });
    }
    if (encoder.encode(draft.text).length + encoder.encode(text).length > MAX_DRAFT_BYTES) {
      throw rpcError(Code.InvalidArgument, "DRAFT_TOO_LARGE", "the draft would exceed the largest message", [
        { field, description: `the draft would exceed ${MAX_DRAFT_BYTES} bytes, the most one message holds` },
      ]);
    }
    live.appendDraft(draft, text);
    return BigInt(draft.seq);
  }

  function complete(draftId: string, artifactId: string, caller: Identity): CompleteDraftResponse {
    const draft = ownDraft(draftId, caller);
    if (draft.status === "completed" && draft.answer) {
      return draft.answer;
    }
    if (draft.status !== "active") {
      throw ended(draftId);
    }
    if (draft.text === "") {
      throw rpcError(Code.FailedPrecondition, "DRAFT_EMPTY", `draft ${draftId} has no text to send`);
    }
    // The command side's refusal comes back as is; the draft stays open (a deleted chat: NOT_FOUND).
    const chat = writableChat(rt, draft.threadsId, caller);
    const parts = textParts(draft.text, LIMITS.textPart).map((text) => ({ kind: { case: "text" as const, value: { text } } }));
    const input = create(ChatMessageInputSchema, { role: "assistant", parts, artifactId });
    const message = rt.store.appendMessage(caller, chat, input, draftId);
    const answer = create(CompleteDraftResponseSchema, {
      messageId: message.id,
      messageSequence: message.sequence,
      createdAt: message.createdAt,
      consistencyToken: rt.consistencyToken(),
    });
    live.completeDraft(draft, answer);
    return answer;
  }

  function abandon(draftId: string, reason: string, caller: Identity, field: string): void {
    const checks = new Checks();
    checkText(checks, field, reason, MAX_REASON_CHARS);
    checks.throwIfAny();
    const draft = ownDraft(draftId, caller);
    if (draft.status === "abandoned") {
      return;
    }
    if (draft.status !== "active") {
      throw ended(draftId);
    }
    live.abandonDraft(draft, DraftAbandoned_Reason.ABANDONED, reason);
  }

  return {
    startDraft(request, context) {
      return start(request, callerOf(context));
    },

    appendDraft(request, context) {
      const checks = new Checks();
      const draftId = draftIdOf(checks, request.draftId);
      checks.throwIfAny();
      return { seq: append(draftId, request.seq, request.text, callerOf(context), "text") };
    },

    completeDraft(request, context) {
      const checks = new Checks();
      const draftId = draftIdOf(checks, request.draftId);
      checks.uuid("artifact_id", request.artifactId, false).throwIfAny();
      return complete(draftId, request.artifactId, callerOf(context));
    },

    abandonDraft(request, context) {
      const checks = new Checks();
      const draftId = draftIdOf(checks, request.draftId);
      checks.throwIfAny();
      abandon(draftId, request.reason, callerOf(context), "reason");
      return {};
    },

    async streamDraft(requests, context) {
      const caller = callerOf(context);
      let draftId = "";
      let seq = 0n;
      const response: StreamDraftResponse = create(StreamDraftResponseSchema);
      for await (const request of requests) {
        const step = request.step;
        if (response.completed || response.abandoned) {
          invalid("step", "nothing may follow complete or abandon").throwIfAny();
        }
        if (step.case === "start") {
          if (draftId) {
            invalid("start", "a stream starts one draft").throwIfAny();
          }
          seq = start(step.value, caller).seq;
          draftId = step.value.draftId.toLowerCase();
        } else if (!draftId) {
          invalid("start", "the first message must be start").throwIfAny();
        } else if (step.case === "delta") {
          seq = append(draftId, step.value.seq, step.value.text, caller, "delta.text");
        } else if (step.case === "complete") {
          sameDraft(step.value.draftId, draftId, "complete.draft_id");
          response.completed = complete(draftId, step.value.artifactId, caller);
        } else if (step.case === "abandon") {
          sameDraft(step.value.draftId, draftId, "abandon.draft_id");
          abandon(draftId, step.value.reason, caller, "abandon.reason");
          response.abandoned = true;
        } else {
          invalid("step", "start, delta, complete or abandon is required").throwIfAny();
        }
      }
      response.seq = seq;
      return response;
    },
  };
}

function sameDraft(given: string, draftId: string, field: string): void {
  if (given && given.toLowerCase() !== draftId) {
    invalid(field, "must be empty or the stream's draft").throwIfAny();
  }
}
