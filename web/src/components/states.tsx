// The states a page can be in besides "showing data", each visible and distinct, and the small shared controls
// that report a live stream or load another page.
import type { AmeideError, FeedStatus } from "@ameide/sdk/react";
import { type ReactElement, type ReactNode, useState } from "react";

import { useSession } from "../app/session-context";
import { DEV_IDENTITIES } from "../app/session";

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state--loading" data-testid="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <p className="empty" data-testid="empty">
      {children}
    </p>
  );
}

/**
 * Not found: unknown, deleted, another tenant's or unreadable, or a malformed id. Says nothing about what was
 * asked for (not even the id): whether something exists elsewhere is not this page's to tell.
 */
export function NotFound({ what }: { what: string }) {
  return (
    <section className="state state--not-found" data-testid="not-found" role="alert">
      <h1>{what} not found</h1>
      <p>It does not exist, was deleted, or you do not have access to it.</p>
      <p>
        <a href="/">Go to your chats and artifacts</a>
      </p>
    </section>
  );
}

function signedOutReason(error: AmeideError | undefined): string {
  switch (error?.reason) {
    case "TOKEN_EXPIRED":
      return "Your session has expired.";
    case "INVALID_TOKEN":
      return "Your sign-in was not accepted.";
    default:
      return error ? "Your sign-in was not accepted." : "You are not signed in.";
  }
}

/** Signed out (no token, or it was refused). On a development server it offers fresh development tokens. */
export function SignedOut({ error, onRetry }: { error?: AmeideError | undefined; onRetry?: () => void }) {
  const session = useSession();
  const [failure, setFailure] = useState<string>();
  const signInAs = (index: number) => {
    const identity = DEV_IDENTITIES[index];
    if (identity) {
      session.signInAs(identity, "current").catch((caught: unknown) => setFailure(caught instanceof Error ? caught.message : String(caught)));
    }
  };
  return (
    <section className="state state--signed-out" data-testid="signed-out" role="alert">
      <h1>Signed out</h1>
      <p>{signedOutReason(error)}</p>
      {session.devMode ? (
        <>
          <p>This is a development server: sign in as one of its development users.</p>
          <div className="button-row">
            {DEV_IDENTITIES.map((identity, index) => (
              <button key={`${identity.userId}@${identity.tenantId}`} type="button" onClick={() => signInAs(index)}>
                {identity.userId} @ {identity.tenantId}
              </button>
            ))}
          </div>
          {failure && <p className="form-error">Could not get a development token: {failure}</p>}
        </>
      ) : (
        <p>Sign in again through your application, then try again.</p>
      )}
      {onRetry && (
        <p>
          <button type="button" className="button--quiet" onClick={onRetry}>
            Try again
          </button>
        </p>
      )}
    </section>
  );
}

/** The backend cannot be reached; the hooks retry on their own with backoff, the button retries now. */
export function Unavailable({ what, onRetry }: { what: string; onRetry: () => void }) {
  return (
    <section className="state state--unavailable" data-testid="unavailable" role="alert">
      <h1>Cannot reach the service</h1>
      <p>Loading {what} failed because the service is not answering. Retrying automatically…</p>
      <p>
        <button type="button" onClick={onRetry}>
          Retry now
        </button>
      </p>
    </section>
  );
}

export function Failed({ what, error, onRetry }: { what: string; error: AmeideError | undefined; onRetry: () => void }) {
  return (
    <section className="state state--error" data-testid="error" role="alert">
      <h1>Something went wrong</h1>
      <p>
        Loading {what} failed{error ? `: ${error.message}` : "."}
      </p>
      <p>
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      </p>
    </section>
  );
}

/** `live` while every stream the page follows is up, `reconnecting` otherwise (text kept exactly so for tests). */
export function LiveStatus({ statuses }: { statuses: FeedStatus[] }) {
  const live = statuses.every((status) => status === "live");
  return (
    <span
      className={`live-status ${live ? "live-status--live" : "live-status--reconnecting"}`}
      data-testid="live-status"
      role="status"
      title={live ? "Following live updates" : "Connecting to live updates; changes made meanwhile will arrive once connected"}
    >
      {live ? "live" : "reconnecting"}
    </span>
  );
}

/** Loads the next page of a list; a failure is shown next to it (and the list stays as it was). */
export function LoadMore({ label, list, loading, onLoad }: { label: string; list: string; loading: boolean; onLoad: () => Promise<void> }) {
  const [failed, setFailed] = useState(false);
  const load = () => {
    setFailed(false);
    onLoad().catch(() => setFailed(true));
  };
  return (
    <div className="load-more">
      <button type="button" data-testid="load-more" data-list={list} aria-busy={loading} onClick={load}>
        {loading ? "Loading…" : label}
      </button>
      {failed && (
        <span className="form-error" role="alert">
          Could not load more; try again.
        </span>
      )}
    </div>
  );
}

/** A list's status when it has nothing to show yet: loading, signed out, unavailable or failed (else null). */
export function ListStatusView({
  status,
  error,
  what,
  onRetry,
}: {
  status: "idle" | "loading" | "ready" | "unavailable" | "not-found" | "signed-out" | "error";
  error: AmeideError | undefined;
  what: string;
  onRetry: () => void;
}) {
  switch (status) {
    case "loading":
      return <Loading what={what} />;
    case "unavailable":
      return <Unavailable what={what} onRetry={onRetry} />;
    case "signed-out":
      return <SignedOut error={error} onRetry={onRetry} />;
    case "error":
    case "not-found":
      return <Failed what={what} error={error} onRetry={onRetry} />;
    default:
      return null;
  }
}

/** A live resource as the hooks give it (useChat, useArtifact). */
interface Feed {
  status: FeedStatus;
  error: AmeideError | undefined;
  retry(): void;
}

/**
 * The page for a live resource that cannot be shown: not found, signed out, failed, or not loaded yet (loading, or
 * unavailable and retrying). Undefined once it is loaded and none of those holds: then the page shows it.
 */
export function unshown(feed: Feed, noun: "Artifact" | "Chat", loaded: boolean, streams: FeedStatus[]): ReactElement | undefined {
  const what = `the ${noun.toLowerCase()}`;
  switch (feed.status) {
    case "not-found":
      return <NotFound what={noun} />;
    case "signed-out":
      return <SignedOut error={feed.error} onRetry={feed.retry} />;
    case "error":
      return <Failed what={what} error={feed.error} onRetry={feed.retry} />;
    default:
      break;
  }
  if (loaded) {
    return undefined;
  }
  return (
    <main className="page page--centered">
      <LiveStatus statuses={streams} />
      {feed.status === "unavailable" ? <Unavailable what={what} onRetry={feed.retry} /> : <Loading what={what} />}
    </main>
  );
}
