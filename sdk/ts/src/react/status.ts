// What the UI shows: a status per live resource, and errors sorted into the few states a page can render.
import { Code, ConnectError } from "@connectrpc/connect";

import { errorReason } from "../error-details.js";
import { AmeideArgumentError } from "../errors.js";

/**
 * The state of a live resource (useChat, useArtifact):
 * - `idle`: no id given (nothing to show);
 * - `loading`: the first load is under way;
 * - `connecting`: loaded, the live stream is opening;
 * - `live`: loaded and following live updates;
 * - `reconnecting`: loaded, the stream was lost; retrying with backoff (missed updates arrive once back);
 * - `unavailable`: the load failed transiently (backend down, network); retrying with backoff;
 * - `not-found`: unknown, deleted, another tenant's, not readable by the caller, or a malformed id;
 * - `signed-out`: no token, or the token was refused (expired, invalid);
 * - `error`: any other failure (see `error`); `retry()` tries again.
 */
export type FeedStatus = "idle" | "loading" | "connecting" | "live" | "reconnecting" | "unavailable" | "not-found" | "signed-out" | "error";

/** The status of a list (useChats, useArtifacts, useChatSearch). */
export type ListStatus = "idle" | "loading" | "ready" | "unavailable" | "not-found" | "signed-out" | "error";

export type AmeideErrorKind = "not-found" | "signed-out" | "unavailable" | "invalid" | "forbidden" | "conflict" | "failed";

/**
 * An error sorted for the UI. `kind`:
 * - `not-found`, `signed-out`: as the statuses;
 * - `unavailable`: transient (UNAVAILABLE, network failures, timeouts, a lost stream): retried automatically;
 * - `invalid`: the request was refused (INVALID_ARGUMENT, e.g. a malformed id or a message over the limits);
 * - `forbidden`: PERMISSION_DENIED (e.g. renaming another user's chat);
 * - `conflict`: FAILED_PRECONDITION / ABORTED that a retry will not fix (IDEMPOTENCY_KEY_REUSED, VERSION_MISMATCH);
 * - `failed`: anything else.
 */
export class AmeideError extends Error {
  override name = "AmeideError";

  constructor(
    readonly kind: AmeideErrorKind,
    readonly code: Code,
    /** The services' ErrorInfo reason, when the error carries one (e.g. TOKEN_EXPIRED, CHAT_NOT_FOUND). */
    readonly reason: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const TRANSIENT = new Set([Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Canceled]);

function kindOf(error: ConnectError, reason: string | undefined): AmeideErrorKind {
  switch (error.code) {
    case Code.NotFound:
      return "not-found";
    case Code.Unauthenticated:
      return "signed-out";
    case Code.PermissionDenied:
      return "forbidden";
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return "invalid";
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
      return "conflict";
    case Code.Aborted:
      // A write conflict the services gave up on is worth retrying with the same key; a version mismatch is not.
      return reason === "VERSION_MISMATCH" ? "conflict" : "unavailable";
    default:
      // Network failures surface as UNKNOWN (fetch TypeError) or INTERNAL (a gRPC-Web body cut mid-stream).
      return TRANSIENT.has(error.code) ? "unavailable" : "failed";
  }
}

/** Any error of a call, sorted for the UI (an AmeideError is returned as is). */
export function toAmeideError(error: unknown): AmeideError {
  if (error instanceof AmeideError) {
    return error;
  }
  if (error instanceof AmeideArgumentError) {
    return new AmeideError("invalid", Code.InvalidArgument, undefined, error.message, { cause: error });
  }
  const connectError = ConnectError.from(error);
  const reason = errorReason(connectError);
  return new AmeideError(kindOf(connectError, reason), connectError.code, reason, connectError.rawMessage, { cause: error });
}

/** The state a failure leaves something in that shows nothing yet (a list, a resource before its first load). */
export function failureStatus(error: AmeideError): "unavailable" | "not-found" | "signed-out" | "error" {
  switch (error.kind) {
    case "unavailable":
      return "unavailable";
    case "not-found":
    case "invalid":
      return "not-found";
    case "signed-out":
      return "signed-out";
    default:
      return "error";
  }
}

/** The status a load or stream failure leaves a live resource in (`hasData`: something is shown already). */
export function statusAfter(error: AmeideError, hasData: boolean): FeedStatus {
  return hasData && error.kind === "unavailable" ? "reconnecting" : failureStatus(error);
}
