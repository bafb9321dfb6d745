// Module shapes TypeScript cannot see on its own.

/** A file bundled as is (build.mjs's "?url" imports): its URL under /assets/, content-hashed. */
declare module "*?url" {
  const url: string;
  export default url;
}

/** bpmn-auto-layout ships no types: it adds diagram interchange (shapes, edges) to a BPMN document. */
declare module "bpmn-auto-layout" {
  export function layoutProcess(xml: string): Promise<string>;
}

/** Style sheets imported for their side effect (bundled into the entry's CSS by esbuild). */
declare module "*.css";
