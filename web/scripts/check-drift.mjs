// Fails when the committed bundle (services/web/src/ameide_web/static) is not what `npm run build` makes from
// web/ today: rebuilds into a temporary directory and compares every file byte for byte.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { buildInto } from "../build.mjs";

const COMMITTED = resolve(dirname(fileURLToPath(import.meta.url)), "../../services/web/src/ameide_web/static");

function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

const fresh = mkdtempSync(join(tmpdir(), "ameide-web-build-"));
try {
  await buildInto(fresh);
  const want = files(fresh);
  const have = files(COMMITTED);
  const drift = [
    ...want.filter((f) => !have.includes(f)).map((f) => `missing: ${f}`),
    ...have.filter((f) => !want.includes(f)).map((f) => `extra: ${f}`),
    ...want
      .filter((f) => have.includes(f))
      .filter((f) => !readFileSync(join(fresh, f)).equals(readFileSync(join(COMMITTED, f))))
      .map((f) => `changed: ${f}`),
  ];
  if (drift.length > 0) {
    console.error(`the committed web bundle is out of date with web/ (run \`npm run build\` in web/):\n  ${drift.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`the committed web bundle matches web/ (${want.length} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
