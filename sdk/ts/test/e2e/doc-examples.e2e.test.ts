// Every TypeScript and shell example of the repository's documents, run against the real services (started by
// tools/run_with_stack.py). `npm run build` builds the examples into test/examples/generated/ first (tsc has then
// type-checked each one against the SDK); docs/examples.md is the convention.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

import { AmeideClient, bearerAuth } from "../../src/index.js";
import {
  type Recorded,
  type ShellExample,
  type TypeScriptExample,
  bpmn,
  exampleContext,
  liveFeeds,
  seed,
} from "../examples/context.js";
import { env } from "../stack-env.js";

// A safety net only: every wait ends as soon as what it waits for has happened.
const BOUND_MS = 60_000;
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const COMMAND = env("AMEIDE_COMMAND_TARGET");
const QUERY = env("AMEIDE_QUERY_TARGET");

// Imported by a computed path: the build generates the module, so tsc alone never depends on it.
const generated = "../examples/generated/index.js";
const { typescriptExamples, shellExamples } = (await import(generated).catch((error: unknown) => {
  throw new Error("test/examples/generated is missing: build with `npm run build` (it generates the examples)", { cause: error });
})) as { typescriptExamples: TypeScriptExample[]; shellExamples: ShellExample[] };

const sessions: Http2SessionManager[] = [];
const workDirs: string[] = [];
after(() => {
  for (const manager of sessions) {
    manager.abort();
  }
  for (const dir of workDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
});

function clientFor(token: string): AmeideClient {
  const interceptors = [bearerAuth(token)];
  const commands = new Http2SessionManager(`http://${COMMAND}`);
  const queries = new Http2SessionManager(`http://${QUERY}`);
  sessions.push(commands, queries);
  return AmeideClient.withTransports({
    commands: createGrpcTransport({ baseUrl: `http://${COMMAND}`, interceptors, sessionManager: commands }),
    queries: createGrpcTransport({ baseUrl: `http://${QUERY}`, interceptors, sessionManager: queries }),
  });
}

/** The example's code talks to the running services instead of the dev ports (docs/examples.md). */
function withEndpoints(code: string): string {
  return code.replaceAll(/(127\.0\.0\.1|localhost):50051/g, COMMAND).replaceAll(/(127\.0\.0\.1|localhost):50052/g, QUERY);
}

/** The working directory of the examples: the sample diagram, inside the package so `npx` finds the local buf. */
function workDir(): string {
  mkdirSync(join(pkg, "dist"), { recursive: true });
  const dir = mkdtempSync(join(pkg, "dist", "examples-"));
  workDirs.push(dir);
  writeFileSync(join(dir, "order-process.bpmn"), bpmn(2));
  return dir;
}

/** Runs one TypeScript example; a failure names the document and line it is written at. */
export async function runTypeScript(example: TypeScriptExample): Promise<void> {
  const token = env("AMEIDE_TEST_TOKEN");
  const recorded: Recorded = new Map();
  const client = clientFor(token);
  const context = await exampleContext(client, token, withEndpoints, recorded);
  const restore = liveFeeds(client);
  const cwd = process.cwd();
  process.chdir(workDir());
  try {
    await example.run(context);
  } catch (error) {
    throw new Error(`${example.where}: ${String(error)}`, { cause: error });
  } finally {
    process.chdir(cwd);
    restore();
  }
  assert.ok(
    example.calls.length === 0 || example.calls.some((name) => recorded.has(name)),
    `${example.where}: never reached ${example.calls.join(", ")}`,
  );
}

describe("the documents' TypeScript examples", () => {
  assert.ok(typescriptExamples.length > 0);
  for (const example of typescriptExamples) {
    it(example.where, { timeout: BOUND_MS }, () => runTypeScript(example));
  }
});

/** The shell examples act as `ameide token --user alice --tenant acme` (the guides' helper): its chat and artifact. */
async function shellEnvironment(): Promise<NodeJS.ProcessEnv> {
  const token = execFileSync("ameide", ["token", "--user", "alice", "--tenant", "acme"], { encoding: "utf8" }).trim();
  const { artifactId, threadsId } = await seed(clientFor(token));
  return { ...process.env, CHAT: threadsId, ARTIFACT: artifactId };
}

/** Runs a shell example with bash (set -eu, pipefail); `stream` examples are stopped after their first message. */
export function runShell(example: ShellExample, environment: NodeJS.ProcessEnv): Promise<string> {
  const script = ["set -eu -o pipefail", ...example.prelude, example.code].map(withEndpoints).join("\n");
  const child = spawn("bash", ["--noprofile", "--norc", "-c", script], {
    cwd: workDir(),
    env: environment,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise<string>((resolvePromise, reject) => {
    let out = "";
    let err = "";
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (!settled) {
        settled = true;
        if (error) {
          reject(error);
        } else {
          resolvePromise(out);
        }
      }
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (example.mode === "stream" && firstMessage(out) !== undefined) {
        stop(child);
        settle(undefined);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on("close", (code) => {
      if (example.mode === "stream") {
        settle(new Error(`${example.where}: the stream ended (exit ${code}) before its first message\n${err}${out}`));
      } else if (code === 0) {
        settle(undefined);
      } else {
        settle(new Error(`${example.where}: exit ${code}\n${err}${out}`));
      }
    });
  });
}

function stop(child: ChildProcess): void {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** The first complete JSON object `buf curl` printed, if there is one yet. */
export function firstMessage(text: string): unknown {
  const start = text.indexOf("{");
  if (start < 0) {
    return undefined;
  }
  let depth = 0;
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") {
        i++;
      } else if (c === '"') {
        quoted = false;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === "{") {
      depth++;
    } else if (c === "}" && --depth === 0) {
      return JSON.parse(text.slice(start, i + 1)) as unknown;
    }
  }
  return undefined;
}

describe("the documents' shell examples", () => {
  assert.ok(shellExamples.length > 0);
  const environment = shellEnvironment();
  for (const example of shellExamples) {
    it(example.where, { timeout: BOUND_MS }, async () => {
      const out = await runShell(example, await environment);
      if (example.mode === "stream") {
        const greeting = firstMessage(out) as { control?: { kind?: string } };
        assert.equal(greeting.control?.kind, "KIND_SUBSCRIBED");
      }
    });
  }
});

describe("a broken example is caught", () => {
  it("a shell example calling an RPC that does not exist fails with its location", async () => {
    const [prelude] = shellExamples.filter((example) => example.mode === "prelude");
    assert.ok(prelude);
    const broken: ShellExample = {
      where: "docs/api/guide.md:7",
      mode: "run",
      code: `buf_call 127.0.0.1:50052/ameide_core_proto.threads.v1.ChatQueryService/FetchChat '{}'\n`,
      prelude: [prelude.code],
    };
    await assert.rejects(runShell(broken, await shellEnvironment()), /^Error: docs\/api\/guide\.md:7: exit/);
  });

  it("a TypeScript example that fails at run time fails with its location", async () => {
    const broken: TypeScriptExample = {
      where: "docs/api/guide.md:9",
      calls: [],
      run: async ({ client }) => {
        await client.threadsQueries.getChat({ threadsId: "chat-1" });
      },
    };
    await assert.rejects(runTypeScript(broken), /^Error: docs\/api\/guide\.md:9: ConnectError: \[invalid_argument\]/);
  });
});
