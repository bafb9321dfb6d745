// The session as React state: the current token and identity, whether the server is a development one, and
// switching development users. The AmeideProvider below is keyed by the identity, so switching users starts
// every page's data afresh (no state of one user is ever shown to another) without reloading the page.
import { AmeideProvider } from "@ameide/sdk/react";
import { TOKEN_STORAGE_KEY, createWebClient } from "@ameide/sdk/web";
import { type ReactNode, createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";

import {
  type Identity,
  TAB_TOKEN_KEY,
  currentToken,
  fetchDevToken,
  identityOf,
  isDevServer,
  replaceCurrentToken,
  storeBrowserToken,
  storeTabToken,
} from "./session";

export interface SessionState {
  /** Whether a token is stored (a refused one included: the pages then show signed-out). */
  hasToken: boolean;
  /** The caller the token names (read from the token, not verified: for display and ownership hints only). */
  identity: Identity | undefined;
  /** True on a development server (`ameide dev`), false elsewhere, undefined until known. */
  devMode: boolean | undefined;
  /** Development servers only: act as `identity` in this tab ("tab") or replace the current token ("current"). */
  signInAs(identity: Identity, where: "tab" | "current"): Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) {
    throw new Error("useSession needs a <SessionProvider> above it");
  }
  return session;
}

/** One web client for the page: gRPC-Web to its own origin, reading the current token on every call. */
const client = createWebClient({ token: currentToken });

export function SessionProvider({ children, signingIn }: { children: ReactNode; signingIn: ReactNode }) {
  const [token, setToken] = useState(currentToken);
  const [devMode, setDevMode] = useState<boolean>();
  const [devTokenFailed, setDevTokenFailed] = useState(false);

  useEffect(() => {
    let current = true;
    void isDevServer().then((dev) => current && setDevMode(dev));
    return () => {
      current = false;
    };
  }, []);

  // Under `ameide dev` only, and only when no token is stored: get one for the default development user.
  useEffect(() => {
    if (token !== null || devMode !== true) {
      return;
    }
    fetchDevToken()
      .then((fresh) => {
        storeBrowserToken(fresh);
        setToken(currentToken());
      })
      .catch(() => setDevTokenFailed(true));
  }, [token, devMode]);

  // Another tab (or the host application) stored or removed the token.
  useEffect(() => {
    const changed = (event: StorageEvent) => {
      if (event.key === null || event.key === TOKEN_STORAGE_KEY || event.key === TAB_TOKEN_KEY) {
        setToken(currentToken());
      }
    };
    window.addEventListener("storage", changed);
    return () => window.removeEventListener("storage", changed);
  }, []);

  const signInAs = useCallback(async (identity: Identity, where: "tab" | "current") => {
    const fresh = await fetchDevToken(identity);
    if (where === "tab") {
      storeTabToken(fresh);
    } else {
      replaceCurrentToken(fresh);
    }
    setToken(currentToken());
  }, []);

  const identity = useMemo(() => identityOf(token), [token]);
  const hasToken = token !== null;
  const session = useMemo(() => ({ hasToken, identity, devMode, signInAs }), [hasToken, identity, devMode, signInAs]);
  // Without a token, wait for the dev-server probe (and its token) before showing anything: a production page
  // then shows signed-out, a development page signs in by itself.
  const waiting = token === null && (devMode === undefined || (devMode && !devTokenFailed));
  const who = identity ? `${identity.userId}@${identity.tenantId}` : "anonymous";
  return (
    <SessionContext.Provider value={session}>
      {waiting ? (
        signingIn
      ) : (
        <AmeideProvider key={who} client={client} tenantId={identity?.tenantId} userId={identity?.userId}>
          {children}
        </AmeideProvider>
      )}
    </SessionContext.Provider>
  );
}
