// The app: the session (token, development mode), the frame, and the page the URL names. The route is read once
// at load (see routes.ts): nothing here changes the URL or the history.
import { useSession } from "./session-context";
import type { Route } from "./routes";
import { Layout } from "../components/layout";
import { Loading, NotFound, SignedOut } from "../components/states";
import { ArtifactPage } from "../pages/artifact-page";
import { HomePage } from "../pages/home-page";
import { ThreadPage } from "../pages/thread-page";

function Page({ route }: { route: Route }) {
  const { hasToken } = useSession();
  if (!hasToken) {
    // The host application stores the token; once it has, loading the page again picks it up.
    return <SignedOut onRetry={() => window.location.reload()} />;
  }
  switch (route.page) {
    case "home":
      return <HomePage />;
    case "artifact":
      return <ArtifactPage artifactId={route.artifactId} />;
    case "thread":
      return <ThreadPage threadsId={route.threadsId} />;
    default:
      return <NotFound what="Page" />;
  }
}

export function App({ route }: { route: Route }) {
  return (
    <Layout>
      <Page route={route} />
    </Layout>
  );
}

export function SigningIn() {
  return (
    <main className="page page--centered">
      <Loading what="your session" />
    </main>
  );
}
