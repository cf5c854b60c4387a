import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeContext, ok } from "../helpers/build";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/images";
import { useDaemon, type RunResult, type TestDaemon } from "../helpers/daemon";

/**
 * Independent stages build side by side (two at a time), their output grouped per stage with
 * the classic `Step N/M` lines; a failing stage stops the build and leaves nothing behind.
 */

const T = 180_000;
const CLASSIC = { DOCKER_BUILDKIT: "0" };

let d: TestDaemon;
let work: string;

const context = (dockerfile: string): string => writeContext(work, { Dockerfile: dockerfile });

/**
 * A RUN that announces itself in a shared cache dir and waits (at most ~60 s) for its partner:
 * it only succeeds when both stages' RUNs are running at the same time.
 */
function rendezvous(me: string, partner: string): string {
  return `RUN --mount=type=cache,target=/sync,id=rendezvous-${process.pid} touch /sync/${me} && i=0; while [ ! -e /sync/${partner} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -e /sync/${partner} && echo ${me}-met-${partner} > /${me}`;
}

describe("build: parallel stages", { timeout: 900_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(() => {
    work = tempDir("build-parallel");
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("two independent stages run at once; the output keeps Step N/M and each stage's lines together", { timeout: T }, async () => {
    const dir = context(
      [
        "FROM busybox AS left",
        rendezvous("left", "right"),
        "FROM busybox AS right",
        rendezvous("right", "left"),
        "FROM busybox",
        "COPY --from=left /left /left",
        "COPY --from=right /right /right",
        "",
      ].join("\n"),
    );
    const out = ok(await d.docker(["build", "-t", "par:1", dir], { env: CLASSIC, timeoutMs: T }), "docker build");
    const run = ok(await d.docker(["run", "--rm", "par:1", "cat", "/left", "/right"]));
    assert.equal(run, "left-met-right\nright-met-left\n");
    // Every step announced once, with its number out of 7.
    const steps = [...out.matchAll(/^Step (\d+)\/7 : /gm)].map((m) => Number(m[1]));
    assert.deepEqual([...steps].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7], out);
    // Each stage's lines are one block: between a stage's FROM and its RUN's result, no other stage's step.
    const blocks = out.split(/^(?=Step \d+\/7 : )/m).filter((b) => b.startsWith("Step "));
    for (const block of blocks) {
      const n = Number(/^Step (\d+)/.exec(block)![1]);
      if (n === 2 || n === 4) assert.match(block, /^Step \d\/7 : RUN [^\n]*\n ---> Running in [0-9a-f]{12}\n(Removing intermediate container [0-9a-f]{12}\n)? ---> [0-9a-f]{12}\n$/, block);
    }
    assert.ok(steps.indexOf(2) === steps.indexOf(1) + 1 && steps.indexOf(4) === steps.indexOf(3) + 1, out);
    assert.deepEqual(steps.slice(-3), [5, 6, 7]);
    ok(await d.wharf(["builder", "prune", "-f"]));
    ok(await d.docker(["rmi", "par:1"]));
  });

  it("wharf build --progress tty with parallel stages: every step ends on one line of its own, with its time", { timeout: T }, async () => {
    const dir = context(["FROM busybox AS one", rendezvous("one", "two"), "FROM busybox AS two", rendezvous("two", "one"), "FROM busybox", "COPY --from=one /one /one", "COPY --from=two /two /two", ""].join("\n"));
    const r = await d.wharf(["build", "--progress", "tty", "-t", "par:2", dir], { timeoutMs: T });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let n = 1; n <= 7; n++) {
      const ends = r.stdout.match(new RegExp(`\\r\\x1b\\[K\\[${n}/7\\] [^\\r\\n]*  \\d+\\.\\ds\\n`, "g")) ?? [];
      assert.equal(ends.length, 1, `step ${n}: ${JSON.stringify(r.stdout)}`);
    }
    assert.match(r.stdout, /Successfully tagged par:2\nBuild finished in \d+\.\ds\n$/);
    ok(await d.wharf(["builder", "prune", "-f"]));
    ok(await d.docker(["rmi", "par:2"]));
  });

  it("a failing stage fails the build with its error while another runs; no build container, mount or temp dir is left", { timeout: T }, async () => {
    const dir = context(
      [
        "FROM busybox AS slow",
        `RUN --mount=type=cache,target=/sync,id=never-${process.pid} i=0; while [ ! -e /sync/never ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`,
        "FROM busybox AS failing",
        "RUN echo failing-now && exit 3",
        "FROM busybox",
        "COPY --from=slow /etc/hostname /a",
        "COPY --from=failing /etc/hostname /b",
        "",
      ].join("\n"),
    );
    const r = await d.wharf(["build", "--progress", "plain", dir], { timeoutMs: T });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo failing-now && exit 3' returned a non-zero code: 3/);
    assert.match(r.stdout, /failing-now/);
    assert.equal(ok(await d.docker(["ps", "-aq", "--filter", "label=com.github.wharf.build"])).trim(), "");
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(d.dataRoot) && l.includes("/containers/"));
    assert.deepEqual(mounts, []);
    const tmp = path.join(d.dataRoot, "tmp", "build");
    if (fs.existsSync(tmp)) assert.deepEqual(fs.readdirSync(tmp), []);
    ok(await d.wharf(["builder", "prune", "-f"]));
  });
});
