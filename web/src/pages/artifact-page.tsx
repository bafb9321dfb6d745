// /artifact/<id>: the artifact as its kind, the chats about it (sidebar), the selected chat's messages and a
// composer that sends through EnsureChatForArtifactAndSendMessage: the first message starts a chat, which
// becomes the selected one; later messages go to the selected chat. The URL never changes: the selection lives in
// sessionStorage (per tab and artifact, kept by the SDK), so a refresh shows the same chat.
import type { ChatReference } from "@ameide/sdk";
import { type UseArtifact, type UseChat, useArtifact, useChat, useComposer } from "@ameide/sdk/react";
import { type KeyboardEvent, useEffect } from "react";

import { kindLabel, relationName } from "../app/format";
import { threadHref } from "../app/routes";
import { ArtifactContent } from "../artifact/artifact-content";
import { Composer } from "../components/composer";
import { MessageList } from "../components/messages";
import { useDocumentTitle } from "../app/document-title";
import { type PresentPerson, PresenceList, TypingIndicator, typingIn } from "../components/presence";
import { Empty, Failed, LiveStatus, LoadMore, Loading, SignedOut, Unavailable, unshown } from "../components/states";

function ChatOption({ chat, selected, onSelect }: { chat: ChatReference; selected: boolean; onSelect: () => void }) {
  const onKeyDown = (event: KeyboardEvent<HTMLLIElement>) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onSelect();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const sibling = event.key === "ArrowDown" ? event.currentTarget.nextElementSibling : event.currentTarget.previousElementSibling;
      (sibling as HTMLElement | null)?.focus();
    }
  };
  return (
    <li
      role="option"
      tabIndex={0}
      className="chat-option"
      data-testid="chat-item"
      data-chat-id={chat.threadsId}
      aria-selected={selected}
      title={relationName(chat.relationType)}
      onClick={onSelect}
      onKeyDown={onKeyDown}
    >
      {chat.threadsTitle || "Untitled chat"}
    </li>
  );
}

function ChatSidebar({ artifact }: { artifact: UseArtifact }) {
  return (
    <aside className="sidebar" aria-labelledby="chats-heading">
      <div className="sidebar__head">
        <h2 id="chats-heading">
          Chats <span className="count">{artifact.chatsTotal}</span>
        </h2>
        <button type="button" className="button--quiet" data-testid="new-chat" onClick={() => artifact.selectChat(undefined)} aria-pressed={artifact.selectedChatId === undefined}>
          New chat
        </button>
      </div>
      {artifact.chats.length === 0 ? (
        <Empty>No chats about this artifact yet. Write a message to start one.</Empty>
      ) : (
        <ul className="chat-options" role="listbox" aria-label="Chats about this artifact">
          {artifact.chats.map((chat) => (
            <ChatOption key={chat.threadsId} chat={chat} selected={chat.threadsId === artifact.selectedChatId} onSelect={() => artifact.selectChat(chat.threadsId)} />
          ))}
        </ul>
      )}
      {artifact.hasMoreChats && <LoadMore list="chats" label="Load more chats" loading={artifact.loadingMoreChats} onLoad={artifact.loadMoreChats} />}
    </aside>
  );
}

function Conversation({ artifact, chat }: { artifact: UseArtifact; chat: UseChat }) {
  const selected = artifact.selectedChatId;
  // Typing goes to the selected chat, or to the artifact while the first message of a new chat is being written.
  const composer = useComposer((text, key) => artifact.send(text, { idempotencyKey: key }), { target: selected, presence: selected ? chat : artifact });
  const title = chat.chat?.title ?? artifact.chats.find((c) => c.threadsId === selected)?.threadsTitle;
  return (
    <section className="conversation" aria-label="Conversation">
      <header className="conversation__head">
        {selected ? (
          <>
            <h2 className="conversation__title" data-testid="chat-title">
              {title ?? ""}
            </h2>
            <a className="conversation__open" href={threadHref(selected)}>
              Open chat page
            </a>
          </>
        ) : (
          <h2 className="conversation__title">New chat</h2>
        )}
      </header>
      {!selected ? (
        <div className="messages">
          <Empty>Your first message starts a new chat about “{artifact.artifact?.title}”.</Empty>
        </div>
      ) : chat.status === "loading" ? (
        <Loading what="the chat" />
      ) : chat.status === "signed-out" ? (
        <SignedOut error={chat.error} onRetry={chat.retry} />
      ) : chat.status === "unavailable" ? (
        <Unavailable what="the chat" onRetry={chat.retry} />
      ) : chat.status === "error" ? (
        <Failed what="the chat" error={chat.error} onRetry={chat.retry} />
      ) : (
        <MessageList chat={chat} empty="No messages yet." />
      )}
      <TypingIndicator people={typingIn(artifact.participants, selected ? chat.participants : [])} />
      <Composer composer={composer} label="Message" placeholder={selected ? "Write a message…" : "Write the first message of a new chat…"} />
    </section>
  );
}

/** Who else is on the artifact; typing when they type on it or in the chat shown beside it. */
function onArtifact(artifact: UseArtifact, chat: UseChat | undefined): PresentPerson[] {
  const typing = new Set(typingIn(artifact.participants, chat?.participants ?? []).map((person) => person.userId));
  return artifact.participants.map((person) => ({ person, state: typing.has(person.userId) ? "typing" : "viewing" }));
}

export function ArtifactPage({ artifactId }: { artifactId: string }) {
  const artifact = useArtifact(artifactId);
  const chat = useChat(artifact.selectedChatId);
  const { selectChat, selectedChatId } = artifact;

  // A selected chat that is gone (deleted, or no longer visible to the caller): back to "new chat".
  useEffect(() => {
    if (selectedChatId && chat.status === "not-found") {
      selectChat(undefined);
    }
  }, [selectedChatId, chat.status, selectChat]);

  useDocumentTitle(artifact.artifact?.title);
  const streams = selectedChatId ? [artifact.status, chat.status] : [artifact.status];
  const shown = artifact.artifact;
  const other = unshown(artifact, "Artifact", shown !== undefined, streams);
  if (other || !shown) {
    return other;
  }
  return (
    <main className="artifact-page">
      <ChatSidebar artifact={artifact} />
      <section className="artifact" aria-labelledby="artifact-title">
        <header className="artifact__head">
          <div className="artifact__heading">
            <h1 id="artifact-title" data-testid="artifact-title">
              {shown.title}
            </h1>
            <p className="artifact__meta">
              <span className="badge">{kindLabel(shown.kind)}</span>
              <span>
                Version <span data-testid="artifact-version">{shown.version.toString()}</span>
              </span>
            </p>
          </div>
          <div className="conversation__status">
            <PresenceList people={onArtifact(artifact, selectedChatId ? chat : undefined)} label="Also on this artifact" />
            <LiveStatus statuses={streams} />
          </div>
        </header>
        <ArtifactContent artifact={shown} />
      </section>
      <Conversation artifact={artifact} chat={chat} />
    </main>
  );
}
