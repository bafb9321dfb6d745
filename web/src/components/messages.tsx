// A chat's messages, oldest first, all kept in the DOM (no virtualisation: a message once loaded stays), with
// older pages loaded upwards, then the assistant drafts being written, each replaced by its message in the same
// render. Every text is rendered as React text nodes, never as HTML.
import type { ChatMessage, MessagePart } from "@ameide/sdk";
import type { LiveDraft, UseChat } from "@ameide/sdk/react";
import { useLayoutEffect, useRef } from "react";

import { isoTime, when } from "../app/format";
import { useSession } from "../app/session-context";
import { Empty, LoadMore } from "./states";

function Part({ part }: { part: MessagePart }) {
  const { kind } = part;
  switch (kind.case) {
    case "text":
      return <p className="message__text">{kind.value.text}</p>;
    case "code":
      return (
        <pre className="message__code" data-language={kind.value.language || undefined}>
          <code>{kind.value.content}</code>
        </pre>
      );
    case "image":
      // Images are not fetched: the page may load nothing from other origins (CSP), and a URL is shown as text.
      return <p className="message__note">[image{kind.value.url ? `: ${kind.value.url}` : ""}]</p>;
    case "structured":
      return (
        <pre className="message__code" data-structured={kind.value.type}>
          <code>{kind.value.json}</code>
        </pre>
      );
    default:
      return null;
  }
}

function author(message: ChatMessage, me: string | undefined): string {
  if (message.role === "assistant") {
    return "Assistant";
  }
  if (message.role === "system") {
    return "System";
  }
  return message.userId && message.userId === me ? "You" : message.userId || "Someone";
}

function Message({ message, me }: { message: ChatMessage; me: string | undefined }) {
  const mine = message.role === "user" && message.userId === me;
  return (
    <li className={`message message--${mine ? "mine" : message.role || "user"}`}>
      <div className="message__meta">
        <span className="message__author">{author(message, me)}</span>
        <time dateTime={isoTime(message.createdAt)}>{when(message.createdAt)}</time>
      </div>
      <div className="message__body" data-testid="message" data-message-id={message.id}>
        {message.parts.map((part, index) => (
          <Part key={index} part={part} />
        ))}
        {message.attachments.length > 0 && <p className="message__note">{message.attachments.map((a) => a.name || a.id).join(", ")}</p>}
      </div>
    </li>
  );
}

/**
 * A draft: visibly not a message yet (muted, a blinking cursor drawn by CSS after the text). The `draft` hook holds
 * exactly the text so far; its message takes its place when it arrives.
 */
function Draft({ draft }: { draft: LiveDraft }) {
  return (
    <li className="message message--assistant message--draft" aria-busy="true">
      <div className="message__meta">
        <span className="message__author">Assistant</span>
        <span className="message__status">{draft.agentId ? `${draft.agentId} is writing…` : "writing…"}</span>
      </div>
      <div className="message__body">
        <p className="message__text" data-testid="draft" data-draft-id={draft.draftId}>
          {draft.text}
        </p>
      </div>
    </li>
  );
}

const NEAR_BOTTOM_PX = 120;

/**
 * The scroll position follows what the reader expects: new messages at the bottom scroll into view when the
 * reader was at the bottom, and older messages loaded above keep what the reader was looking at in place.
 */
function useScrollAnchoring(messages: ChatMessage[], drafts: readonly LiveDraft[]) {
  const scroller = useRef<HTMLDivElement>(null);
  const seen = useRef({ first: "", last: "", height: 0, atBottom: true });
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) {
      return;
    }
    const first = messages[0]?.id ?? "";
    // A growing draft moves the bottom as a new message does.
    const last = `${messages.at(-1)?.id ?? ""}|${drafts.map((draft) => `${draft.draftId}:${draft.text.length}`).join(",")}`;
    const before = seen.current;
    if (before.first && first !== before.first && last === before.last) {
      element.scrollTop += element.scrollHeight - before.height; // older messages prepended
    } else if (last !== before.last && before.atBottom) {
      element.scrollTop = element.scrollHeight;
    }
    seen.current = { first, last, height: element.scrollHeight, atBottom: before.atBottom };
  }, [messages, drafts]);
  const onScroll = () => {
    const element = scroller.current;
    if (element) {
      seen.current.atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
      seen.current.height = element.scrollHeight;
    }
  };
  return { scroller, onScroll };
}

export function MessageList({ chat, empty }: { chat: UseChat; empty: string }) {
  const { identity } = useSession();
  const { scroller, onScroll } = useScrollAnchoring(chat.messages, chat.drafts);
  return (
    <div className="messages" ref={scroller} onScroll={onScroll}>
      {chat.hasOlder && <LoadMore list="messages" label="Load older messages" loading={chat.loadingOlder} onLoad={chat.loadOlder} />}
      {chat.messages.length === 0 && chat.drafts.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <ol className="messages__list" aria-label="Messages" aria-live="polite" aria-relevant="additions">
          {chat.messages.map((message) => (
            <Message key={message.id} message={message} me={identity?.userId} />
          ))}
          {chat.drafts.map((draft) => (
            <Draft key={draft.draftId} draft={draft} />
          ))}
        </ol>
      )}
    </div>
  );
}
