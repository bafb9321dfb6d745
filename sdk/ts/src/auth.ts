import type { Interceptor } from "@connectrpc/connect";

/** A token, or a function returning the current one (called per request, so refreshed tokens are picked up). */
export type TokenSource = string | (() => string | Promise<string>);

/** Adds `authorization: Bearer <token>` to every request. */
export function bearerAuth(token: TokenSource): Interceptor {
  return (next) => async (req) => {
    const value = typeof token === "string" ? token : await token();
    req.header.set("authorization", `Bearer ${value}`);
    return next(req);
  };
}

/** Names the caller with x-user-id / x-tenant-id, for a server running with AMEIDE_AUTH=insecure-headers (dev only). */
export function devIdentity(userId: string, tenantId: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("x-user-id", userId);
    req.header.set("x-tenant-id", tenantId);
    return next(req);
  };
}
