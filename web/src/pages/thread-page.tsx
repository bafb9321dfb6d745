// /threads/<id>: the chat's messages (live), its title and visibility (editable by its owner), the artifacts
// linked to it (ordinary links to /artifact/<id>), creating an artifact from the chat (linked as CREATED), and a
// composer.
import { type ChatVisibility } from "@ameide/sdk";
import { type AmeideError, type UseChat, toAmeideError, useChat, useComposer } from "@ameide/sdk/react";
import { type FormEvent, useId, useState } from "react";

import { VISIBILITY_CHOICES, kindLabel, relationName, visibilityName } from "../app/format";
import { useSession } from "../app/session-context";
import { ActionError } from "../components/action-error";
import { LinkList } from "../components/link-list";
import { Composer } from "../components/composer";
import { MessageList } from "../components/messages";
import { NewArtifactForm } from "../components/new-artifact";
import { useDocumentTitle } from "../app/document-title";
import { PresenceList, TypingIndicator, typingIn } from "../components/presence";
import { Empty, LiveStatus, LoadMore, unshown } from "../components/states";

type Settable = ChatVisibility.PRIVATE | ChatVisibility.TEAM | ChatVisibility.PUBLIC;

function ChatTitle({ chat, owner }: { chat: UseChat; owner: boolean }) {
  const inputId = useId();
  const [draft, setDraft] = useState<string>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<AmeideError>();
  const title = chat.chat?.title ?? "";
  const save = (event: FormEvent) => {
    event.preventDefault();
    if (draft === undefined || saving) {
      return;
    }
    setSaving(true);
    setError(undefined);
    chat
      .rename(draft)
      .then(() => setDraft(undefined))
      .catch((caught: unknown) => setError(toAmeideError(caught)))
      .finally(() => setSaving(false));
  };
  if (draft !== undefined) {
    return (
      <form className="title-form" onSubmit={save} aria-busy={saving}>
        <label htmlFor={inputId} className="visually-hidden">
          Chat title
        </label>
        <input id={inputId} data-testid="chat-title-input" value={draft} onChange={(event) => setDraft(event.target.value)} autoFocus />
        <button type="submit" data-testid="chat-title-save">
          {saving ? "Saving…" : "Save"}
        </button>
        <button
          type="button"
          className="button--quiet"
          onClick={() => {
            setDraft(undefined);
            setError(undefined);
          }}
        >
          Cancel
        </button>
        <ActionError error={error} action="rename the chat" />
      </form>
    );
  }
  return (
    <div className="title-row">
      <h1 data-testid="chat-title">{title}</h1>
      {owner && (
        <button type="button" className="button--quiet" data-testid="chat-title-edit" onClick={() => setDraft(title)}>
          Rename
        </button>
      )}
    </div>
  );
}

function Visibility({ chat, owner }: { chat: UseChat; owner: boolean }) {
  const selectId = useId();
  const [error, setError] = useState<AmeideError>();
  const current = chat.chat?.visibility;
  if (current === undefined) {
    return null;
  }
  if (!owner) {
    return <p className="visibility">Visible to: {visibilityName(current)}</p>;
  }
  const change = (value: Settable) => {
    setError(undefined);
    chat.setVisibility(value).catch((caught: unknown) => setError(toAmeideError(caught)));
  };
  return (
    <div className="visibility">
      <label htmlFor={selectId}>Visibility</label>{" "}
      <select id={selectId} data-testid="chat-visibility" value={current} onChange={(event) => change(Number(event.target.value) as Settable)}>
        {VISIBILITY_CHOICES.map((choice) => (
          <option key={choice.value} value={choice.value} title={choice.hint}>
            {choice.label}
          </option>
        ))}
      </select>
      <span className="hint">{VISIBILITY_CHOICES.find((choice) => choice.value === current)?.hint}</span>
      <ActionError error={error} action="change who can see the chat" />
    </div>
  );
}

function LinkedArtifacts({ chat }: { chat: UseChat }) {
  const [loadingMore, setLoadingMore] = useState(false);
  const loadMore = () => {
    setLoadingMore(true);
    return chat.loadMoreArtifacts().finally(() => setLoadingMore(false));
  };
  return (
    <aside className="sidebar" aria-labelledby="artifacts-heading">
      <div className="sidebar__head">
        <h2 id="artifacts-heading">
          Artifacts <span className="count">{chat.artifactsTotal}</span>
        </h2>
      </div>
      {chat.artifacts.length === 0 ? (
        <Empty>No artifacts are linked to this chat yet.</Empty>
      ) : (
        <LinkList
          rows={chat.artifacts.map((artifact) => ({
            kind: "artifact",
            id: artifact.artifactId,
            title: artifact.title,
            details: `${kindLabel(artifact.kind)} · ${relationName(artifact.relationType)}`,
          }))}
        />
      )}
      {chat.hasMoreArtifacts && <LoadMore list="artifacts" label="Load more artifacts" loading={loadingMore} onLoad={loadMore} />}
      <details className="create">
        <summary>Create an artifact from this chat</summary>
        <NewArtifactForm onCreate={(input) => chat.createArtifact(input)} note="It is linked to this chat as created here." />
      </details>
    </aside>
  );
}

export function ThreadPage({ threadsId }: { threadsId: string }) {
  const chat = useChat(threadsId);
  const { identity } = useSession();
  const composer = useComposer((text, key) => chat.send(text, key), { presence: chat });

  useDocumentTitle(chat.chat?.title);
  const other = unshown(chat, "Chat", chat.chat !== undefined, [chat.status]);
  if (other || !chat.chat) {
    return other;
  }
  const owner = identity !== undefined && chat.chat.userId === identity.userId;
  // A PUBLIC chat of another workspace can be read by link, not written to.
  const writable = identity !== undefined && chat.chat.tenantId === identity.tenantId;
  return (
    <main className="thread-page">
      <section className="conversation conversation--page" aria-labelledby="chat-heading">
        <header className="conversation__head" id="chat-heading">
          <ChatTitle chat={chat} owner={owner} />
          <div className="conversation__status">
            <PresenceList people={chat.participants.map((person) => ({ person, state: person.state }))} label="Also in this chat" />
            <LiveStatus statuses={[chat.status]} />
          </div>
        </header>
        <Visibility chat={chat} owner={owner} />
        <MessageList chat={chat} empty="No messages yet. Write the first one." />
        <TypingIndicator people={typingIn(chat.participants)} />
        {writable ? (
          <Composer composer={composer} label="Message" placeholder="Write a message…" />
        ) : (
          <p className="read-only" data-testid="read-only">
            This chat is shared by link: you can read it, and only its workspace can write in it.
          </p>
        )}
      </section>
      <LinkedArtifacts chat={chat} />
    </main>
  );
}
