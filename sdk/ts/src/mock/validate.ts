// Request checks in the services' order and wording where clients rely on them: UUID ids, identity fields,
// message and title limits (design.md section 5), each an INVALID_ARGUMENT with BadRequest field violations.
import { Code } from "@connectrpc/connect";
import { toBinary } from "@bufbuild/protobuf";

import { type ChatMessageInput, ChatMessageInputSchema } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import type { FieldViolation } from "../error-details.js";
import { invalidArgument, rpcError } from "./errors.js";
import type { Identity } from "./state.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const LIMITS = {
  title: 256,
  parts: 64,
  textPart: 64 * 1024,
  message: 1024 * 1024,
  labels: 64,
  artifactBody: 4 * 1024 * 1024,
  idempotencyKey: 128,
};

/** Collects the violations of one request, then throws them together (as the services list every field). */
export class Checks {
  private readonly violations: FieldViolation[] = [];

  /** How many violations were found so far. */
  get count(): number {
    return this.violations.length;
  }

  add(field: string, description: string): this {
    this.violations.push({ field, description });
    return this;
  }

  uuid(field: string, value: string, required = true): this {
    if (value === "" ? required : !UUID.test(value)) {
      this.add(field, value === "" ? "is required" : "must be a UUID");
    }
    return this;
  }

  title(field: string, value: string, required: boolean): this {
    if (required && value.trim() === "") {
      this.add(field, "is required");
    } else if ([...value].length > LIMITS.title) {
      this.add(field, `must be at most ${LIMITS.title} characters`);
    }
    return this;
  }

  idempotencyKey(value: string, required: boolean): this {
    if (value === "") {
      if (required) {
        this.add("idempotency_key", "is required");
      }
    } else if (value.length > LIMITS.idempotencyKey || !/^[\x20-\x7e]+$/.test(value)) {
      this.add("idempotency_key", `must be at most ${LIMITS.idempotencyKey} printable characters`);
    }
    return this;
  }

  message(field: string, message: ChatMessageInput | undefined): this {
    if (!message) {
      return this.add(field, "is required");
    }
    if (!["user", "assistant", "system"].includes(message.role)) {
      this.add(`${field}.role`, "must be one of user, assistant, system");
    }
    if (message.parts.length === 0 && message.attachments.length === 0) {
      this.add(`${field}.parts`, "a message needs at least one part or attachment");
    }
    if (message.parts.length > LIMITS.parts) {
      this.add(`${field}.parts`, `at most ${LIMITS.parts} parts`);
    }
    message.parts.forEach((part, i) => {
      if (part.kind.case === "text" && new TextEncoder().encode(part.kind.value.text).length > LIMITS.textPart) {
        this.add(`${field}.parts[${i}].text.text`, `must be at most ${LIMITS.textPart} bytes`);
      }
    });
    if (toBinary(ChatMessageInputSchema, message).length > LIMITS.message) {
      this.add(field, `must be at most ${LIMITS.message} bytes`);
    }
    if (message.artifactId !== "" && !UUID.test(message.artifactId)) {
      this.add(`${field}.artifact_id`, "must be a UUID");
    }
    return this;
  }

  throwIfAny(): void {
    if (this.violations.length > 0) {
      throw invalidArgument(this.violations);
    }
  }
}

/** Request `user_id` / `tenant_id`, when set, must be the caller's (PERMISSION_DENIED otherwise). */
export function checkIdentity(request: { userId?: string; tenantId?: string }, caller: Identity): void {
  if (request.tenantId && request.tenantId !== caller.tenantId) {
    throw rpcError(Code.PermissionDenied, "TENANT_MISMATCH", "tenant_id differs from the caller's tenant");
  }
  if (request.userId && request.userId !== caller.userId) {
    throw rpcError(Code.PermissionDenied, "USER_MISMATCH", "user_id differs from the caller");
  }
}
