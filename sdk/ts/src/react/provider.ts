// AmeideProvider: the client and settings every hook below it uses.
import { type ReactElement, type ReactNode, createContext, createElement, useContext, useMemo } from "react";

import type { AmeideClient } from "../client.js";
import { Bindings, type PageSizes, feedPresence } from "./bindings.js";
import type { KeyValueStorage } from "./storage.js";

export interface AmeideProviderProps {
  /** The client (createWebClient() in a browser; MockBackend.client(token) in tests). */
  client: AmeideClient;
  /**
   * The caller's tenant: scopes the resume tokens kept in localStorage (`ameide.resume.<tenant>.<feed>`). Without
   * it tokens are kept in memory only. In a browser: `tokenIdentity(token)?.tenantId` from @ameide/sdk/web.
   */
  tenantId?: string;
  /** Storage to use instead of the page's localStorage / sessionStorage (`null`: none). */
  storage?: { local?: KeyValueStorage | null; session?: KeyValueStorage | null };
  /** Backoff of reconnects and retried loads: from `initialBackoffMs` (default 250) doubling up to `maxBackoffMs` (10000). */
  reconnect?: { initialBackoffMs?: number; maxBackoffMs?: number };
  /** Page sizes of messages (default 50), chats and artifacts (20). */
  pageSizes?: Partial<PageSizes>;
  /**
   * Live signals (default true): useChat / useArtifact announce the caller on their resource while mounted and
   * show `participants` (and a chat's `drafts`). false: no announcement, no signals on the streams.
   */
  signals?: boolean;
  /** The caller's user id (`tokenIdentity(token)?.userId`): left out of `participants`, which lists the others. */
  userId?: string;
  /** The name the other participants see (at most 64 characters; default none: they show the user id). */
  displayName?: string;
  children?: ReactNode;
}

const BindingsContext = createContext<Bindings | undefined>(undefined);

function pageStorage(name: "localStorage" | "sessionStorage"): KeyValueStorage | undefined {
  try {
    return globalThis[name] ?? undefined;
  } catch {
    return undefined; // storage access can throw (sandboxed frames, blocked cookies)
  }
}

export function AmeideProvider(props: AmeideProviderProps): ReactElement {
  const { client, tenantId, storage, reconnect, pageSizes, signals = true, userId, displayName = "", children } = props;
  const local = storage?.local === undefined ? pageStorage("localStorage") : (storage.local ?? undefined);
  const session = storage?.session === undefined ? pageStorage("sessionStorage") : (storage.session ?? undefined);
  const [initialBackoffMs, maxBackoffMs] = [reconnect?.initialBackoffMs ?? 250, reconnect?.maxBackoffMs ?? 10_000];
  const [messages, chats, artifacts] = [pageSizes?.messages ?? 50, pageSizes?.chats ?? 20, pageSizes?.artifacts ?? 20];
  const bindings = useMemo(() => {
    const presence = signals ? feedPresence(client, { userId, displayName }) : undefined;
    return new Bindings(client, { tenantId, local, session, initialBackoffMs, maxBackoffMs, pageSizes: { messages, chats, artifacts }, presence });
  }, [client, tenantId, local, session, initialBackoffMs, maxBackoffMs, messages, chats, artifacts, signals, userId, displayName]);
  return createElement(BindingsContext.Provider, { value: bindings }, children);
}

export function useBindings(): Bindings {
  const bindings = useContext(BindingsContext);
  if (!bindings) {
    throw new Error("Ameide hooks need an <AmeideProvider client={...}> above them");
  }
  return bindings;
}

/** The AmeideClient of the nearest AmeideProvider, for calls the hooks do not cover. */
export function useAmeideClient(): AmeideClient {
  return useBindings().client;
}
