// The browser entries bundle for the browser with nothing from Node: esbuild (platform=browser) resolves every
// import from the sources, and the test fails on any `node:` import, Node builtin or Node-only package.
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

import { type Plugin, build } from "esbuild";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BROWSER_ENTRIES = ["src/index.ts", "src/web.ts", "src/mock/index.ts", "src/react/index.ts"];
const NODE_ONLY_PACKAGES = ["@connectrpc/connect-node"];
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Records every import that would pull Node into the bundle, with the file that imports it. */
function nodeImports(found: string[]): Plugin {
  return {
    name: "node-imports",
    setup(builder) {
      builder.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split("/").slice(0, args.path.startsWith("@") ? 2 : 1).join("/");
        if (args.path.startsWith("node:") || BUILTINS.has(args.path) || BUILTINS.has(bare) || NODE_ONLY_PACKAGES.includes(bare)) {
          found.push(`${args.path} (imported by ${args.importer.replace(ROOT, "")})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

async function bundle(entry: string): Promise<{ nodeImports: string[]; bytes: number; inputs: string[] }> {
  const found: string[] = [];
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [nodeImports(found)],
  });
  const output = result.outputFiles[0];
  return { nodeImports: found, bytes: output?.contents.length ?? 0, inputs: Object.keys(result.metafile.inputs) };
}

describe("browser entries", () => {
  for (const entry of BROWSER_ENTRIES) {
    it(`${entry} bundles for the browser without Node modules`, async () => {
      const result = await bundle(entry);
      assert.deepEqual(result.nodeImports, []);
      assert.ok(result.bytes > 0);
      assert.ok(!result.inputs.some((input) => input.includes("connect-node")), "connect-node is in the bundle");
    });
  }

  it("notices a Node import (the check itself works)", async () => {
    const result = await bundle("src/node.ts");
    assert.ok(result.nodeImports.some((line) => line.startsWith("@connectrpc/connect-node")));
  });
});
