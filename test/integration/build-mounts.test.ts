import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeContext, ok } from "../helpers/build";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/images";
import { useDaemon, type RunResult, type TestDaemon } from "../helpers/daemon";

/**
 * RUN --mount (cache, bind, secret, tmpfs) and RUN --network through `wharf build` and the
 * docker CLI's classic builder, against a private wharfd with busybox.
 */

const T = 120_000;
const CLASSIC = { DOCKER_BUILDKIT: "0" };

let d: TestDaemon;
let work: string;

const context = (files: Record<string, string | Buffer>): string => writeContext(work, files);

async function wharfBuild(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return d.wharf(["build", "--progress", "plain", ...args], { timeoutMs: T, env: opts.env });
}

async function runIn(image: string, cmd: string): Promise<string> {
  return ok(await d.docker(["run", "--rm", "--entrypoint", "sh", image, "-c", cmd]), `run ${cmd}`);
}

/** What a failed build may not leave: RUN containers, scratch or container mounts, half-made caches, temp dirs. */
async function assertNothingLeft(): Promise<void> {
  assert.equal(ok(await d.docker(["ps", "-aq", "--filter", "label=com.github.wharf.build"])).trim(), "");
  // Container roots and scratch roots alike are mounted under snapshots/containers/<id>/merged.
  const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(d.dataRoot) && l.includes("/containers/"));
  assert.deepEqual(mounts, []);
  const cacheRoot = path.join(d.dataRoot, "build-cache-mounts");
  if (fs.existsSync(cacheRoot)) assert.deepEqual(fs.readdirSync(cacheRoot).filter((n) => n.includes(".tmp-") || n.startsWith("private-")), []);
  const tmp = path.join(d.dataRoot, "tmp", "build");
  if (fs.existsSync(tmp)) assert.deepEqual(fs.readdirSync(tmp), []);
}

describe("build: RUN --mount and --network", { timeout: 900_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(() => {
    work = tempDir("build-mounts");
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("type=cache keeps its directory across builds, honours uid/gid/mode and from/source, stays out of the layer, and goes with builder prune", { timeout: T * 3 }, async () => {
    const dir = context({
      Dockerfile: [
        "FROM busybox AS seed",
        "RUN mkdir -p /s && echo seeded > /s/f",
        "FROM busybox",
        "ARG ROUND",
        "RUN --mount=type=cache,target=/cache,id=counter,sharing=locked echo $ROUND >> /cache/log && wc -l < /cache/log > /count",
        "RUN --mount=type=cache,target=/var/c2,uid=1000,gid=1000,mode=0700 stat -c '%u %g %a' /var/c2 > /c2stat",
        "RUN --mount=type=cache,target=/c3,from=seed,source=/s cat /c3/f > /seeded",
        "",
      ].join("\n"),
    });
    ok(await wharfBuild(["-t", "cache:1", "--build-arg", "ROUND=1", dir]), "first build");
    assert.equal((await runIn("cache:1", "cat /count")).trim(), "1");
    assert.equal((await runIn("cache:1", "cat /c2stat")).trim(), "1000 1000 700");
    assert.equal((await runIn("cache:1", "cat /seeded")).trim(), "seeded");
    // The mount targets the image lacked are not in the layers.
    assert.equal((await runIn("cache:1", "for p in /cache /var/c2 /c3; do test -e $p && echo $p; done; true")).trim(), "");
    // Another build (another ARG, so the step runs again) finds what the first left in the cache.
    ok(await wharfBuild(["-t", "cache:2", "--build-arg", "ROUND=2", dir]), "second build");
    assert.equal((await runIn("cache:2", "cat /count")).trim(), "2");
    const cacheRoot = path.join(d.dataRoot, "build-cache-mounts");
    const dirs = fs.readdirSync(cacheRoot).filter((n) => /^[0-9a-f]{32}$/.test(n));
    assert.equal(dirs.length, 3, fs.readdirSync(cacheRoot).join(" "));
    // system df counts them as build cache.
    const df = (await d.api("GET", "/system/df")).json<{ BuildCache: Array<{ Type: string; Size: number }> }>();
    assert.equal(df.BuildCache.filter((c) => c.Type === "exec.cachemount").length, 3);
    assert.ok(df.BuildCache.some((c) => c.Size > 0));
    // The docker CLI reads them as build cache records.
    assert.match(ok(await d.docker(["system", "df"])), /^Build Cache\s+3\s+0\s+/m);
    const verbose = ok(await d.wharf(["system", "df", "-v"]));
    assert.equal(verbose.match(/^[0-9a-f]{12}\s+exec\.cachemount\s+\S+\s+\S.* ago\s+.* ago\s+\d+\s+false$/gm)?.length, 3, verbose);
    const pruned = ok(await d.wharf(["builder", "prune", "-f"]));
    assert.match(pruned, /Total reclaimed space/);
    assert.deepEqual(fs.readdirSync(cacheRoot).filter((n) => /^[0-9a-f]{32}/.test(n)), []);
    ok(await wharfBuild(["-t", "cache:3", "--build-arg", "ROUND=3", dir]), "build after prune");
    assert.equal((await runIn("cache:3", "cat /count")).trim(), "1");
    ok(await d.wharf(["builder", "prune", "-f"]));
    ok(await d.docker(["rmi", "cache:1", "cache:2", "cache:3"]));
  });

  it("a daemon that died mid-build: at start half-made and private cache dirs and a step's secret files go, finished caches stay", { timeout: T }, async () => {
    const dir = context({ Dockerfile: "FROM busybox\nRUN --mount=type=cache,target=/c,id=keep echo kept > /c/f\n" });
    ok(await wharfBuild([dir]));
    const cacheRoot = path.join(d.dataRoot, "build-cache-mounts");
    const kept = fs.readdirSync(cacheRoot).filter((n) => /^[0-9a-f]{32}$/.test(n));
    assert.equal(kept.length, 1);
    // What a build killed with the daemon would leave: a cache being seeded, a private copy, a secret dir.
    fs.mkdirSync(path.join(cacheRoot, `${"a".repeat(32)}.tmp-0123456789ab`));
    fs.mkdirSync(path.join(cacheRoot, "private-0123456789abcdef"));
    fs.mkdirSync(path.join(d.dataRoot, "tmp", "build", "secret-xyz"), { recursive: true });
    await d.crashAndRestart();
    assert.deepEqual(fs.readdirSync(cacheRoot).filter((n) => !n.endsWith(".json")), kept);
    assert.equal(fs.readFileSync(path.join(cacheRoot, kept[0], "f"), "utf8"), "kept\n");
    assert.equal(fs.existsSync(path.join(d.dataRoot, "tmp", "build", "secret-xyz")), false);
    ok(await d.wharf(["builder", "prune", "-f"]));
  });

  it("type=bind: the context by default (read-only, its content in the cache key), rw changes thrown away, from a stage and from an image", { timeout: T * 2 }, async () => {
    const files = {
      Dockerfile: [
        "FROM busybox AS seed",
        "RUN mkdir -p /s && echo from-stage > /s/f",
        "FROM busybox",
        "RUN --mount=type=bind,target=/src cat /src/a.txt > /copied && if touch /src/x 2>/dev/null; then echo writable; exit 1; fi",
        "RUN --mount=type=bind,source=sub,target=/sub,rw echo changed > /sub/b.txt && cat /sub/b.txt > /rw-seen",
        "RUN --mount=type=bind,from=seed,source=/s,target=/m cat /m/f > /fromstage",
        "RUN --mount=type=bind,from=busybox,source=/bin,target=/bb test -x /bb/sh && echo yes > /fromimage",
        "",
      ].join("\n"),
      "a.txt": "one\n",
      "sub/b.txt": "original\n",
    };
    const dir = context(files);
    const first = ok(await d.docker(["build", "-t", "bind:1", dir], { env: CLASSIC, timeoutMs: T }), "docker build");
    assert.doesNotMatch(first, /Using cache/);
    assert.equal((await runIn("bind:1", "cat /copied")).trim(), "one");
    assert.equal((await runIn("bind:1", "cat /rw-seen")).trim(), "changed");
    assert.equal((await runIn("bind:1", "cat /fromstage")).trim(), "from-stage");
    assert.equal((await runIn("bind:1", "cat /fromimage")).trim(), "yes");
    assert.equal((await runIn("bind:1", "for p in /src /sub /m /bb; do test -e $p && echo $p; done; true")).trim(), "");
    // The rw bind wrote to a copy: the context the client sent is as it was.
    assert.equal(fs.readFileSync(path.join(dir, "sub/b.txt"), "utf8"), "original\n");
    // Same context: every RUN cached. A changed bound file: that RUN runs again.
    const again = ok(await d.docker(["build", "-t", "bind:2", dir], { env: CLASSIC, timeoutMs: T }));
    assert.equal(again.match(/Using cache/g)?.length, 5, again);
    fs.writeFileSync(path.join(dir, "a.txt"), "two\n");
    const changed = ok(await d.docker(["build", "-t", "bind:3", dir], { env: CLASSIC, timeoutMs: T }));
    assert.match(changed, /Step 4\/7 : RUN --mount=type=bind,target=\/src[^\n]*\n ---> Running in /);
    assert.equal((await runIn("bind:3", "cat /copied")).trim(), "two");
    ok(await d.docker(["rmi", "bind:1", "bind:2", "bind:3"]));
    await assertNothingLeft();
  });

  it("type=secret: --secret from a file and from the environment, never in the image, its history, the output or the cache key", { timeout: T * 2 }, async () => {
    const secretFile = path.join(work, "token.txt");
    fs.writeFileSync(secretFile, "s3cr3t-value");
    const dir = context({
      Dockerfile: [
        "FROM busybox",
        // The Dockerfile holds no secret: only lengths of what the RUNs saw go into the image.
        "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-len && stat -c '%a %u' /run/secrets/tok > /secret-stat",
        "RUN --mount=type=secret,id=tok,target=/etc/tok.txt,mode=0440,uid=1000 --mount=type=secret,id=api,env=API_KEY echo ${#API_KEY} > /env-len && stat -c '%a %u' /etc/tok.txt > /secret-stat2",
        "RUN --mount=type=secret,id=absent echo optional-ok > /optional",
        "",
      ].join("\n"),
    });
    const r = await wharfBuild(["-t", "secret:1", "--secret", `id=tok,src=${secretFile}`, "--secret", "id=api,env=WHARF_TEST_API", dir], { env: { WHARF_TEST_API: "from-env" } });
    const out = ok(r, "build with secrets");
    assert.doesNotMatch(out + r.stderr, /s3cr3t|from-env/);
    assert.equal((await runIn("secret:1", "cat /secret-len")).trim(), String("s3cr3t-value".length));
    assert.equal((await runIn("secret:1", "cat /env-len")).trim(), String("from-env".length));
    assert.equal((await runIn("secret:1", "cat /secret-stat")).trim(), "400 0");
    assert.equal((await runIn("secret:1", "cat /secret-stat2")).trim(), "440 1000");
    assert.equal((await runIn("secret:1", "cat /optional")).trim(), "optional-ok");
    assert.equal((await runIn("secret:1", "for p in /run/secrets /etc/tok.txt; do test -e $p && echo $p; done; true")).trim(), "");
    // Not in the daemon's metadata either (the RUN container's record never held them).
    const dbFiles = fs.readdirSync(d.dataRoot).filter((n) => n.startsWith("wharf.db"));
    assert.ok(dbFiles.length > 0);
    for (const name of dbFiles) {
      const db = fs.readFileSync(path.join(d.dataRoot, name));
      assert.ok(!db.includes("s3cr3t-value") && !db.includes("from-env"), name);
    }
    const history = ok(await d.docker(["history", "--no-trunc", "secret:1"]));
    assert.doesNotMatch(history, /s3cr3t|from-env/);
    const saved = await d.docker(["save", "secret:1"]);
    assert.equal(saved.code, 0);
    assert.ok(!saved.stdout.includes("s3cr3t") && !saved.stdout.includes("from-env"));
    // Another value for the secret: the steps are cached all the same (the value is not in the key).
    fs.writeFileSync(secretFile, "other");
    const cached = ok(await wharfBuild(["-t", "secret:2", "--secret", `id=tok,src=${secretFile}`, "--secret", "id=api,env=WHARF_TEST_API", dir], { env: { WHARF_TEST_API: "x" } }));
    assert.equal(cached.match(/Using cache/g)?.length, 3, cached);
    ok(await d.docker(["rmi", "secret:1", "secret:2"]));
    await assertNothingLeft();
  });

  it("RUN --network=none|host|default, and tmpfs mounts", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: [
        "FROM busybox",
        "RUN --network=none grep -c : /proc/net/dev > /none",
        "RUN --network=default grep -c : /proc/net/dev > /default",
        "RUN --network=host cat /proc/net/dev > /host",
        "RUN --mount=type=tmpfs,target=/scratch,size=1m echo x > /scratch/f && grep -q ' /scratch tmpfs' /proc/mounts && echo tmpfs > /tmpfs",
        "",
      ].join("\n"),
    });
    ok(await wharfBuild(["-t", "net:1", dir]));
    assert.equal((await runIn("net:1", "cat /none")).trim(), "1");
    assert.equal((await runIn("net:1", "cat /default")).trim(), "2");
    assert.match(await runIn("net:1", "cat /host"), new RegExp(`${d.bridge}:`));
    assert.equal((await runIn("net:1", "cat /tmpfs; test -e /scratch && echo left; true")).trim(), "tmpfs");
    ok(await d.docker(["rmi", "net:1"]));
  });

  it("bad input: unknown mount type or option, a bad --network, a required secret missing, a missing bind source — the line named, nothing left behind", { timeout: T }, async () => {
    const cases: Array<[string, RegExp]> = [
      ["RUN --mount=type=nfs,target=/x true", /line 2: RUN --mount=type=nfs,target=\/x: unsupported mount type "nfs"/],
      ["RUN --mount=type=cache,target=/x,colour=blue true", /line 2: .*unexpected key 'colour'/],
      ["RUN --mount=type=cache,target=/x,sharing=sometimes true", /line 2: .*unsupported sharing value "sometimes"/],
      ["RUN --mount=type=cache true", /line 2: .*mount target is required/],
      ["RUN --network=bridge2 true", /line 2: unsupported RUN --network value "bridge2"/],
      ["RUN --mount=type=secret,id=needed,required true", /line 2: secret needed: not found/],
      ["RUN --mount=type=bind,source=nope,target=/x true", /line 2: RUN --mount source "nope" not found in the build context/],
      ["RUN --mount=type=bind,source=../../etc,target=/x true", /line 2: /],
      ["RUN --mount=type=bind,from=nosuch,target=/x true", /line 2: invalid mount from value nosuch: no build stage or local image named nosuch/],
    ];
    for (const [line, re] of cases) {
      const dir = context({ Dockerfile: `FROM busybox\n${line}\n` });
      const r = await wharfBuild([dir]);
      assert.notEqual(r.code, 0, line);
      assert.match(r.stderr, re, `${line}: ${r.stderr}`);
    }
    // --secret errors are the CLI's, before anything is sent.
    const dir = context({ Dockerfile: "FROM busybox\n" });
    const missingFile = await wharfBuild(["--secret", `id=x,src=${path.join(work, "nope")}`, dir]);
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.stderr, /failed to read secret x from .*nope/);
    const malformed = await wharfBuild(["--secret", "id=x,colour=red", dir]);
    assert.equal(malformed.code, 125);
    assert.match(malformed.stderr, /unexpected key 'colour'/);
    const big = path.join(work, "big-secret");
    fs.writeFileSync(big, Buffer.alloc(20 * 1024, 1));
    const tooBig = await wharfBuild(["--secret", `id=big,src=${big}`, dir]);
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /secrets too large/);
    await assertNothingLeft();
  });
});
