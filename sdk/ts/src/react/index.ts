// @ameide/sdk/react: React bindings (react is a peer dependency). Works in browsers and in Node tests.
export { AmeideProvider, useAmeideClient } from "./provider.js";
export type { AmeideProviderProps } from "./provider.js";
export { ArtifactProvider, ChatProvider, useArtifactContext, useChatContext } from "./contexts.js";
export { snippetParts, useArtifact, useArtifacts, useChat, useChatSearch, useChats, useComposer } from "./hooks.js";
export type { ChatFilterInit, Composer, SearchHit, TypingTarget, UseArtifact, UseChat, UsePagedList } from "./hooks.js";
export type { ArtifactSendOptions, ArtifactState } from "./artifact-store.js";
export type { ChatState, NewArtifact } from "./chat-store.js";
export type { PageSizes } from "./bindings.js";
export type { ListState } from "./paged-list.js";
export { AmeideError, toAmeideError } from "./status.js";
export type { AmeideErrorKind, FeedStatus, ListStatus } from "./status.js";
export { resumeTokenKey, selectedChatKey } from "./storage.js";
export type { KeyValueStorage } from "./storage.js";
export { newKey } from "./keys.js";
export type { LiveDraft, LiveParticipant, PresenceStateName } from "../live-signals.js";
