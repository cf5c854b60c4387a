import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeContext, ok } from "../helpers/build";
import { after, before, describe, it } from "node:test";
import { makeTar, tempDir } from "../helpers/images";
import { spawn } from "node:child_process";
import { useDaemon, WHARF, type RunResult, type TestDaemon } from "../helpers/daemon";

/**
 * Dockerfile builds: the real docker CLI's classic builder (DOCKER_BUILDKIT=0) and `wharf build`
 * against a private wharfd, busybox as the only base image.
 */

const T = 120_000;
const CLASSIC = { DOCKER_BUILDKIT: "0" };

let d: TestDaemon;
let work: string;

const context = (files: Record<string, string | Buffer>): string => writeContext(work, files);

async function dockerBuild(args: string[]): Promise<RunResult> {
  return d.docker(["build", ...args], { env: CLASSIC, timeoutMs: T });
}

async function inspect<T = Record<string, unknown>>(ref: string, format = "{{json .}}"): Promise<T> {
  return JSON.parse(ok(await d.docker(["image", "inspect", "-f", format, ref]), "inspect")) as T;
}

async function runIn(image: string, cmd: string): Promise<string> {
  return ok(await d.docker(["run", "--rm", "--entrypoint", "sh", image, "-c", cmd]), `run ${cmd}`);
}

describe("build", { timeout: 600_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(() => {
    work = tempDir("build-it");
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("docker build (classic) runs every instruction; the image's Config and history are docker's", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: [
        "# syntax=docker/dockerfile:1",
        "FROM busybox AS base",
        "ARG GREETING=hello",
        "ENV APP=/app \\",
        "    MODE=test",
        "# a comment inside",
        "WORKDIR $APP/sub",
        "COPY a.txt ./",
        'RUN echo "$GREETING from ${MODE:-x}${NOPE:-dflt}${MODE:+set}" > run.txt && rm -f /etc/motd',
        'LABEL org.example.one=1 "two"="two words"',
        "EXPOSE 80 53/udp",
        "VOLUME /data",
        "USER 1000:1000",
        "STOPSIGNAL SIGUSR1",
        "HEALTHCHECK --interval=5s --retries=2 CMD true",
        'SHELL ["/bin/sh", "-ec"]',
        "ONBUILD RUN echo triggered",
        'ENTRYPOINT ["cat"]',
        'CMD ["run.txt"]',
        "",
      ].join("\n"),
      "a.txt": "A\n",
    });
    const r = await dockerBuild(["-t", "full:1", dir]);
    const out = ok(r, "build");
    assert.match(out, /Step 1\/16 : FROM busybox AS base\n ---> [0-9a-f]{12}\n/);
    assert.match(out, /Step 6\/16 : RUN echo/);
    assert.match(out, / ---> Running in [0-9a-f]{12}\n/);
    assert.match(out, /Successfully built [0-9a-f]{12}\nSuccessfully tagged full:1\n/);
    const config = await inspect<Record<string, unknown>>("full:1", "{{json .Config}}");
    assert.deepEqual((config.Env as string[]).filter((e) => !e.startsWith("PATH=")), ["APP=/app", "MODE=test"]);
    assert.deepEqual(config.Entrypoint, ["cat"]);
    assert.deepEqual(config.Cmd, ["run.txt"]);
    assert.equal(config.WorkingDir, "/app/sub");
    assert.equal(config.User, "1000:1000");
    assert.deepEqual(config.ExposedPorts, { "53/udp": {}, "80/tcp": {} });
    assert.deepEqual(config.Volumes, { "/data": {} });
    assert.deepEqual(config.Labels, { "org.example.one": "1", two: "two words" });
    assert.equal(config.StopSignal, "SIGUSR1");
    assert.deepEqual(config.Healthcheck, { Test: ["CMD-SHELL", "true"], Interval: 5e9, Retries: 2 });
    assert.deepEqual(config.OnBuild, ["RUN echo triggered"]);
    assert.deepEqual(config.Shell, ["/bin/sh", "-ec"]);
    // The RUN's output file, through the image's entrypoint and cmd.
    assert.equal(ok(await d.docker(["run", "--rm", "full:1"])), "hello from testdfltset\n");
    const history = ok(await d.docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", "full:1"])).trim().split("\n");
    // As Docker 20.10's classic builder writes them (the #(nop) prefix follows SHELL).
    assert.deepEqual(history.slice(0, 10), [
      '/bin/sh -ec #(nop)  CMD ["run.txt"]|0B',
      '/bin/sh -ec #(nop)  ENTRYPOINT ["cat"]|0B',
      "/bin/sh -ec #(nop)  ONBUILD RUN echo triggered|0B",
      "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]|0B",
      `/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" '\\x02'}|0B`,
      "/bin/sh -c #(nop)  STOPSIGNAL SIGUSR1|0B",
      "/bin/sh -c #(nop)  USER 1000:1000|0B",
      "/bin/sh -c #(nop)  VOLUME [/data]|0B",
      "/bin/sh -c #(nop)  EXPOSE 53/udp 80|0B",
      "/bin/sh -c #(nop)  LABEL org.example.one=1 two=two words|0B",
    ]);
    assert.ok(history.some((h) => h.startsWith('|1 GREETING=hello /bin/sh -c echo "$GREETING')), history.join("\n"));
    assert.ok(history.some((h) => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \.\/ \|2B$/.test(h)), history.join("\n"));
    assert.ok(history.includes("/bin/sh -c #(nop) WORKDIR /app/sub|0B"), history.join("\n"));
    // The RUN layer holds the deletion as a whiteout; the runtime's mount points are not in it.
    assert.equal(await runIn("full:1", "test -e /etc/motd && echo there || echo gone"), "gone\n");
    const rootfs = await inspect<{ Layers: string[] }>("full:1", "{{json .RootFS}}");
    assert.equal(rootfs.Layers.length, 4); // busybox, WORKDIR, COPY, RUN
    // ONBUILD fires in a child build.
    const child = context({ Dockerfile: "FROM full:1\nRUN test -f /app/sub/a.txt\n" });
    const cr = ok(await dockerBuild(["-t", "child:1", child]), "child build");
    assert.match(cr, /# Executing 1 build trigger\n/);
    assert.match(cr, /triggered\n/);
    assert.equal(await inspect("child:1", "{{json .Config.OnBuild}}"), null);
  });

  it("an identical rebuild uses the cache and yields the same image id in a fraction of the time", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: "FROM busybox\nCOPY . /src\nRUN sleep 1 && wc -c /src/f > /count\nCMD cat /count\n",
      "f": "12345",
    });
    const t0 = Date.now();
    const first = ok(await dockerBuild(["-t", "cached:1", dir]));
    const cold = Date.now() - t0;
    const id1 = await inspect<string>("cached:1", "{{json .Id}}");
    const t1 = Date.now();
    const second = ok(await dockerBuild(["-t", "cached:1", dir]));
    const warm = Date.now() - t1;
    assert.doesNotMatch(first, /Using cache/);
    assert.equal(second.match(/ ---> Using cache/g)?.length, 3, second);
    assert.equal(await inspect<string>("cached:1", "{{json .Id}}"), id1);
    assert.equal(ok(await dockerBuild(["-q", dir])).trim(), id1); // docker build -q prints the id
    assert.ok(warm < cold, `warm ${warm} ms vs cold ${cold} ms`);
    // A changed source file misses the COPY and everything after it.
    fs.writeFileSync(path.join(dir, "f"), "123456");
    const third = ok(await dockerBuild(["-t", "cached:2", dir]));
    assert.equal(third.match(/ ---> Using cache/g), null, third);
    assert.equal(await runIn("cached:2", "cat /count"), "6 /src/f\n");
    // Mode changes count too (metadata), mtimes alone do not.
    fs.utimesSync(path.join(dir, "f"), new Date(1_000_000), new Date(1_000_000));
    assert.equal(ok(await dockerBuild(["-t", "cached:2", dir])).match(/ ---> Using cache/g)?.length, 3);
    fs.chmodSync(path.join(dir, "f"), 0o600);
    assert.equal(ok(await dockerBuild(["-t", "cached:3", dir])).match(/ ---> Using cache/g), null);
    // --no-cache rebuilds everything: a new id.
    const fresh = ok(await dockerBuild(["--no-cache", "-t", "cached:4", dir]));
    assert.doesNotMatch(fresh, /Using cache/);
    assert.notEqual(await inspect<string>("cached:4", "{{json .Id}}"), await inspect<string>("cached:3", "{{json .Id}}"));
  });

  it("build args: defaults, --build-arg, ARG before FROM, used args in the cache key, unused args warned", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: ["ARG BASE=busybox", "FROM $BASE", "ARG BASE", "ARG V=one", "RUN echo $V $BASE > /v", "CMD cat /v", ""].join("\n"),
    });
    ok(await dockerBuild(["-t", "args:1", dir]));
    assert.equal(await runIn("args:1", "cat /v"), "one busybox\n");
    const r = ok(await dockerBuild(["--build-arg", "V=two", "--build-arg", "UNUSED=x", "-t", "args:2", dir]));
    assert.equal(r.match(/Using cache/g)?.length, 2, r); // ARG BASE, ARG V hit; the RUN sees V=two
    assert.match(r, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
    assert.equal(await runIn("args:2", "cat /v"), "two busybox\n");
    // ARG values are not kept in the image's environment.
    assert.doesNotMatch(JSON.stringify(await inspect("args:2", "{{json .Config.Env}}")), /V=two/);
  });

  it("multi-stage: COPY --from a stage and an image, --target, stages the target does not need are skipped", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: [
        "FROM busybox AS broken",
        "RUN echo never && false",
        "FROM busybox AS builder",
        "RUN mkdir /out && echo built > /out/artifact",
        "FROM scratch AS final",
        "COPY --from=builder /out/artifact /artifact",
        "COPY --from=busybox /bin/busybox /bin/busybox",
        "COPY --from=1 /out /out2",
        'CMD ["/bin/busybox", "cat", "/artifact"]',
        "",
      ].join("\n"),
    });
    const r = ok(await dockerBuild(["-t", "multi:1", dir]));
    assert.doesNotMatch(r, /never/);
    assert.match(r, /Step 1\/7 : FROM busybox AS builder/);
    assert.equal(ok(await d.docker(["run", "--rm", "multi:1"])), "built\n");
    assert.equal(ok(await d.docker(["run", "--rm", "multi:1", "/bin/busybox", "cat", "/out2/artifact"])), "built\n");
    const layers = await inspect<{ Layers: string[] }>("multi:1", "{{json .RootFS}}");
    assert.equal(layers.Layers.length, 3);
    // --target stops at the named stage.
    ok(await dockerBuild(["--target", "builder", "-t", "multi:builder", dir]));
    assert.equal(await runIn("multi:builder", "cat /out/artifact"), "built\n");
    // The broken stage is reachable only by targeting it.
    const broken = await dockerBuild(["--target", "broken", dir]);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stdout + broken.stderr, /never/);
  });

  it(".dockerignore: patterns, ** and ! exceptions, checked by the daemon too", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: "FROM busybox\nCOPY . /ctx\nRUN cd /ctx && find . -type f | sort > /list\n",
      ".dockerignore": "# comment\n*.log\n!keep.log\n**/secret\ntmp/\n/docs/*.md\n!docs/README.md\n",
      "a.log": "x",
      "keep.log": "x",
      "src/secret": "x",
      "src/deep/secret": "x",
      "src/code.c": "x",
      "tmp/t": "x",
      "docs/a.md": "x",
      "docs/README.md": "x",
    });
    ok(await dockerBuild(["-t", "ignore:1", dir]));
    const list = (await runIn("ignore:1", "cat /list")).trim().split("\n");
    assert.deepEqual(list, ["./.dockerignore", "./Dockerfile", "./docs/README.md", "./keep.log", "./src/code.c"]);
    // The daemon applies .dockerignore itself: a raw context upload with every file.
    const tar = await makeTar([
      { name: "Dockerfile", data: "FROM busybox\nCOPY . /ctx\n" },
      { name: ".dockerignore", data: "secret*\n" },
      { name: "secret.txt", data: "s" },
      { name: "public.txt", data: "p" },
    ]);
    const res = await rawBuild(tar, "t=ignore:2");
    assert.equal(res.status, 200, res.body);
    assert.equal(await runIn("ignore:2", "ls -A /ctx | sort | tr '\\n' ' '"), ".dockerignore Dockerfile public.txt ");
  });

  it("COPY and ADD: globs, directories, --chown, --chmod, local tar archives extracted, heredocs", { timeout: T }, async () => {
    const archive = await makeTar([
      { name: "x/", type: "directory" },
      { name: "x/in-tar.txt", data: "from tar" },
    ]);
    const dir = context({
      Dockerfile: [
        "FROM busybox",
        "COPY *.txt /globbed/",
        "COPY dir /copied",
        "COPY --chown=1234:5678 --chmod=0640 one.txt /owned",
        "ADD archive.tar /unpacked/",
        "ADD one.txt /added.txt",
        "COPY <<EOF /here.txt",
        "hello ${NAME:-heredoc}",
        "EOF",
        "RUN <<EOF",
        "echo from heredoc script > /script.out",
        "echo second line >> /script.out",
        "EOF",
        "",
      ].join("\n"),
      "one.txt": "1",
      "two.txt": "2",
      "dir/a": "a",
      "dir/sub/b": "b",
      "archive.tar": archive,
    });
    ok(await dockerBuild(["-t", "copy:1", dir]));
    const out = await runIn(
      "copy:1",
      "ls /globbed | tr '\\n' ' '; echo; find /copied | sort | tr '\\n' ' '; echo; stat -c '%u:%g %a' /owned; cat /unpacked/x/in-tar.txt; echo; cat /added.txt; echo; cat /here.txt /script.out",
    );
    assert.equal(
      out,
      "one.txt two.txt \n/copied /copied/a /copied/sub /copied/sub/b \n1234:5678 640\nfrom tar\n1\nhello heredoc\nfrom heredoc script\nsecond line\n",
    );
  });

  it("FROM scratch, the escape directive, JSON and shell forms, ENTRYPOINT resets an inherited CMD", { timeout: T }, async () => {
    const dir = context({
      Dockerfile: ["# escape=`", "FROM busybox", "ENV A=1 `", "    B=2", "ENTRYPOINT echo $A$B", ""].join("\n"),
    });
    ok(await dockerBuild(["-t", "escape:1", dir]));
    const config = await inspect<Record<string, unknown>>("escape:1", "{{json .Config}}");
    assert.deepEqual(config.Entrypoint, ["/bin/sh", "-c", "echo $A$B"]);
    assert.equal(config.Cmd ?? null, null); // busybox's CMD ["sh"] is dropped by a new ENTRYPOINT
    assert.equal(ok(await d.docker(["run", "--rm", "escape:1"])), "12\n");
    const scratch = context({ Dockerfile: "FROM scratch\nCOPY f /f\nLABEL a=b\n", f: "x" });
    ok(await dockerBuild(["-t", "scratch:1", scratch]));
    assert.equal((await inspect<{ Layers: string[] }>("scratch:1", "{{json .RootFS}}")).Layers.length, 1);
  });

  it("bad input: an unknown instruction with its line, COPY ../x, a missing --from stage, an unknown --target", { timeout: T }, async () => {
    const before = ok(await d.docker(["images", "-aq"])).trim().split("\n").length;
    const cases: Array<[string, RegExp, string[]?]> = [
      ["FROM busybox\n\nFOO bar\n", /dockerfile parse error on line 3: unknown instruction: FOO/],
      ["FROM busybox\nCOPY ../x /x\n", /forbidden path outside the build context: \.\.\/x/],
      ["FROM busybox\nCOPY --from=nosuchstage /x /x\n", /invalid from flag value nosuchstage/],
      ["FROM busybox AS a\nRUN true\n", /failed to reach build target nope in Dockerfile/, ["--target", "nope"]],
      ["RUN true\n", /no build stage in current context/],
      ["FROM busybox\nCOPY missing.txt /\n", /file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/],
    ];
    for (const [df, re, extra] of cases) {
      const r = await dockerBuild([...(extra ?? []), context({ Dockerfile: df })]);
      assert.notEqual(r.code, 0, df);
      assert.match(r.stderr + r.stdout, re, df);
    }
    // Raw API: a body that is not a tar, a context without the named Dockerfile, bad JSON options.
    const garbage = await rawBuild(Buffer.from("this is not a tar archive at all, not even close".repeat(20)), "t=x:1");
    assert.equal(garbage.status, 400, garbage.body);
    assert.match(garbage.body, /build context/);
    const noDf = await rawBuild(await makeTar([{ name: "other", data: "x" }]), "dockerfile=Nope");
    assert.equal(noDf.status, 400);
    assert.match(noDf.body, /Cannot locate specified Dockerfile: Nope/);
    const badArgs = await rawBuild(await makeTar([{ name: "Dockerfile", data: "FROM busybox\n" }]), "buildargs=%7Bnot-json");
    assert.equal(badArgs.status, 400);
    assert.match(badArgs.body, /invalid buildargs/);
    // Nothing half-built stayed: at most the steps that succeeded before an error (none here but
    // cached config steps), and no containers.
    assert.equal(ok(await d.docker(["ps", "-aq"])).trim(), "");
    assert.ok(ok(await d.docker(["images", "-aq"])).trim().split("\n").length <= before + 2);
  });

  it("a failing RUN shows its output and exit code, fails the build, and leaves nothing behind", { timeout: T }, async () => {
    const dir = context({ Dockerfile: "FROM busybox\nRUN echo before-failing && echo on-stderr >&2 && exit 3\n" });
    const r = await dockerBuild(["-t", "fails:1", dir]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /before-failing\n/);
    assert.match(r.stdout + r.stderr, /on-stderr/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo before-failing && echo on-stderr >&2 && exit 3' returned a non-zero code: 3/);
    assert.equal(ok(await d.docker(["ps", "-aq"])).trim(), "");
    assert.equal((await d.docker(["image", "inspect", "fails:1"])).code, 1);
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(d.dataRoot) && l.includes("/containers/"));
    assert.deepEqual(mounts, []);
    const snapshotDirs = fs.readdirSync(path.join(d.dataRoot, "snapshots", "containers")).filter((n) => !n.startsWith("."));
    assert.deepEqual(snapshotDirs, []);
    const tmp = path.join(d.dataRoot, "tmp", "build");
    assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], []);
  });

  it("wharf build: -t, -f outside the context, --label, -q, --iidfile, --network none; builder prune empties the cache", { timeout: T }, async () => {
    const dir = context({ "f.txt": "F" });
    const df = path.join(work, "Other.Dockerfile");
    fs.writeFileSync(df, "FROM busybox\nCOPY f.txt /f\nRUN ! wget -q -T 1 -O- http://192.0.2.1/ 2>/dev/null\n");
    const r = await d.wharf(["build", "-t", "w:1", "-t", "w:2", "-f", df, "--label", "made=wharf", "--network", "none", dir], { timeoutMs: T });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Step 3\/4 : RUN/);
    assert.match(r.stdout, /Successfully tagged w:1\nSuccessfully tagged w:2\n/);
    assert.deepEqual(await inspect("w:2", "{{json .Config.Labels}}"), { made: "wharf" });
    const iid = path.join(work, "iid");
    const q = await d.wharf(["build", "-q", "--iidfile", iid, "-f", df, "--label", "made=wharf", "--network", "none", dir], { timeoutMs: T });
    assert.equal(q.code, 0, q.stderr);
    const id = await inspect<string>("w:1", "{{json .Id}}");
    assert.equal(q.stdout, `${id}\n`);
    assert.equal(fs.readFileSync(iid, "utf8"), id);
    // A failing RUN through wharf: its code and docker's message.
    const bad = await d.wharf(["build", "-"], { input: "FROM busybox\nRUN exit 7\n", timeoutMs: T });
    assert.equal(bad.code, 7);
    assert.match(bad.stderr, /returned a non-zero code: 7/);
    // builder prune: the cache goes, the tagged images stay, the next build runs every step.
    const pruned = await d.wharf(["builder", "prune", "-f"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /Total reclaimed space: /);
    assert.equal((await d.docker(["image", "inspect", "w:1"])).code, 0);
    const again = await d.wharf(["build", "-t", "w:1", "-f", df, "--label", "made=wharf", "--network", "none", dir], { timeoutMs: T });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /Using cache/);
    const api = await d.api("POST", "/build/prune");
    assert.equal(api.status, 200);
    assert.ok("CachesDeleted" in api.json<Record<string, unknown>>() && "SpaceReclaimed" in api.json<Record<string, unknown>>());
  });

  it("wharf build --progress tty: one line per step with its time, cached steps marked, a failing step's output shown", { timeout: T }, async () => {
    const dir = context({ Dockerfile: "FROM busybox\nRUN echo live-output\nENV X=1\n" });
    const first = await d.wharf(["build", "--progress", "tty", "-t", "live:1", dir], { timeoutMs: T });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /\r\x1b\[K\[2\/3\] RUN echo live-output \| live-output/);
    assert.match(first.stdout, /\r\x1b\[K\[2\/3\] RUN echo live-output  \d+\.\ds\n/);
    assert.match(first.stdout, /Successfully tagged live:1\nBuild finished in \d+\.\ds\n$/);
    const second = await d.wharf(["build", "--progress", "tty", "-t", "live:1", dir], { timeoutMs: T });
    assert.match(second.stdout, /\[2\/3\] RUN echo live-output  CACHED\n/);
    assert.match(second.stdout, /\[3\/3\] ENV X=1  CACHED\n/);
    const bad = await d.wharf(["build", "--progress", "tty", "-"], { input: "FROM busybox\nRUN echo first-line && echo second-line && exit 2\n", timeoutMs: T });
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /\[2\/2\] RUN echo first-line && echo second-line && exit 2  ERROR\n  first-line\n  second-line\n/);
    // Plain progress is the classic log.
    const plain = await d.wharf(["build", "--progress", "plain", dir], { timeoutMs: T });
    assert.match(plain.stdout, /Step 2\/3 : RUN echo live-output\n ---> Using cache\n/);
  });

  it("a client that goes away stops the build; a daemon crash mid-build leaves no build container or scratch root after restart", { timeout: T }, async () => {
    const dir = context({ Dockerfile: "FROM busybox\nRUN sleep 30\n" });
    const waitForContainer = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        if (ok(await d.docker(["ps", "-aq"])).trim() !== "") return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail("the RUN container never appeared");
    };
    const waitForNone = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        if (ok(await d.docker(["ps", "-aq"])).trim() === "") return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail("the RUN container is still there");
    };
    // The client is killed: the RUN is stopped and its container removed.
    const client = spawn(process.execPath, [WHARF, "-H", d.host, "build", dir], { stdio: "ignore" });
    await waitForContainer();
    client.kill("SIGKILL");
    const t0 = Date.now();
    await waitForNone();
    assert.ok(Date.now() - t0 < 9000);
    // The daemon dies mid-RUN: after the restart nothing of the build is left.
    const crashing = spawn(process.execPath, [WHARF, "-H", d.host, "build", dir], { stdio: "ignore" });
    await waitForContainer();
    await d.crashAndRestart();
    crashing.kill("SIGKILL");
    assert.equal(ok(await d.docker(["ps", "-aq"])).trim(), "");
    const snapshotDirs = fs.readdirSync(path.join(d.dataRoot, "snapshots", "containers")).filter((n) => !n.startsWith("."));
    assert.deepEqual(snapshotDirs, []);
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(d.dataRoot) && l.includes("/containers/"));
    assert.deepEqual(mounts, []);
  });
});

describe("build under authorization rules", { timeout: 120_000 }, () => {
  const rules = path.join(fs.mkdtempSync("/tmp/wharf-build-authz-"), "rules.json");
  fs.writeFileSync(rules, JSON.stringify({ denyHostNamespaces: true }));
  after(() => fs.rmSync(path.dirname(rules), { recursive: true, force: true }));
  useDaemon((daemon) => (d = daemon), ["--authorization-rules", rules]);

  it("a RUN may not use the host network when the rules deny host namespaces", { timeout: T }, async () => {
    const dir = fs.mkdtempSync(path.join(path.dirname(rules), "ctx-"));
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM busybox\nRUN true\n");
    const viaFlag = await d.wharf(["build", "--network", "host", dir], { timeoutMs: T });
    assert.notEqual(viaFlag.code, 0);
    assert.match(viaFlag.stderr, /authorization denied by wharf rules/);
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM busybox\nRUN --network=host true\n");
    const viaDockerfile = await d.wharf(["build", dir], { timeoutMs: T });
    assert.match(viaDockerfile.stderr, /authorization denied by wharf rules/);
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM busybox\nRUN true\n");
    assert.equal((await d.wharf(["build", dir], { timeoutMs: T })).code, 0);
    assert.equal(ok(await d.docker(["ps", "-aq"])).trim(), "");
  });
});

/** POST /build with a raw tar body. */
async function rawBuild(tar: Buffer, query: string): Promise<{ status: number; body: string }> {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: d.socketPath, method: "POST", path: `/v1.44/build?${query}`, headers: { "Content-Type": "application/x-tar", "Content-Length": tar.length } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(tar);
  });
}
