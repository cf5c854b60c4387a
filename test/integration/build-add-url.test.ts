import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { writeContext, ok } from "../helpers/build";
import { after, before, describe, it } from "node:test";
import { gzip, makeTar, tempDir } from "../helpers/images";
import { useDaemon, type RunResult, type TestDaemon } from "../helpers/daemon";

/**
 * ADD of http(s) URLs: the daemon downloads from a server this test runs on 127.0.0.1.
 */

const T = 120_000;
const CLASSIC = { DOCKER_BUILDKIT: "0" };
const LAST_MODIFIED = new Date("2021-02-03T04:05:06Z");

let d: TestDaemon;
let work: string;
let server: http.Server;
let base: string;
const served = new Map<string, Buffer>();

const context = (dockerfile: string): string => writeContext(work, { Dockerfile: dockerfile });

async function runIn(image: string, cmd: string): Promise<string> {
  return ok(await d.docker(["run", "--rm", "--entrypoint", "sh", image, "-c", cmd]), `run ${cmd}`);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

describe("build: ADD <url>", { timeout: 600_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(async () => {
    work = tempDir("build-add-url");
    served.set("/files/hello.txt", Buffer.from("hello from http\n"));
    served.set("/files/archive.tar.gz", gzip(await makeTar([{ name: "inside.txt", data: "x" }])));
    server = http.createServer((req, res) => {
      const body = served.get(req.url ?? "");
      if (req.url === "/moved") {
        res.writeHead(302, { Location: "/files/hello.txt" }).end();
        return;
      }
      if (!body) {
        res.writeHead(404).end("no such file");
        return;
      }
      res.writeHead(200, { "Content-Length": body.length, "Last-Modified": LAST_MODIFIED.toUTCString() }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("downloads a file (mode 0600, mtime from Last-Modified), follows redirects, never extracts an archive, verifies --checksum", { timeout: T }, async () => {
    const hello = served.get("/files/hello.txt") as Buffer;
    const dir = context(
      [
        "FROM busybox",
        `ADD ${base}/files/hello.txt /hello.txt`,
        `ADD ${base}/files/archive.tar.gz /dl/`,
        `ADD --checksum=${sha256(hello)} ${base}/moved /checked/`,
        "",
      ].join("\n"),
    );
    ok(await d.docker(["build", "-t", "url:1", dir], { env: CLASSIC, timeoutMs: T }), "docker build");
    assert.equal(await runIn("url:1", "cat /hello.txt"), "hello from http\n");
    assert.equal((await runIn("url:1", "stat -c '%a %Y' /hello.txt")).trim(), `600 ${LAST_MODIFIED.getTime() / 1000}`);
    // An archive from a URL stays an archive.
    assert.equal((await runIn("url:1", "ls /dl")).trim(), "archive.tar.gz");
    assert.equal((await runIn("url:1", "cat /checked/moved")).trim(), "hello from http");
    const history = ok(await d.docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", "url:1"]));
    assert.match(history, /#\(nop\) ADD file:[0-9a-f]{64} in \/hello\.txt/);
  });

  it("the downloaded content is in the cache key: same content cached, new content runs the step again", { timeout: T }, async () => {
    const dir = context(["FROM busybox", `ADD ${base}/files/hello.txt /hello.txt`, "RUN cat /hello.txt > /copy", ""].join("\n"));
    ok(await d.wharf(["build", "--progress", "plain", "-t", "url:2", dir], { timeoutMs: T }));
    const cached = ok(await d.wharf(["build", "--progress", "plain", "-t", "url:2", dir], { timeoutMs: T }));
    assert.equal(cached.match(/Using cache/g)?.length, 2, cached);
    served.set("/files/hello.txt", Buffer.from("changed\n"));
    const changed = ok(await d.wharf(["build", "--progress", "plain", "-t", "url:3", dir], { timeoutMs: T }));
    assert.doesNotMatch(changed, /Using cache/);
    assert.equal(await runIn("url:3", "cat /copy"), "changed\n");
    ok(await d.docker(["rmi", "url:1", "url:2", "url:3"]));
  });

  it("errors name the line: HTTP status, a bad checksum, an unreachable server, --checksum on a local file; nothing is left behind", { timeout: T }, async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cases: Array<[string, RegExp]> = [
      [`ADD ${base}/files/missing.txt /x`, /line 2: ADD failed: failed to GET http:\/\/127\.0\.0\.1:\d+\/files\/missing\.txt with status 404 Not Found/],
      [`ADD --checksum=sha256:${"0".repeat(64)} ${base}/files/hello.txt /x`, /line 2: ADD failed: checksum mismatch for .*: expected sha256:0{64}, got sha256:[0-9a-f]{64}/],
      [`ADD --checksum=md5:abc ${base}/files/hello.txt /x`, /line 2: invalid checksum digest format "md5:abc"/],
      [`ADD http://127.0.0.1:${closedPort}/x /x`, /line 2: ADD failed: failed to GET http:\/\/127\.0\.0\.1:\d+\/x: .*ECONNREFUSED/],
      ["ADD --checksum=sha256:" + "0".repeat(64) + " Dockerfile /x", /line 2: checksum can't be specified for non-HTTP\(S\) sources/],
    ];
    for (const [line, re] of cases) {
      const r = await d.wharf(["build", "--progress", "plain", context(`FROM busybox\n${line}\n`)], { timeoutMs: T });
      assert.notEqual(r.code, 0, line);
      assert.match(r.stderr, re, `${line}: ${r.stderr}`);
    }
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(d.dataRoot) && l.includes("/containers/"));
    assert.deepEqual(mounts, []);
    const tmp = path.join(d.dataRoot, "tmp", "build");
    if (fs.existsSync(tmp)) assert.deepEqual(fs.readdirSync(tmp), []);
  });
});
