import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BUNDLE_NAME, CACHE_SUFFIX, loadCli } from "../../src/cli/launch";

// bin/wharf's loader: the bundle only when it is newer than the compiled modules, and a code
// cache only for the bundle it was made from.

const LAUNCH = path.join(__dirname, "..", "..", "src", "cli", "launch.js");
let dir = "";

/** A CommonJS file whose main() resolves with `value`. */
function writeEntry(file: string, value: string): void {
  fs.writeFileSync(file, `"use strict";exports.main=async()=>${JSON.stringify(value)};\n`);
}

function setTime(file: string, seconds: number): void {
  const t = new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
  fs.utimesSync(file, t, t);
}

/** loadCli(dir).main() in a fresh node (the cache is written at that process' exit). */
function runChild(): string {
  const code = `require(${JSON.stringify(LAUNCH)}).loadCli(${JSON.stringify(dir)}).main([]).then((v) => process.stdout.write(v))`;
  const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-launch-"));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test("without a bundle, the compiled modules", async () => {
  writeEntry(path.join(dir, "main.js"), "modules");
  assert.equal(await loadCli(dir).main([]), "modules");
});

test("a bundle newer than the modules is used; an older one is not", () => {
  const bundle = path.join(dir, BUNDLE_NAME);
  writeEntry(path.join(dir, "main.js"), "modules");
  writeEntry(bundle, "bundle1");
  setTime(path.join(dir, "main.js"), 100);
  setTime(bundle, 200);
  assert.equal(runChild(), "bundle1");
  // tsc ran after the last bundle: the bundle may be stale.
  setTime(path.join(dir, "main.js"), 300);
  assert.equal(runChild(), "modules");
});

test("the code cache is written once and never offered for a newer bundle", () => {
  const bundle = path.join(dir, BUNDLE_NAME);
  const cache = bundle + CACHE_SUFFIX;
  fs.rmSync(cache, { force: true });
  writeEntry(path.join(dir, "main.js"), "modules");
  writeEntry(bundle, "bundle1");
  setTime(path.join(dir, "main.js"), 100);
  setTime(bundle, 200);
  assert.equal(runChild(), "bundle1");
  assert.ok(fs.statSync(cache).size > 0, "the first run writes the cache");
  const written = fs.statSync(cache).mtimeMs;
  assert.equal(runChild(), "bundle1");
  assert.equal(fs.statSync(cache).mtimeMs, written, "a current cache is not rewritten");
  // Same length, other code: V8 alone would accept the old cache for it.
  writeEntry(bundle, "bundle2");
  const later = new Date(written + 60_000);
  fs.utimesSync(bundle, later, later);
  assert.equal(runChild(), "bundle2");
});
