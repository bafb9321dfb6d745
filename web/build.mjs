// Builds the web app into the web deployable's bundle (services/web/src/ameide_web/static), or into --outdir.
//
// Reproducible: the same sources and lockfile give byte-identical output (no timestamps, no absolute paths, no
// source maps; esbuild's content hashes name the files), which scripts/check-drift.mjs relies on.
//
// Layout of the output:
//   index.html                 web/index.html with the entry's <link>/<script> tags (served with no-cache)
//   assets/<name>-<HASH>.js    the bundle and any split chunks, CSS and files it imports (immutable)
//   favicon.svg, ...           web/public/ copied as is
//
// Resolution: `@ameide/sdk/...` is the TypeScript SDK's sources (../sdk/ts/src, tsconfig "paths"), compiled
// into the bundle: no SDK build step. Every bare import (react, @bufbuild/protobuf, ...), from the app or from
// the SDK's files, resolves from web/node_modules, so there is one copy of each package, whatever else is
// installed next to the SDK.
import * as esbuild from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUT = resolve(WEB, "../services/web/src/ameide_web/static");
const ENTRY = "src/main.tsx";
const HEAD_MARK = "<!-- build.mjs puts the bundle's stylesheets and script here -->";

function outdirFromArgs(argv) {
  const at = argv.indexOf("--outdir");
  return at >= 0 && argv[at + 1] ? resolve(argv[at + 1]) : DEFAULT_OUT;
}

// Bare imports from files outside web/ (the SDK's sources) resolve as if imported from web/.
const oneCopyOfEachPackage = {
  name: "resolve-packages-from-web",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData?.fromWeb || !args.importer || !relative(WEB, args.importer).startsWith("..")) {
        return undefined;
      }
      const result = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: WEB,
        pluginData: { fromWeb: true },
      });
      return result.errors.length > 0 ? { errors: result.errors } : result;
    });
  },
};

// `import href from "pkg/file.css?url"`: the file is emitted as is (content-hashed, under assets/) and the import
// is its absolute URL. Used for stylesheets a lazily loaded chunk links itself (bpmn-js's), which esbuild would
// otherwise emit beside the chunk without telling the page. The path in the "url" namespace is relative to web/:
// esbuild hashes a plugin namespace's paths as they are, so an absolute path would make the chunk names depend on
// where the checkout lives (and the drift check fail in any other clone).
const importAsUrl = {
  name: "import-as-url",
  setup(build) {
    build.onResolve({ filter: /\?url$/ }, async (args) => {
      const result = await build.resolve(args.path.slice(0, -"?url".length), { kind: args.kind, resolveDir: args.resolveDir });
      return result.errors.length > 0 ? { errors: result.errors } : { path: relative(WEB, result.path), namespace: "url" };
    });
    build.onLoad({ filter: /.*/, namespace: "url" }, (args) => ({
      contents: readFileSync(resolve(WEB, args.path)),
      loader: "file",
    }));
  },
};

export async function buildInto(outdir) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: WEB,
    entryPoints: { app: ENTRY },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox121", "safari17"],
    minify: true,
    sourcemap: false,
    legalComments: "eof",
    entryNames: "assets/[name]-[hash]",
    chunkNames: "assets/chunk-[hash]",
    assetNames: "assets/[name]-[hash]",
    publicPath: "/",
    loader: { ".svg": "file", ".png": "file", ".woff2": "file" },
    define: { "process.env.NODE_ENV": '"production"' },
    metafile: true,
    logLevel: "warning",
    tsconfig: "tsconfig.build.json",
    plugins: [importAsUrl, oneCopyOfEachPackage],
  });
  const entryOutputs = Object.entries(result.metafile.outputs).filter(([, output]) => output.entryPoint === ENTRY);
  const script = entryOutputs.map(([path]) => path).find((path) => path.endsWith(".js"));
  const styles = entryOutputs.map(([, output]) => output.cssBundle).filter(Boolean);
  if (!script) {
    throw new Error(`esbuild produced no script for ${ENTRY}`);
  }
  // Chunks the entry imports statically (code shared with lazily loaded chunks, e.g. React) are preloaded, so the
  // browser fetches them in parallel with the entry instead of after parsing it.
  const shared = result.metafile.outputs[script].imports.filter((imported) => imported.kind === "import-statement").map((imported) => imported.path);
  const url = (path) => "/" + relative(outdir, resolve(WEB, path)).split("\\").join("/");
  const tags = [
    ...styles.map((path) => `<link rel="stylesheet" href="${url(path)}" />`),
    ...shared.map((path) => `<link rel="modulepreload" href="${url(path)}" />`),
    `<script type="module" src="${url(script)}"></script>`,
  ].join("\n    ");
  const page = readFileSync(join(WEB, "index.html"), "utf8");
  if (!page.includes(HEAD_MARK)) {
    throw new Error(`web/index.html lost the marker ${HEAD_MARK}`);
  }
  writeFileSync(join(outdir, "index.html"), page.replace(HEAD_MARK, tags));
  if (existsSync(join(WEB, "public"))) {
    cpSync(join(WEB, "public"), outdir, { recursive: true });
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = outdirFromArgs(process.argv.slice(2));
  await buildInto(outdir);
  console.log(`built ${relative(process.cwd(), outdir) || "."}`);
}
