import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, test } from "node:test";
import * as fc from "fast-check";
import { applyLayer } from "../../src/lib/tar/apply";
import { makeTar, type TarEntry } from "../helpers/images";
import { fuzzParams, stringFrom } from "./fuzz-settings";

/**
 * Hostile layers: random archives of files, directories, symlinks, hard links and whiteouts
 * whose names and link targets climb with "..", go absolute, and reuse each other's names, so
 * that later entries try to write through earlier links. Whatever the archive, applying it
 * must change nothing outside the root: the sandbox around the root (sentinel files at every
 * level a relative "../.." can reach, and the absolute path of the sandbox itself) is
 * compared before and after.
 */

const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-fuzz-tar-"));
after(() => fs.rmSync(sandbox, { recursive: true, force: true }));

type EntryKind = "file" | "directory" | "symlink" | "link" | "whiteout" | "opaque";
interface Entry {
  kind: EntryKind;
  name: string;
  target: string;
  body: string;
  mode: number;
}

const NAME_PARTS = ["a", "b", "link", "..", ".", "", "outside", "sentinel"];
const name = fc.array(fc.constantFrom(...NAME_PARTS), { minLength: 1, maxLength: 5 }).chain((parts) =>
  fc.boolean().map((absolute) => (absolute ? "/" : "") + parts.join("/")),
);
const relativeTarget = stringFrom(["../", "a", "b/", "link", "outside/", "sentinel", "/"], 6);
function target(absoluteBase: string): fc.Arbitrary<string> {
  return fc.oneof(relativeTarget, relativeTarget.map((t) => path.join(absoluteBase, t)), fc.constantFrom("/", "..", "../../..", "/outside/sentinel"));
}

function entry(absoluteBase: string): fc.Arbitrary<Entry> {
  return fc.record({
    kind: fc.constantFrom<EntryKind>("file", "file", "directory", "symlink", "symlink", "link", "whiteout", "opaque"),
    name,
    target: target(absoluteBase),
    body: fc.constantFrom("x", "pwned", ""),
    mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o000),
  });
}

/** The entries as a layer tar; whiteouts and opaque markers are files with Docker's names. */
function archive(entries: Entry[]): Promise<Buffer> {
  return makeTar(
    entries.map((e): TarEntry => {
      const dir = path.posix.dirname(e.name);
      const base = path.posix.basename(e.name);
      switch (e.kind) {
        case "file":
          return { name: e.name, mode: e.mode, data: e.body };
        case "directory":
          return { name: e.name, type: "directory", mode: e.mode | 0o700 };
        case "symlink":
        case "link":
          return { name: e.name, type: e.kind, linkname: e.target };
        case "whiteout":
          return { name: path.posix.join(dir, `.wh.${base}`) };
        case "opaque":
          return { name: path.posix.join(e.name, ".wh..wh..opq") };
      }
    }),
  );
}

/** Everything under `dir` except `skip`, with type, mode, size, link target and content. */
function snapshot(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (p === skip) continue;
      const st = fs.lstatSync(p);
      let detail = `${st.mode}:${st.size}:${st.nlink}`;
      if (st.isSymbolicLink()) detail += `->${fs.readlinkSync(p)}`;
      else if (st.isFile()) detail += `=${fs.readFileSync(p, "utf8")}`;
      out.set(p, detail);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

let caseNumber = 0;

test("no archive writes outside the root it is applied to", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(entry(sandbox), { maxLength: 10 }), fc.array(entry(sandbox), { maxLength: 6 }), async (first, second) => {
      const box = path.join(sandbox, `case-${caseNumber++}`);
      // root sits three levels down, so "../../.." from it still lands inside the box
      const root = path.join(box, "l1", "l2", "root");
      fs.mkdirSync(root, { recursive: true });
      for (const level of [box, path.join(box, "l1"), path.join(box, "l1", "l2")]) {
        fs.mkdirSync(path.join(level, "outside"));
        fs.writeFileSync(path.join(level, "outside", "sentinel"), "original");
        fs.writeFileSync(path.join(level, "sentinel"), "original");
      }
      const before = snapshot(sandbox, root);
      try {
        for (const layer of [first, second]) {
          await applyLayer(root, Readable.from([await archive(layer)])).catch((err: unknown) => {
            assert.ok(err instanceof Error, `a rejection that is not an Error: ${String(err)}`);
          });
        }
        assert.deepEqual(snapshot(sandbox, root), before);
      } finally {
        fs.rmSync(box, { recursive: true, force: true });
      }
    }),
    fuzzParams(150),
  );
});
