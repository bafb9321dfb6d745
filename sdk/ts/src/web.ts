// Browser entry (@ameide/sdk/web): the typed clients over gRPC-Web, which Envoy's grpc_web filter translates to
// the services' gRPC. Nothing here may import a Node module: test/unit/browser-bundle.test.ts bundles this entry
// for the browser and fails on any.
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { AmeideClient, type AmeideClientOptions } from "./client.js";

/** Where the app keeps the caller's bearer token (the host application writes it; `ameide dev` fills it). */
export const TOKEN_STORAGE_KEY = "ameide.token";

/** The current bearer token, or nothing when signed out (the call then goes out without credentials). */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

/** Reads the token from `localStorage[key]` on every call, so a token stored or refreshed later is picked up. */
export function localStorageToken(key: string = TOKEN_STORAGE_KEY): TokenProvider {
  return () => globalThis.localStorage?.getItem(key);
}

/**
 * Adds `authorization: Bearer <token>` when the provider has a token. Without one the request is sent as is and
 * the services answer UNAUTHENTICATED, which the React bindings show as `signed-out`.
 */
export function tokenAuth(token: TokenProvider): Interceptor {
  return (next) => async (req) => {
    const value = await token();
    if (value) {
      req.header.set("authorization", `Bearer ${value}`);
    }
    return next(req);
  };
}

/**
 * The caller a bearer JWT names (`sub`, and the `tenant_id` claim, the services' default), read without verifying
 * it: for scoping what the page stores (AmeideProvider's tenantId), never for access decisions.
 */
export function tokenIdentity(token: string | null | undefined, tenantClaim = "tenant_id"): { userId: string; tenantId: string } | undefined {
  const payload = token?.split(".")[1];
  if (!payload) {
    return undefined;
  }
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
    if (typeof claims !== "object" || claims === null) {
      return undefined;
    }
    const { sub } = claims as { sub?: unknown };
    const tenant = (claims as Record<string, unknown>)[tenantClaim];
    return typeof sub === "string" && typeof tenant === "string" ? { userId: sub, tenantId: tenant } : undefined;
  } catch {
    return undefined;
  }
}

export interface WebTransportOptions {
  /** Origin (and path prefix) of the gateway; default: the page's own origin, as `ameide dev` and the chart serve it. */
  baseUrl?: string;
  /** Bearer token source; default: `localStorage["ameide.token"]`. */
  token?: TokenProvider;
  /** More interceptors, run after the token one. */
  interceptors?: Interceptor[];
  /** A fetch to use instead of the global one (e.g. to set `credentials`). */
  fetch?: typeof globalThis.fetch;
}

/** Calls sent with `keepalive`, so that they still reach the services while the page is being unloaded. */
const KEEPALIVE_PATHS = ["/ameide_core_proto.live.v1.PresenceService/LeavePresence"];

/**
 * `fetch` sending LeavePresence with `keepalive: true`: a tab that closes or navigates away leaves at once instead
 * of lingering until its presence expires. (`navigator.sendBeacon` cannot carry it: it sends no headers, so no
 * bearer token and no gRPC-Web content type.) A leave that still does not arrive is covered by the presence TTL.
 */
export function keepaliveLeave(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    return KEEPALIVE_PATHS.some((path) => url.endsWith(path)) ? fetch(input, { ...init, keepalive: true }) : fetch(input, init);
  };
}

/** A gRPC-Web transport to the services behind the gateway, sending the bearer token of `token`. */
export function createWebTransport(options: WebTransportOptions = {}): Transport {
  const baseUrl = options.baseUrl ?? globalThis.location?.origin;
  if (!baseUrl) {
    throw new TypeError("createWebTransport needs a baseUrl outside a page (no location.origin here)");
  }
  const fetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  return createGrpcWebTransport({
    baseUrl,
    interceptors: [tokenAuth(options.token ?? localStorageToken()), ...(options.interceptors ?? [])],
    fetch: keepaliveLeave(fetch),
  });
}

/** The spec's AmeideClient in a browser: every service through one gateway origin. */
export function createWebClient(options: WebTransportOptions & AmeideClientOptions = {}): AmeideClient {
  return new AmeideClient(createWebTransport(options), { retry: options.retry });
}
