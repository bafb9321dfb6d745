// scripts/doc-examples.mjs: how the documents' TypeScript examples become type-checked modules, and that an example
// which drifted from the SDK fails the build with the document's location.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const script = join(pkg, "scripts", "doc-examples.mjs");
const scratch: string[] = [];

after(() => {
  for (const dir of scratch) {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A folder inside the package (so the SDK's dependencies resolve) holding one document. */
function documentWith(markdown: string): string {
  mkdirSync(join(pkg, "dist"), { recursive: true });
  const dir = mkdtempSync(join(pkg, "dist", "doc-examples-"));
  scratch.push(dir);
  writeFileSync(join(dir, "guide.md"), markdown);
  return dir;
}

function generate(dir: string): { status: number | null; stderr: string } {
  const result = spawnSync("node", [script, "--root", dir, "--out", join(dir, "generated")], { encoding: "utf8" });
  return { status: result.status, stderr: result.stderr };
}

/** tsc over the generated modules with the package's own settings. */
function typeCheck(dir: string): { status: number | null; output: string } {
  const config = join(dir, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(pkg, "tsconfig.json"),
      compilerOptions: { noEmit: true, rootDir: pkg },
      include: [join(dir, "generated", "*.ts")],
      exclude: [],
    }),
  );
  const tsc = join(pkg, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync("node", [tsc, "-p", config], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("doc-examples.mjs", () => {
  it("builds each ts block into a module that names its document and line, with the package import rewritten", () => {
    const dir = documentWith(
      '# Guide\n\n```ts\nimport { pageThrough } from "@ameide/sdk";\n\nconst page = await client.threadsQueries.getMessages({ threadsId });\nrender(page.messages);\n```\n\n```text\nnot an example\n```\n',
    );
    assert.equal(generate(dir).status, 0);
    const modules = readdirSync(join(dir, "generated")).filter((name) => name !== "index.ts");
    assert.deepEqual(modules, ["guide-md-4.ts"]);
    const module = readFileSync(join(dir, "generated", "guide-md-4.ts"), "utf8");
    assert.match(module, /from guide\.md:4/);
    assert.match(module, /import \{ pageThrough \} from "\.\.\/\.\.\/\.\.\/src\/index\.js";/);
    const index = readFileSync(join(dir, "generated", "index.ts"), "utf8");
    assert.match(index, /where: "guide\.md:4", calls: \["render"\]/);
    assert.equal(typeCheck(dir).status, 0);
  });

  it("fails the type check of an example that calls what the SDK does not have", () => {
    const dir = documentWith("```ts\nconst reply = await client.threadsQueries.fetchChat({ threadsId });\n```\n");
    assert.equal(generate(dir).status, 0);
    const { status, output } = typeCheck(dir);
    assert.notEqual(status, 0);
    assert.match(output, /guide-md-2\.ts.*Property 'fetchChat' does not exist/);
    assert.match(readFileSync(join(dir, "generated", "guide-md-2.ts"), "utf8"), /from guide\.md:2/);
  });

  it("fails the type check of an option the SDK does not take", () => {
    const dir = documentWith("```ts\nfor await (const update of client.subscribeChat(threadsId, { resume: \"x\" })) {\n  apply(update);\n}\n```\n");
    assert.equal(generate(dir).status, 0);
    assert.match(typeCheck(dir).output, /'resume' does not exist in type 'SubscribeOptions'/);
  });

  it("refuses an unknown mode word instead of skipping the example", () => {
    const dir = documentWith("```ts static\nconst x = 1;\n```\n");
    const { status, stderr } = generate(dir);
    assert.notEqual(status, 0);
    assert.match(stderr, /guide\.md:1: 'ts static': a ts example takes one of the modes run/);
  });

  it("turns the dev endpoints into the running services' address", () => {
    const dir = documentWith('```ts\nconst url = "http://127.0.0.1:50052";\nconsole.log(url);\n```\n');
    assert.equal(generate(dir).status, 0);
    const module = readFileSync(join(dir, "generated", "guide-md-2.ts"), "utf8");
    assert.match(module, /const url = endpoint\("http:\/\/127\.0\.0\.1:50052"\);/);
  });

  it("lists the shell examples with the preludes of their folder", () => {
    const dir = documentWith("```bash prelude\nhelper() { :; }\n```\n\n```bash\nhelper\n```\n\n```bash static\nameide dev\n```\n");
    execFileSync("node", [script, "--root", dir, "--out", join(dir, "generated")]);
    const index = readFileSync(join(dir, "generated", "index.ts"), "utf8");
    assert.match(index, /"where": "guide\.md:6",\s+"mode": "run",\s+"code": "helper\\n",\s+"prelude": \[\s+"helper\(\) \{ :; \}\\n"/);
    assert.doesNotMatch(index, /ameide dev/);
  });
});
