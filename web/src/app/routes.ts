// The app's pages, read once from location.pathname when the page loads. There is no client-side router: links
// between pages are ordinary <a href> navigations, and the app never calls history.pushState / replaceState, so
// /artifact/<id> and /threads/<id> stay exactly what the user opened (and a refresh reloads the same page).

export type Route =
  | { page: "home" }
  | { page: "artifact"; artifactId: string }
  | { page: "thread"; threadsId: string }
  | { page: "unknown" };

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // a malformed escape: no page has that id
  }
}

/** The page of a path: `/`, `/artifact/<id>`, `/threads/<id>` (a trailing slash is allowed), else unknown. */
export function parseRoute(pathname: string): Route {
  const segments = pathname.replace(/\/+$/, "").split("/").slice(1);
  if (segments.length === 0 || (segments.length === 1 && (segments[0] === "" || segments[0] === "index.html"))) {
    return { page: "home" };
  }
  const [section, raw, ...rest] = segments;
  const id = raw ? decoded(raw) : undefined;
  if (rest.length > 0 || !id) {
    return { page: "unknown" };
  }
  // Any id is passed on, even a malformed one: the page asks the SDK, which answers not-found for it.
  if (section === "artifact") {
    return { page: "artifact", artifactId: id };
  }
  if (section === "threads") {
    return { page: "thread", threadsId: id };
  }
  return { page: "unknown" };
}

export const homeHref = "/";

export function artifactHref(artifactId: string): string {
  return `/artifact/${encodeURIComponent(artifactId)}`;
}

export function threadHref(threadsId: string): string {
  return `/threads/${encodeURIComponent(threadsId)}`;
}
