// A DOM for React in Node tests: a happy-dom window, with only what React DOM and Testing Library use made
// global (Node's own fetch, AbortController, streams and URL stay in place for the SDK).
import { Window } from "happy-dom";

const window = new Window({ url: "http://localhost:8080/" });
const globals = [
  "window",
  "document",
  "navigator",
  "Node",
  "Element",
  "HTMLElement",
  "HTMLIFrameElement",
  "DocumentFragment",
  "MutationObserver",
  "getComputedStyle",
  "localStorage",
  "sessionStorage",
  "requestAnimationFrame",
  "cancelAnimationFrame",
] as const;
for (const name of globals) {
  const value: unknown = Reflect.get(window, name);
  Object.defineProperty(globalThis, name, { value: typeof value === "function" && name.startsWith("get") ? value.bind(window) : value, configurable: true, writable: true });
}
// React warns about updates outside act() unless it knows it runs under a test renderer.
Reflect.set(globalThis, "IS_REACT_ACT_ENVIRONMENT", true);
