// The frame of every page: a top bar (home link, who you are, the development user switcher) and the page.
import { type ChangeEvent, type ReactNode, useState } from "react";

import { DEV_IDENTITIES, type Identity } from "../app/session";
import { useSession } from "../app/session-context";

const keyOf = (identity: Identity) => `${identity.userId}@${identity.tenantId}`;

/** Development servers only: act as another development user in this tab (other tabs keep theirs). */
function DevUserSwitcher() {
  const { identity, signInAs } = useSession();
  const [failure, setFailure] = useState<string>();
  const [switching, setSwitching] = useState(false);
  const choices = identity && !DEV_IDENTITIES.some((known) => keyOf(known) === keyOf(identity)) ? [identity, ...DEV_IDENTITIES] : DEV_IDENTITIES;
  const choose = (event: ChangeEvent<HTMLSelectElement>) => {
    const chosen = choices.find((choice) => keyOf(choice) === event.target.value);
    if (!chosen) {
      return;
    }
    setSwitching(true);
    setFailure(undefined);
    signInAs(chosen, "tab")
      .catch((caught: unknown) => setFailure(caught instanceof Error ? caught.message : String(caught)))
      .finally(() => setSwitching(false));
  };
  return (
    <div className="dev-switcher">
      <label>
        <span className="dev-switcher__badge" title="A development server: these users get development tokens">
          dev
        </span>{" "}
        Acting as{" "}
        <select data-testid="dev-user" value={identity ? keyOf(identity) : ""} onChange={choose} disabled={switching}>
          {!identity && <option value="">nobody</option>}
          {choices.map((choice) => (
            <option key={keyOf(choice)} value={keyOf(choice)}>
              {choice.userId} @ {choice.tenantId}
            </option>
          ))}
        </select>
      </label>
      {failure && (
        <span className="form-error" role="alert">
          {failure}
        </span>
      )}
    </div>
  );
}

function WhoAmI() {
  const { identity } = useSession();
  return identity ? (
    <span className="whoami" title={`Tenant ${identity.tenantId}`}>
      {identity.userId}
    </span>
  ) : null;
}

export function Layout({ children }: { children: ReactNode }) {
  const { devMode } = useSession();
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/">
          <span className="brand__mark" aria-hidden="true" />
          Ameide Threads
        </a>
        <div className="topbar__end">{devMode ? <DevUserSwitcher /> : <WhoAmI />}</div>
      </header>
      {children}
    </div>
  );
}
