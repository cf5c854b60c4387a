import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunResult } from "./daemon";

/** A build context: a new directory under `parent` holding `files` (paths may have directories). */
export function writeContext(parent: string, files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(parent, "ctx-"));
  for (const [name, data] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
  }
  return dir;
}

/** A command's stdout after asserting it exited 0, naming `what` and its output when it did not. */
export function ok(r: RunResult, what = "command"): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
