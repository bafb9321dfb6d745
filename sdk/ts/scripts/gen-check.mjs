// Fails when src/gen differs from what `buf generate` makes from ../../proto today (regenerate: npm run gen).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

const out = mkdtempSync(join(tmpdir(), "ameide-sdk-gen-"));
try {
  execFileSync("buf", ["generate", "--output", out], { stdio: "inherit" });
  const fresh = join(out, "src", "gen");
  const committed = join("src", "gen");
  const want = files(fresh);
  const have = files(committed);
  const drift = [
    ...want.filter((f) => !have.includes(f)).map((f) => `missing: ${f}`),
    ...have.filter((f) => !want.includes(f)).map((f) => `extra: ${f}`),
    ...want
      .filter((f) => have.includes(f))
      .filter((f) => !readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f))))
      .map((f) => `changed: ${f}`),
  ];
  if (drift.length > 0) {
    console.error(`src/gen is out of date with ../../proto (run \`npm run gen\`):\n  ${drift.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`src/gen matches the protos (${want.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
