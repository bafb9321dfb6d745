// /: the caller's chats and the workspace's artifacts (each paginated), creating an artifact, and a search over
// the chats (SearchChats) whose snippets are rendered as text runs with the matches marked, never as HTML.
import type { Chat } from "@ameide/sdk";
import { type UsePagedList, snippetParts, useAmeideClient, useArtifacts, useChatSearch, useChats } from "@ameide/sdk/react";
import { useEffect, useId, useState } from "react";

import { useDocumentTitle } from "../app/document-title";
import { kindLabel, when } from "../app/format";
import { threadHref } from "../app/routes";
import { LinkList } from "../components/link-list";
import { NewArtifactForm, type NewArtifactInput } from "../components/new-artifact";
import { Empty, ListStatusView, LoadMore, SignedOut } from "../components/states";

const SEARCH_DELAY_MS = 250;

/** `value`, once it has stopped changing for `delayMs` (a search per pause in typing, not per key). */
function useSettled(value: string, delayMs: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

function Snippet({ snippet }: { snippet: string }) {
  return (
    <p className="snippet">
      {snippetParts(snippet).map((part, index) => (part.match ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
    </p>
  );
}

function Search() {
  const inputId = useId();
  const [query, setQuery] = useState("");
  const settled = useSettled(query, SEARCH_DELAY_MS);
  const results = useChatSearch(settled);
  return (
    <section className="search" aria-label="Search chats">
      <label htmlFor={inputId} className="search__label">
        Search chats
      </label>
      <input
        id={inputId}
        type="search"
        data-testid="search-input"
        className="search__input"
        placeholder="Words from titles and messages…"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
      />
      {settled.trim() !== "" && (
        <div className="search__results" aria-live="polite">
          <ListStatusView status={results.status} error={results.error} what="search results" onRetry={results.reload} />
          {results.status === "ready" &&
            (results.items.length === 0 ? (
              <Empty>No chats match “{settled.trim()}”.</Empty>
            ) : (
              <ol className="results">
                {results.items.map((hit) => (
                  <li key={hit.chat.id} className="result" data-testid="search-result" data-chat-id={hit.chat.id}>
                    <a href={threadHref(hit.chat.id)}>{hit.chat.title || "Untitled chat"}</a>
                    {hit.snippet && <Snippet snippet={hit.snippet} />}
                  </li>
                ))}
              </ol>
            ))}
          {results.hasMore && <LoadMore list="search" label="More results" loading={results.loadingMore} onLoad={results.loadMore} />}
        </div>
      )}
    </section>
  );
}

function Chats({ chats }: { chats: UsePagedList<Chat> }) {
  return (
    <section className="panel" aria-labelledby="chats-heading">
      <h2 id="chats-heading">
        Your chats <span className="count">{chats.status === "ready" ? chats.totalCount : ""}</span>
      </h2>
      <ListStatusView status={chats.status} error={chats.error} what="your chats" onRetry={chats.reload} />
      {chats.status === "ready" &&
        (chats.items.length === 0 ? (
          <Empty>No chats yet. Open an artifact and write a message to start one.</Empty>
        ) : (
          <LinkList
            rows={chats.items.map((chat) => ({
              kind: "chat",
              id: chat.id,
              title: chat.title,
              details: `${chat.messageCount.toString()} ${chat.messageCount === 1n ? "message" : "messages"} · ${when(chat.lastActivityAt ?? chat.updatedAt)}`,
            }))}
          />
        ))}
      {chats.hasMore && <LoadMore list="chats" label="Load more chats" loading={chats.loadingMore} onLoad={chats.loadMore} />}
    </section>
  );
}

function Artifacts() {
  const client = useAmeideClient();
  // The answer of the last artifact created here: the list waits for it to be visible, so it shows the new one.
  const [consistencyToken, setConsistencyToken] = useState<string>();
  const artifacts = useArtifacts(consistencyToken ? { consistencyToken } : {});
  const create = async (input: NewArtifactInput) => {
    const created = await client.artifactCommands.createArtifact(input);
    setConsistencyToken(created.consistencyToken);
    return created;
  };
  return (
    <section className="panel" aria-labelledby="artifacts-heading">
      <h2 id="artifacts-heading">
        Artifacts <span className="count">{artifacts.status === "ready" ? artifacts.totalCount : ""}</span>
      </h2>
      <details className="create">
        <summary>New artifact</summary>
        <NewArtifactForm onCreate={create} />
      </details>
      <ListStatusView status={artifacts.status} error={artifacts.error} what="the artifacts" onRetry={artifacts.reload} />
      {artifacts.status === "ready" &&
        (artifacts.items.length === 0 ? (
          <Empty>No artifacts yet. Create one above.</Empty>
        ) : (
          <LinkList
            rows={artifacts.items.map((artifact) => ({
              kind: "artifact",
              id: artifact.id,
              title: artifact.title,
              details: `${kindLabel(artifact.kind)} · version ${artifact.version.toString()} · ${when(artifact.updatedAt)}`,
            }))}
          />
        ))}
      {artifacts.hasMore && <LoadMore list="artifacts" label="Load more artifacts" loading={artifacts.loadingMore} onLoad={artifacts.loadMore} />}
    </section>
  );
}

export function HomePage() {
  const chats = useChats();
  useDocumentTitle(undefined);
  // Signed out shows once for the page, not once per list.
  if (chats.status === "signed-out") {
    return <SignedOut error={chats.error} onRetry={chats.reload} />;
  }
  return (
    <main className="home">
      <Search />
      <div className="columns">
        <Chats chats={chats} />
        <Artifacts />
      </div>
    </main>
  );
}
