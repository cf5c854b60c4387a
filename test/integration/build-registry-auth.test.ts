import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { startDistributionRegistry, type DistributionRegistry } from "../helpers/distribution-registry";
import { tempDir } from "../helpers/images";
import { useDaemon, type RunResult, type TestDaemon } from "../helpers/daemon";

/**
 * FROM pulls a base image from a registry that wants a password, with the credentials the
 * client sends in POST /build's X-Registry-Config (the docker CLI's classic build, and wharf build).
 */

const T = 120_000;

let d: TestDaemon;
let work: string;
let reg: DistributionRegistry;

function ok(r: RunResult, what = "command"): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe("build: FROM with registry credentials", { timeout: 600_000 }, () => {
  useDaemon((daemon) => (d = daemon));
  before(async () => {
    work = tempDir("build-auth");
    reg = await startDistributionRegistry({ user: "alice", password: "wonder-land" });
    const file = path.join(work, "busybox.tar");
    ok(await d.wharf(["save", "-o", file, "busybox:latest"]));
    reg.push(`docker-archive:${file}:busybox:latest`, "team/base:1");
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("anonymous FROM is refused; after login the docker CLI's and wharf's builds pull with the credentials", { timeout: T * 2 }, async () => {
    const dir = fs.mkdtempSync(path.join(work, "ctx-"));
    fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM ${reg.host}/team/base:1\nRUN echo built > /built\n`);
    const env = { DOCKER_CONFIG: path.join(work, "cfg"), DOCKER_BUILDKIT: "0" };
    const anonymous = await d.docker(["build", dir], { env, timeoutMs: T });
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /denied|unauthorized|authentication required/i);

    ok(await d.docker(["login", "-u", "alice", "--password-stdin", reg.host], { env, input: "wonder-land\n" }), "docker login");
    const out = ok(await d.docker(["build", "-t", "authed:1", dir], { env, timeoutMs: T }), "docker build after login");
    assert.match(out, /Pulling from [^\n]*team\/base\n[\s\S]*Status: /);
    assert.equal(ok(await d.docker(["run", "--rm", "authed:1", "cat", "/built"])), "built\n");

    // wharf build reads the same config file and sends the same header.
    ok(await d.docker(["rmi", "authed:1", `${reg.host}/team/base:1`]));
    const wharfOut = ok(await d.wharf(["build", "--progress", "plain", "-t", "authed:2", dir], { env, timeoutMs: T }), "wharf build");
    assert.match(wharfOut, /Pulling from [^\n]*team\/base\n[\s\S]*Status: /);
    ok(await d.docker(["rmi", "authed:2", `${reg.host}/team/base:1`]));
  });
});
