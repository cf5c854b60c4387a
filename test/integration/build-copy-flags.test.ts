import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeContext, ok } from "../helpers/build";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/images";
import { useDaemon, type RunResult, type TestDaemon } from "../helpers/daemon";

/** COPY --parents and COPY/ADD --exclude (BuildKit's labs syntax) in the classic builder. */

const T = 120_000;

let d: TestDaemon;
let work: string;

const context = (files: Record<string, string>): string => writeContext(work, files);

async function tree(image: string, dir: string): Promise<string[]> {
  return ok(await d.docker(["run", "--rm", "--entrypoint", "find", image, dir, "-type", "f"])).trim().split("\n").sort();
}

describe("build: COPY --parents and --exclude", { timeout: 600_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(() => {
    work = tempDir("build-copy-flags");
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("--parents keeps the source paths (below a ./ pivot); --exclude leaves matching files out, also inside directories", { timeout: T }, async () => {
    const dir = context({
      "Dockerfile": [
        "# syntax=docker/dockerfile:1.7-labs",
        "FROM busybox",
        "COPY --parents packages/*/package.json /app/",
        "COPY --parents ./src/./lib/util.js /pivot/",
        "COPY --exclude=*.md --exclude=tmp docs /docs/",
        "COPY --exclude=*.txt hom* /home-files/",
        "",
      ].join("\n"),
      "packages/a/package.json": "{}",
      "packages/b/package.json": "{}",
      "packages/b/index.js": "x",
      "src/lib/util.js": "u",
      "docs/guide.html": "g",
      "docs/README.md": "r",
      "docs/tmp/scratch.html": "s",
      "docs/sub/page.html": "p",
      "homework.js": "h",
      "homefile.txt": "t",
    });
    ok(await d.wharf(["build", "--progress", "plain", "-t", "flags:1", dir], { timeoutMs: T }), "build");
    assert.deepEqual(await tree("flags:1", "/app"), ["/app/packages/a/package.json", "/app/packages/b/package.json"]);
    assert.deepEqual(await tree("flags:1", "/pivot"), ["/pivot/lib/util.js"]);
    assert.deepEqual(await tree("flags:1", "/docs"), ["/docs/guide.html", "/docs/sub/page.html"]);
    assert.deepEqual(await tree("flags:1", "/home-files"), ["/home-files/homework.js"]);
    // The patterns are in the cache key: another --exclude copies again.
    fs.writeFileSync(path.join(dir, "Dockerfile"), fs.readFileSync(path.join(dir, "Dockerfile"), "utf8").replace("--exclude=tmp ", ""));
    ok(await d.wharf(["build", "--progress", "plain", "-t", "flags:2", dir], { timeoutMs: T }), "build 2");
    assert.deepEqual(await tree("flags:2", "/docs"), ["/docs/guide.html", "/docs/sub/page.html", "/docs/tmp/scratch.html"]);
    const bad = await d.wharf(["build", "--progress", "plain", context({ Dockerfile: "FROM busybox\nCOPY --exclude=* a.txt /x\n", "a.txt": "a" })], { timeoutMs: T });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /line 2: COPY failed: every source is excluded by --exclude/);
    ok(await d.docker(["rmi", "flags:1", "flags:2"]));
  });
});
