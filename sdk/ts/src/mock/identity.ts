// Callers of the mock: tokens it issued stand for a user of a tenant, as a JWT does for the services.
import { base64Encode } from "@bufbuild/protobuf/wire";
import { type HandlerContext, createContextKey } from "@connectrpc/connect";

import { unauthenticated } from "./errors.js";
import type { Identity } from "./state.js";

export interface MockUser extends Identity {
  /** Bearer token standing for this user (JWT-shaped: `sub` and `tenant_id` claims, unsigned). */
  token: string;
}

export const CALLER = createContextKey<Identity | undefined>(undefined, { description: "the authenticated caller" });

function jwtPart(value: unknown): string {
  return base64Encode(new TextEncoder().encode(JSON.stringify(value)), "url");
}

export class Identities {
  private readonly byToken = new Map<string, Identity>();
  private readonly expired = new Set<string>();

  issue(identity: Identity): MockUser {
    const claims = { sub: identity.userId, tenant_id: identity.tenantId, jti: crypto.randomUUID() };
    const token = `${jwtPart({ alg: "none", typ: "JWT" })}.${jwtPart(claims)}.mock`;
    this.byToken.set(token, identity);
    return { ...identity, token };
  }

  /** From now on the token is refused as expired (UNAUTHENTICATED, TOKEN_EXPIRED). */
  expire(token: string): void {
    this.expired.add(token);
  }

  /** The caller of a request, from `authorization: Bearer <token>`; throws UNAUTHENTICATED as the services do. */
  authenticate(header: Headers): Identity {
    const value = header.get("authorization");
    if (!value) {
      throw unauthenticated("NO_CREDENTIALS", "missing bearer token");
    }
    const match = /^Bearer\s+(.+)$/i.exec(value);
    if (!match?.[1]) {
      throw unauthenticated("INVALID_CREDENTIALS", "authorization must be 'Bearer <token>'");
    }
    const identity = this.byToken.get(match[1]);
    if (!identity) {
      throw unauthenticated("INVALID_TOKEN", "invalid bearer token");
    }
    if (this.expired.has(match[1])) {
      throw unauthenticated("TOKEN_EXPIRED", "token expired");
    }
    return identity;
  }
}

/** The caller the auth interceptor put on the call. */
export function callerOf(context: HandlerContext): Identity {
  const caller = context.values.get(CALLER);
  if (!caller) {
    throw new Error("mock handler called without the auth interceptor");
  }
  return caller;
}
