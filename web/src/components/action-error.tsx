// An action's failure (rename, visibility, create), shown next to its control.
import type { AmeideError } from "@ameide/sdk/react";

import { explain } from "../app/errors";
import { Violations } from "./violations";

export function ActionError({ error, action }: { error: AmeideError | undefined; action: string }) {
  if (!error) {
    return null;
  }
  const { message, violations } = explain(error, action);
  return (
    <div className="form-error" role="alert">
      {message}
      <Violations violations={violations} />
    </div>
  );
}
