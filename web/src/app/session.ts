// Who the page acts as: the bearer token, where it came from, and whether the server is a development one.
//
// Production: the host application stores the token in localStorage["ameide.token"] before the app loads and
// replaces it when it renews it. The app never mints or refreshes tokens itself.
//
// Development (`ameide dev`): the web deployable answers GET /dev/token with {"token": ...}. That answer is also
// how the app knows it runs against a development server: elsewhere /dev/token is just another app route (the
// SPA fallback answers HTML), so a HEAD request that comes back as JSON means development tokens are on. Then:
// - with no token stored, the app fetches one for the default dev user and stores it in localStorage;
// - the user switcher keeps its choice per tab in sessionStorage["ameide.devToken"], which wins over
//   localStorage, so two tabs of one browser can be two people (localStorage is shared by every tab).
import { TOKEN_STORAGE_KEY, tokenIdentity } from "@ameide/sdk/web";

export const DEV_TOKEN_PATH = "/dev/token";
/** sessionStorage key of the development identity chosen in this tab (dev servers only). */
export const TAB_TOKEN_KEY = "ameide.devToken";

export interface Identity {
  userId: string;
  tenantId: string;
}

/** The development identities the switcher offers: two colleagues, and someone of another tenant. */
export const DEV_IDENTITIES: readonly Identity[] = [
  { userId: "dev-user", tenantId: "dev-tenant" },
  { userId: "alice", tenantId: "dev-tenant" },
  { userId: "bob", tenantId: "dev-tenant" },
  { userId: "mallory", tenantId: "other-tenant" },
];

function storage(kind: "localStorage" | "sessionStorage"): Storage | undefined {
  try {
    return window[kind];
  } catch {
    return undefined; // blocked storage (sandboxed frame, privacy settings)
  }
}

function read(kind: "localStorage" | "sessionStorage", key: string): string | null {
  try {
    return storage(kind)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

/** The token calls use now: this tab's development identity, else the browser's token. Read on every call. */
export function currentToken(): string | null {
  return read("sessionStorage", TAB_TOKEN_KEY) ?? read("localStorage", TOKEN_STORAGE_KEY);
}

export function identityOf(token: string | null): Identity | undefined {
  return tokenIdentity(token);
}

/** Stores a token for this browser (every tab without its own development identity uses it). */
export function storeBrowserToken(token: string): void {
  storage("localStorage")?.setItem(TOKEN_STORAGE_KEY, token);
}

/** Makes this tab act as the development identity of `token` (kept across refreshes of this tab only). */
export function storeTabToken(token: string): void {
  storage("sessionStorage")?.setItem(TAB_TOKEN_KEY, token);
}

/** Replaces the token where the current one lives (this tab's identity, or the browser's). */
export function replaceCurrentToken(token: string): void {
  if (read("sessionStorage", TAB_TOKEN_KEY) !== null) {
    storeTabToken(token);
  } else {
    storeBrowserToken(token);
  }
}

/** Whether the server hands out development tokens (`ameide dev`); false on any failure. */
export async function isDevServer(): Promise<boolean> {
  try {
    const answer = await fetch(DEV_TOKEN_PATH, { method: "HEAD", cache: "no-store" });
    return answer.ok && (answer.headers.get("content-type") ?? "").startsWith("application/json");
  } catch {
    return false;
  }
}

/** A development token for `identity` (the server's defaults when omitted). */
export async function fetchDevToken(identity?: Identity): Promise<string> {
  const query = identity ? `?${new URLSearchParams({ user: identity.userId, tenant: identity.tenantId }).toString()}` : "";
  const answer = await fetch(DEV_TOKEN_PATH + query, { cache: "no-store" });
  const body: unknown = await answer.json().catch(() => undefined);
  const token = typeof body === "object" && body !== null ? (body as { token?: unknown }).token : undefined;
  if (!answer.ok || typeof token !== "string") {
    const reason = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
    throw new Error(typeof reason === "string" ? reason : `the development token endpoint answered ${answer.status}`);
  }
  return token;
}
