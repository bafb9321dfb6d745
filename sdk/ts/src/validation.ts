import { AmeideArgumentError } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Returns `value` when it is a UUID string; throws AmeideArgumentError naming the argument otherwise. */
export function requireUuid(name: string, value: unknown): string {
  if (typeof value !== "string" || !UUID.test(value)) {
    throw new AmeideArgumentError(`${name} must be a UUID, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** Like requireUuid, but undefined/null/"" mean "not given" and return "". */
export function optionalUuid(name: string, value: unknown): string {
  if (value === undefined || value === null || value === "") {
    return "";
  }
  return requireUuid(name, value);
}

/** Returns `value` when it is a string with visible content. */
export function requireText(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new AmeideArgumentError(`${name} must be a string, got ${typeof value}`);
  }
  if (value.trim() === "") {
    throw new AmeideArgumentError(`${name} must not be empty`);
  }
  return value;
}
