// Placeholder page proving the pipeline end to end (bundle, SPA fallback, dev token, gRPC-Web through the
// gateway, a live server stream). The reference app replaces it; build.mjs and the served bundle stay as they are.
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

import { ArtifactQueryService } from "@ameide/sdk/gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { ChatQueryService } from "@ameide/sdk/gen/ameide_core_proto/threads/v1/threads_service_pb.js";

const TOKEN_KEY = "ameide.token";

type Route = { kind: "home" } | { kind: "artifact"; id: string } | { kind: "threads"; id: string };

function parseRoute(path: string): Route {
  const [, section, id] = path.split("/");
  if ((section === "artifact" || section === "threads") && id) {
    return { kind: section, id: decodeURIComponent(id) };
  }
  return { kind: "home" };
}

async function bearerToken(): Promise<{ token: string; source: string }> {
  const stored = localStorage.getItem(TOKEN_KEY);
  if (stored) {
    return { token: stored, source: "stored" };
  }
  const reply = await fetch("/dev/token");
  if (!reply.ok) {
    throw new Error(`no token stored and /dev/token answered ${reply.status}`);
  }
  const { token } = (await reply.json()) as { token: string };
  localStorage.setItem(TOKEN_KEY, token);
  return { token, source: "fetched" };
}

function transportFor(token: string) {
  const auth: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [auth] });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function App({ route }: { route: Route }) {
  const [tokenSource, setTokenSource] = useState("loading");
  const [chats, setChats] = useState<string>("loading");
  const [live, setLive] = useState("connecting");
  const [updates, setUpdates] = useState<string[]>([]);
  const [error, setError] = useState("");

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      const { token, source } = await bearerToken();
      setTokenSource(source);
      const transport = transportFor(token);
      const listed = await createClient(ChatQueryService, transport).listChats({ pageSize: 10 }, { signal: abort.signal });
      setChats(String(listed.totalCount));
      if (route.kind === "threads") {
        const chatQueries = createClient(ChatQueryService, transport);
        for await (const update of chatQueries.streamChatUpdates({ threadsId: route.id }, { signal: abort.signal })) {
          if (update.update.case === "control") {
            setLive("live");
          } else if (update.update.case === "message") {
            const text = update.update.value.parts.map((part) => (part.kind.case === "text" ? part.kind.value.text : "")).join("");
            setUpdates((seen) => [...seen, text]);
          }
        }
      } else if (route.kind === "artifact") {
        const artifactQueries = createClient(ArtifactQueryService, transport);
        for await (const update of artifactQueries.streamArtifactUpdates({ artifactId: route.id }, { signal: abort.signal })) {
          if (update.update.case === "control") {
            setLive("live");
          } else if (update.update.case !== undefined) {
            setUpdates((seen) => [...seen, update.update.case ?? ""]);
          }
        }
      }
    })().catch((caught: unknown) => {
      if (!abort.signal.aborted) {
        setError(describe(caught));
        setLive("ended");
      }
    });
    return () => abort.abort();
  }, [route]);

  return (
    <main>
      <h1>Ameide Threads</h1>
      <p>
        Route: <code data-testid="route">{window.location.pathname}</code> ({route.kind}
        {route.kind !== "home" ? ` ${route.id}` : ""})
      </p>
      <p>
        Token: <span data-testid="token-source">{tokenSource}</span>
      </p>
      <p>
        Chats visible: <span data-testid="chat-total">{chats}</span>
      </p>
      {route.kind !== "home" && (
        <section>
          <p>
            Stream: <span data-testid="stream-status">{live}</span>
          </p>
          <ol>
            {updates.map((text, index) => (
              <li key={index} data-testid="stream-update">
                {text}
              </li>
            ))}
          </ol>
        </section>
      )}
      {error && <p data-testid="error">{error}</p>}
    </main>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App route={parseRoute(window.location.pathname)} />
    </StrictMode>,
  );
}
