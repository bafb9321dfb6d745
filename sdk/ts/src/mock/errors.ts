// The services' errors as the mock raises them: same codes, same ErrorInfo reasons (docs/api/README.md).
import { Code, ConnectError } from "@connectrpc/connect";

import { type FieldViolation, errorDetails } from "../error-details.js";

export function rpcError(code: Code, reason: string, message: string, violations: FieldViolation[] = [], metadata: Record<string, string> = {}): ConnectError {
  const error = new ConnectError(message, code);
  error.details.push(...errorDetails(reason, violations, metadata));
  return error;
}

export function invalidArgument(violations: FieldViolation[], reason = "INVALID_ARGUMENT"): ConnectError {
  const text = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return rpcError(Code.InvalidArgument, reason, text, violations);
}

export function invalidField(field: string, description: string, reason = "INVALID_ARGUMENT"): ConnectError {
  return invalidArgument([{ field, description }], reason);
}

/**
 * The reason a NOT_FOUND carries depends on where the services raise it: reads and streams name the resource
 * (CHAT_NOT_FOUND, ARTIFACT_NOT_FOUND), commands say NOT_FOUND.
 */
export type NotFoundReason = "specific" | "generic";

export function chatNotFound(threadsId: string, reason: NotFoundReason = "specific"): ConnectError {
  return rpcError(Code.NotFound, reason === "specific" ? "CHAT_NOT_FOUND" : "NOT_FOUND", `chat ${threadsId} not found`);
}

export function artifactNotFound(artifactId: string, reason: NotFoundReason = "specific"): ConnectError {
  return rpcError(Code.NotFound, reason === "specific" ? "ARTIFACT_NOT_FOUND" : "NOT_FOUND", `artifact ${artifactId} not found`);
}

export function unauthenticated(reason: string, message: string): ConnectError {
  return rpcError(Code.Unauthenticated, reason, message);
}

export function unavailable(reason = "STORE_UNAVAILABLE", message = "the service is unavailable; retry"): ConnectError {
  return rpcError(Code.Unavailable, reason, message);
}
