// Idempotency records: per caller (tenant + user) and key, bound to the RPC and the exact request. Same key and
// request -> the stored response again, with the replay trailers; same key, other request -> FAILED_PRECONDITION.
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { Code, type HandlerContext } from "@connectrpc/connect";

import { rpcError } from "./errors.js";
import type { Identity } from "./state.js";

interface Stored {
  fingerprint: string;
  response: unknown;
  expiresAt: Date;
}

export class IdempotencyRecords {
  private readonly records = new Map<string, Stored>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => Date,
  ) {}

  /**
   * Runs `write` once per key: a repeat returns what the first returned. Identity fields are left out of the
   * fingerprint, since the auth layer fills them.
   */
  run<D extends DescMessage, R>(
    context: HandlerContext,
    caller: Identity,
    schema: D,
    request: MessageShape<D>,
    key: string,
    write: () => R,
  ): R {
    if (!key) {
      return write();
    }
    const record = `${caller.tenantId}\0${caller.userId}\0${key}`;
    const unbound = { ...request, userId: "", tenantId: "" } as MessageShape<D>;
    const fingerprint = `${context.method.name}\0${base64Encode(toBinary(schema, unbound))}`;
    const stored = this.records.get(record);
    if (stored && stored.expiresAt.getTime() > this.now().getTime()) {
      if (stored.fingerprint !== fingerprint) {
        throw rpcError(Code.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED", "idempotency_key was used for a different request");
      }
      context.responseTrailer.set("idempotent-replayed", "true");
      context.responseTrailer.set("idempotency-expires-at", stored.expiresAt.toISOString());
      return stored.response as R;
    }
    const response = write();
    this.records.set(record, { fingerprint, response, expiresAt: new Date(this.now().getTime() + this.ttlMs) });
    return response;
  }
}
