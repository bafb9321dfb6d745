// The hooks: live resources (useChat, useArtifact), lists (useChats, useArtifacts, useChatSearch), and the
// composer that gives each user action one idempotency key (useComposer).
import type { MessageInitShape } from "@bufbuild/protobuf";
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";

import type { SendResult } from "../client.js";
import type { ArtifactView } from "../gen/ameide_core_proto/artifacts/v1/artifacts_types_pb.js";
import type { ChatFilterSchema } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import type { Chat, ChatMessage, ChatVisibility } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { type ArtifactSendOptions, type ArtifactState, type ArtifactStore, IDLE_ARTIFACT } from "./artifact-store.js";
import type { Bindings } from "./bindings.js";
import { type ChatState, type ChatStore, IDLE_CHAT, type NewArtifact } from "./chat-store.js";
import { newKey } from "./keys.js";
import { type ListState, PagedList, idleList } from "./paged-list.js";
import { useBindings } from "./provider.js";
import { type AmeideError, toAmeideError } from "./status.js";

const noSubscription = (): (() => void) => () => undefined;

function idleAction(): Promise<never> {
  return Promise.reject(toAmeideError(new TypeError("nothing is loaded")));
}

/** The store of one resource, shared by every component using it, started while any of them is mounted. */
function useLiveStore<S, T extends (ChatStore | ArtifactStore) & { getSnapshot(): S }>(
  make: (bindings: Bindings) => T | undefined,
  key: string | undefined,
  idle: S,
): [S, T | undefined] {
  const bindings = useBindings();
  // `key` names the resource `make` builds (make itself is a new closure on every render).
  const store = useMemo(() => make(bindings), [bindings, key]);
  useEffect(() => {
    if (!store) {
      return undefined;
    }
    bindings.retain(store);
    return () => bindings.release(store);
  }, [bindings, store]);
  const snapshot = (): S => (store ? (store.getSnapshot() as S) : idle);
  const state = useSyncExternalStore(store?.subscribe ?? noSubscription, snapshot, () => idle);
  return [state, store];
}

export interface UseChat extends ChatState {
  /** Loads the next page of older messages (prepended to `messages`). */
  loadOlder(): Promise<void>;
  /** Loads the next page of linked artifacts (appended to `artifacts`). */
  loadMoreArtifacts(): Promise<void>;
  /** Sends a text message; reuse `idempotencyKey` when retrying the same user action (useComposer does). */
  send(text: string, idempotencyKey?: string): Promise<ChatMessage>;
  rename(title: string): Promise<void>;
  setVisibility(visibility: ChatVisibility.PRIVATE | ChatVisibility.TEAM | ChatVisibility.PUBLIC): Promise<void>;
  /** Creates an artifact linked to this chat as CREATED (one atomic call). */
  createArtifact(artifact: NewArtifact): Promise<{ artifactId: string; consistencyToken: string }>;
  /** Tries again now (after not-found, signed-out or error; or instead of waiting out a backoff). */
  retry(): void;
  /** The user is typing in this chat (useComposer's `presence` calls it; throttled, lapses by itself). */
  typing(): void;
  /** The user stopped typing in this chat. */
  notTyping(): void;
}

/**
 * A chat, live: loads it (GetChat, the newest page of GetMessages, GetChatArtifacts), follows StreamChatUpdates
 * from the load's checkpoint (no gap, no duplicate), reconnects with backoff. `threadsId` undefined: `idle`.
 */
export function useChat(threadsId: string | undefined): UseChat {
  const [state, store] = useLiveStore((b) => (threadsId ? b.chat(threadsId) : undefined), threadsId, IDLE_CHAT);
  return useMemo(
    () => ({
      ...state,
      loadOlder: () => store?.loadOlder() ?? idleAction(),
      loadMoreArtifacts: () => store?.loadMoreArtifacts() ?? idleAction(),
      send: (text: string, idempotencyKey?: string) => store?.send(text, idempotencyKey) ?? idleAction(),
      rename: (title: string) => store?.rename(title) ?? idleAction(),
      setVisibility: (visibility: ChatVisibility.PRIVATE | ChatVisibility.TEAM | ChatVisibility.PUBLIC) => store?.setVisibility(visibility) ?? idleAction(),
      createArtifact: (artifact: NewArtifact) => store?.createArtifact(artifact) ?? idleAction(),
      retry: () => store?.retry(),
      typing: () => store?.typing(),
      notTyping: () => store?.notTyping(),
    }),
    [state, store],
  );
}

export interface UseArtifact extends ArtifactState {
  /** Loads the next page of chats (appended to `chats`). */
  loadMoreChats(): Promise<void>;
  /** Shows another chat (undefined: the next message starts a new chat); kept per tab, the URL is not touched. */
  selectChat(threadsId: string | undefined): void;
  /**
   * Sends through EnsureChatForArtifactAndSendMessage: into the selected chat, or a new one that becomes selected.
   * Reuse `options.idempotencyKey` when retrying the same user action (useComposer does).
   */
  send(text: string, options?: ArtifactSendOptions): Promise<SendResult>;
  retry(): void;
  /** The user is typing on this artifact (e.g. the first message of a new chat about it). */
  typing(): void;
  /** The user stopped typing on this artifact. */
  notTyping(): void;
}

/**
 * An artifact, live: loads it (GetArtifact, the first page of GetArtifactChats), follows StreamArtifactUpdates
 * (content, title, version, chats added or removed), keeps the selected chat. `artifactId` undefined: `idle`.
 */
export function useArtifact(artifactId: string | undefined): UseArtifact {
  const [state, store] = useLiveStore((b) => (artifactId ? b.artifact(artifactId) : undefined), artifactId, IDLE_ARTIFACT);
  return useMemo(
    () => ({
      ...state,
      loadMoreChats: () => store?.loadMoreChats() ?? idleAction(),
      selectChat: (threadsId: string | undefined) => store?.selectChat(threadsId),
      send: (text: string, options?: ArtifactSendOptions) => store?.send(text, options) ?? idleAction(),
      retry: () => store?.retry(),
      typing: () => store?.typing(),
      notTyping: () => store?.notTyping(),
    }),
    [state, store],
  );
}

export interface Composer<R> {
  text: string;
  setText(text: string): void;
  /**
   * Sends the text: resolves to the send's result, or undefined when nothing was sent (empty text, or it failed:
   * see `error`). A submit while one is in flight joins it (a double click sends once); a submit after a failure
   * reuses the failed attempt's idempotency key while text and target are unchanged (a retry, never a duplicate).
   */
  submit(): Promise<R | undefined>;
  sending: boolean;
  error: AmeideError | undefined;
  /** Put on the input's `onBlur`: the user left the composer, so they are no longer typing. */
  onBlur(): void;
}

/** Where the composer says the user is typing: a useChat or useArtifact (both have these). */
export interface TypingTarget {
  typing(): void;
  notTyping(): void;
}

interface Draft<R> {
  text: string;
  target: string | undefined;
  key: string;
  inflight: Promise<R | undefined> | undefined;
}

/**
 * A message composer with one idempotency key per user action. `send` gets the text and the key; `target` (e.g.
 * the selected chat) is part of the action: a different target is a new action with a new key. With `presence`
 * (the useChat or useArtifact written to), the others see the user typing while the text changes (throttled; it
 * lapses a few seconds after the last change), and no longer once it is sent, cleared or the input is left.
 *
 * ```ts
 * const artifact = useArtifact(id);
 * const chat = useChat(artifact.selectedChatId);
 * const composer = useComposer((text, key) => artifact.send(text, { idempotencyKey: key }), {
 *   target: artifact.selectedChatId,
 *   presence: artifact.selectedChatId ? chat : artifact,
 * });
 * ```
 */
export function useComposer<R>(
  send: (text: string, idempotencyKey: string) => Promise<R>,
  options: { target?: string; presence?: TypingTarget } = {},
): Composer<R> {
  const [text, setTextState] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<AmeideError | undefined>(undefined);
  const textRef = useRef("");
  const draft = useRef<Draft<R> | undefined>(undefined);
  const sendRef = useRef(send);
  sendRef.current = send;
  const presenceRef = useRef(options.presence);
  presenceRef.current = options.presence;
  const target = options.target;

  const setText = useCallback((value: string) => {
    const changed = value !== textRef.current;
    textRef.current = value;
    setTextState(value);
    if (changed) {
      if (value.trim() === "") {
        presenceRef.current?.notTyping();
      } else {
        presenceRef.current?.typing();
      }
    }
  }, []);

  const onBlur = useCallback(() => presenceRef.current?.notTyping(), []);

  const submit = useCallback((): Promise<R | undefined> => {
    const value = textRef.current;
    if (draft.current?.inflight) {
      return draft.current.inflight;
    }
    if (value.trim() === "") {
      return Promise.resolve(undefined);
    }
    let current = draft.current;
    if (!current || current.text !== value || current.target !== target) {
      current = { text: value, target, key: newKey(), inflight: undefined };
      draft.current = current;
    }
    const action = current;
    setSending(true);
    setError(undefined);
    action.inflight = (async () => {
      try {
        const result = await sendRef.current(value, action.key);
        presenceRef.current?.notTyping();
        if (draft.current === action) {
          draft.current = undefined;
        }
        if (textRef.current === value) {
          setText("");
        }
        return result;
      } catch (failure) {
        setError(toAmeideError(failure));
        return undefined;
      } finally {
        action.inflight = undefined;
        setSending(false);
      }
    })();
    return action.inflight;
  }, [target, setText]);

  return { text, setText, submit, sending, error, onBlur };
}

export interface UsePagedList<T> extends ListState<T> {
  /** Appends the next page (no-op on the last one). */
  loadMore(): Promise<void>;
  /** Loads the first page again. */
  reload(): void;
}

function usePagedList<T>(key: string | undefined, make: (bindings: Bindings) => PagedList<T>): UsePagedList<T> {
  const bindings = useBindings();
  // `key` names the query `make` runs (make itself is a new closure on every render).
  const list = useMemo(() => (key === undefined ? undefined : make(bindings)), [bindings, key]);
  useEffect(() => {
    list?.start();
    return () => list?.stop();
  }, [list]);
  const idle = useMemo(() => idleList<T>(), []);
  const state = useSyncExternalStore(list?.subscribe ?? noSubscription, () => (list ? list.getSnapshot() : idle), () => idle);
  return useMemo(() => ({ ...state, loadMore: () => list?.loadMore() ?? idleAction(), reload: () => list?.reload() }), [state, list]);
}

export type ChatFilterInit = MessageInitShape<typeof ChatFilterSchema>;

/**
 * The caller's chats (own, and the tenant's TEAM/PUBLIC ones), most recently active first. `consistencyToken` (a
 * write's answer) makes the list wait until that write is visible; a new token loads the list again.
 */
export function useChats(options: { filter?: ChatFilterInit; pageSize?: number; consistencyToken?: string } = {}): UsePagedList<Chat> {
  const key = JSON.stringify(options, (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
  return usePagedList(key, (b) => {
    const pageSize = options.pageSize ?? b.settings.pageSizes.chats;
    const { filter, consistencyToken } = options;
    const fetch = async (pageToken: string) => {
      const page = await b.client.threadsQueries.listChats({ pageSize, pageToken, filter, consistencyToken });
      return { items: page.threads, nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    };
    return new PagedList(fetch, (chat) => chat.id, b.settings);
  });
}

/**
 * The tenant's artifacts (without content), most recently updated first; optionally of one kind or one chat.
 * `consistencyToken` (e.g. CreateArtifact's) makes the list wait until that write is visible; a new token reloads.
 */
export function useArtifacts(options: { kind?: string; threadsId?: string; pageSize?: number; consistencyToken?: string } = {}): UsePagedList<ArtifactView> {
  const key = JSON.stringify(options);
  return usePagedList(key, (b) => {
    const pageSize = options.pageSize ?? b.settings.pageSizes.artifacts;
    const { kind, threadsId, consistencyToken } = options;
    const fetch = async (pageToken: string) => {
      const page = await b.client.artifactQueries.listArtifacts({ pageSize, pageToken, kind, threadsId, consistencyToken });
      return { items: page.artifacts, nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    };
    return new PagedList(fetch, (artifact) => artifact.id, b.settings);
  });
}

export interface SearchHit {
  chat: Chat;
  /** The best-matching text with matches in <b>...</b>: render with snippetParts(), never as HTML. */
  snippet: string;
}

/** SearchChats over the caller's visible chats; a blank `query` is `idle` (no call). */
export function useChatSearch(query: string, options: { pageSize?: number } = {}): UsePagedList<SearchHit> {
  const trimmed = query.trim();
  const key = trimmed === "" ? undefined : JSON.stringify([trimmed, options.pageSize]);
  return usePagedList(key, (b) => {
    const pageSize = options.pageSize ?? b.settings.pageSizes.chats;
    const fetch = async (pageToken: string) => {
      const page = await b.client.threadsQueries.searchChats({ query: trimmed, pageSize, pageToken });
      const items = page.threads.map((chat) => ({ chat, snippet: page.snippets[chat.id] ?? "" }));
      return { items, nextPageToken: page.nextPageToken, totalCount: page.totalCount };
    };
    return new PagedList(fetch, (hit) => hit.chat.id, b.settings);
  });
}

/** A search snippet as text runs (`match` = inside <b>...</b>), for rendering as text nodes, never as HTML. */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  const pattern = /<b>(.*?)<\/b>/gs;
  let at = 0;
  for (const found of snippet.matchAll(pattern)) {
    if (found.index > at) {
      parts.push({ text: snippet.slice(at, found.index), match: false });
    }
    parts.push({ text: found[1] ?? "", match: true });
    at = found.index + found[0].length;
  }
  if (at < snippet.length) {
    parts.push({ text: snippet.slice(at), match: false });
  }
  return parts;
}
