// ChatProvider / ArtifactProvider (the spec's names): one useChat / useArtifact for a page, shared by every
// component below it through useChatContext / useArtifactContext.
import { type ReactElement, type ReactNode, createContext, createElement, useContext } from "react";

import { type UseArtifact, type UseChat, useArtifact, useChat } from "./hooks.js";

const ChatContext = createContext<UseChat | undefined>(undefined);
const ArtifactContext = createContext<UseArtifact | undefined>(undefined);

export function ChatProvider(props: { threadsId: string | undefined; children?: ReactNode }): ReactElement {
  return createElement(ChatContext.Provider, { value: useChat(props.threadsId) }, props.children);
}

export function ArtifactProvider(props: { artifactId: string | undefined; children?: ReactNode }): ReactElement {
  return createElement(ArtifactContext.Provider, { value: useArtifact(props.artifactId) }, props.children);
}

export function useChatContext(): UseChat {
  const chat = useContext(ChatContext);
  if (!chat) {
    throw new Error("useChatContext needs a <ChatProvider threadsId={...}> above it");
  }
  return chat;
}

export function useArtifactContext(): UseArtifact {
  const artifact = useContext(ArtifactContext);
  if (!artifact) {
    throw new Error("useArtifactContext needs an <ArtifactProvider artifactId={...}> above it");
  }
  return artifact;
}
