import { Code, ConnectError } from "@connectrpc/connect";

/** An argument was rejected before anything was sent (the message names it). */
export class AmeideArgumentError extends TypeError {
  override name = "AmeideArgumentError";
}

/**
 * The stored checkpoint is older than the server keeps updates (FAILED_PRECONDITION, RESUME_TOKEN_EXPIRED):
 * reload the state (getChat/getMessages or getArtifact) and subscribe again with the checkpointToken it returns.
 */
export class ResumeExpiredError extends Error {
  override name = "ResumeExpiredError";
  constructor(readonly feed: string, options?: { cause?: unknown }) {
    super(`resume token for ${feed} has expired: reload the state and subscribe again`, options);
  }
}

/** Codes a call carrying an idempotency key may repeat with the same key. */
export const RETRYABLE_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.Aborted]);

/** Codes a stream survives by resuming from its last checkpoint (server gone or shutting down; slow subscriber cut). */
export const RESUMABLE_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.ResourceExhausted]);

/** True when the server refused a resume token as expired. */
export function isResumeExpired(error: ConnectError): boolean {
  if (error.code !== Code.FailedPrecondition) {
    return false;
  }
  return hasReason(error, "RESUME_TOKEN_EXPIRED") || /expired/i.test(error.rawMessage);
}

function hasReason(error: ConnectError, reason: string): boolean {
  // ErrorInfo arrives as a google.rpc detail; without its schema registered we look at the raw bytes' text.
  return error.details.some((detail) => {
    if (!("type" in detail) || detail.type !== "google.rpc.ErrorInfo" || !(detail.value instanceof Uint8Array)) {
      return false;
    }
    return new TextDecoder().decode(detail.value).includes(reason);
  });
}
