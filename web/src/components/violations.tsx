// The field violations of an INVALID_ARGUMENT answer, as the services worded them.
import type { FieldViolation } from "@ameide/sdk";

export function Violations({ violations }: { violations: FieldViolation[] }) {
  if (violations.length === 0) {
    return null;
  }
  return (
    <ul className="violations" data-testid="field-violations">
      {violations.map((violation, index) => (
        <li key={index}>
          <code>{violation.field}</code>: {violation.description}
        </li>
      ))}
    </ul>
  );
}
