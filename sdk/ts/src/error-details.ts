// google.rpc error details (ErrorInfo, BadRequest) read and written without their schemas: the services put an
// ErrorInfo {reason, domain} on every error, so clients branch on the reason, not on message text.
import { ConnectError } from "@connectrpc/connect";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** The ErrorInfo domain of the services' errors. */
export const ERROR_DOMAIN = "ameide.threads";

const ERROR_INFO = "google.rpc.ErrorInfo";
const BAD_REQUEST = "google.rpc.BadRequest";

export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface FieldViolation {
  field: string;
  description: string;
}

/** The ErrorInfo of an error from the services, or undefined when it carries none. */
export function errorInfo(error: unknown): ErrorInfo | undefined {
  for (const detail of ConnectError.from(error).details) {
    if ("type" in detail && detail.type === ERROR_INFO && detail.value instanceof Uint8Array) {
      return decodeErrorInfo(detail.value);
    }
  }
  return undefined;
}

/** The ErrorInfo reason of an error (e.g. `IDEMPOTENCY_KEY_REUSED`, `RESUME_TOKEN_EXPIRED`), or undefined. */
export function errorReason(error: unknown): string | undefined {
  return errorInfo(error)?.reason;
}

/** The BadRequest field violations of an INVALID_ARGUMENT error (empty when it has none). */
export function fieldViolations(error: unknown): FieldViolation[] {
  const found: FieldViolation[] = [];
  for (const detail of ConnectError.from(error).details) {
    if ("type" in detail && detail.type === BAD_REQUEST && detail.value instanceof Uint8Array) {
      found.push(...decodeBadRequest(detail.value));
    }
  }
  return found;
}

/** The two details the services attach, as ConnectError details (for servers and fakes written in TypeScript). */
export function errorDetails(
  reason: string,
  violations: FieldViolation[] = [],
  metadata: Record<string, string> = {},
): { type: string; value: Uint8Array }[] {
  const info = new BinaryWriter().tag(1, WireType.LengthDelimited).string(reason);
  info.tag(2, WireType.LengthDelimited).string(ERROR_DOMAIN);
  for (const [key, value] of Object.entries(metadata)) {
    info.tag(3, WireType.LengthDelimited).fork();
    info.tag(1, WireType.LengthDelimited).string(key);
    info.tag(2, WireType.LengthDelimited).string(value);
    info.join();
  }
  const details = [{ type: ERROR_INFO, value: info.finish() }];
  if (violations.length > 0) {
    const request = new BinaryWriter();
    for (const violation of violations) {
      request.tag(1, WireType.LengthDelimited).fork();
      request.tag(1, WireType.LengthDelimited).string(violation.field);
      request.tag(2, WireType.LengthDelimited).string(violation.description);
      request.join();
    }
    details.push({ type: BAD_REQUEST, value: request.finish() });
  }
  return details;
}

function decodeErrorInfo(bytes: Uint8Array): ErrorInfo {
  const info: ErrorInfo = { reason: "", domain: "", metadata: {} };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) {
      info.reason = reader.string();
    } else if (field === 2 && wireType === WireType.LengthDelimited) {
      info.domain = reader.string();
    } else if (field === 3 && wireType === WireType.LengthDelimited) {
      const [key, value] = decodeMapEntry(reader.bytes());
      info.metadata[key] = value;
    } else {
      reader.skip(wireType);
    }
  }
  return info;
}

function decodeMapEntry(bytes: Uint8Array): [string, string] {
  const reader = new BinaryReader(bytes);
  let key = "";
  let value = "";
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) {
      key = reader.string();
    } else if (field === 2 && wireType === WireType.LengthDelimited) {
      value = reader.string();
    } else {
      reader.skip(wireType);
    }
  }
  return [key, value];
}

function decodeBadRequest(bytes: Uint8Array): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 1 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType);
      continue;
    }
    const entry = new BinaryReader(reader.bytes());
    const violation: FieldViolation = { field: "", description: "" };
    while (entry.pos < entry.len) {
      const [inner, innerType] = entry.tag();
      if (inner === 1 && innerType === WireType.LengthDelimited) {
        violation.field = entry.string();
      } else if (inner === 2 && innerType === WireType.LengthDelimited) {
        violation.description = entry.string();
      } else {
        entry.skip(innerType);
      }
    }
    violations.push(violation);
  }
  return violations;
}
