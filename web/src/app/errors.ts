// Errors of actions (send, rename, create...) in the user's terms, with the services' field violations when a
// request was refused as INVALID_ARGUMENT.
import { type FieldViolation, fieldViolations } from "@ameide/sdk";
import type { AmeideError } from "@ameide/sdk/react";

export interface Explained {
  message: string;
  violations: FieldViolation[];
}

/** What went wrong with `action` (e.g. "send the message"), for an alert next to the control that failed. */
export function explain(error: AmeideError, action: string): Explained {
  const violations = error.kind === "invalid" ? fieldViolations(error.cause ?? error) : [];
  switch (error.kind) {
    case "invalid":
      return { message: `Could not ${action}: the request was refused.${violations.length ? "" : ` ${error.message}`}`, violations };
    case "unavailable":
      return { message: `Could not ${action}: the service cannot be reached. Nothing was lost; try again.`, violations };
    case "signed-out":
      return { message: `Could not ${action}: you are signed out.`, violations };
    case "forbidden":
      return { message: `Could not ${action}: you are not allowed to.`, violations };
    case "not-found":
      return { message: `Could not ${action}: it no longer exists.`, violations };
    case "conflict":
      return { message: `Could not ${action}: ${error.message}`, violations };
    default:
      return { message: `Could not ${action}: ${error.message}`, violations };
  }
}
