import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

describe("update: live resource limits and restart policy", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const cg = (controller: string, id: string, file: string): string =>
    fs.readFileSync(`/sys/fs/cgroup/${controller}/wharf-test/${id}/${file}`, "utf8").trim();

  test("memory, cpus, cpu-shares and pids-limit change on a running container", async () => {
    const run = await d.docker(["run", "-d", "--name", "upd", "-m", "64m", "busybox", "sleep", "300"]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const upd = await d.docker(["update", "-m", "96m", "--memory-swap", "192m", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "40", "upd"]);
    assert.equal(upd.code, 0, upd.stderr);
    assert.equal(upd.stdout, "upd\n");
    assert.equal(cg("memory", id, "memory.limit_in_bytes"), String(96 * 1024 * 1024));
    assert.equal(cg("cpu", id, "cpu.cfs_quota_us"), "50000");
    assert.equal(cg("cpu", id, "cpu.shares"), "512");
    assert.equal(cg("pids", id, "pids.max"), "40");
    const hc = await d.docker(["inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "upd"]);
    assert.equal(hc.stdout.trim(), `${96 * 1024 * 1024} 500000000 40`);
  });

  test("the restart policy changes; bad values are refused and change nothing", async () => {
    const policy = await d.wharf(["update", "--restart", "on-failure:3", "upd"]);
    assert.equal(policy.code, 0, policy.stderr);
    const got = await d.docker(["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "upd"]);
    assert.equal(got.stdout.trim(), "on-failure:3");
    const tooSmall = await d.docker(["update", "-m", "1m", "upd"]);
    assert.notEqual(tooSmall.code, 0);
    assert.match(tooSmall.stderr, /Minimum memory limit allowed is 6MB/);
    const tooManyCpus = await d.docker(["update", "--cpus", "64", "upd"]);
    assert.match(tooManyCpus.stderr, /Range of CPUs is from 0.01/);
    const mem = await d.docker(["inspect", "--format", "{{.HostConfig.Memory}}", "upd"]);
    assert.equal(mem.stdout.trim(), String(96 * 1024 * 1024));
  });

  test("a memory limit below the current usage is refused", async () => {
    const hog = await d.docker(["run", "-d", "--name", "hog", "-m", "64m", "busybox", "sh", "-c", "mkdir /dev/shm/x; head -c 30000000 /dev/zero > /dev/shm/x/f; sleep 300"]);
    assert.equal(hog.code, 0, hog.stderr);
    const id = hog.stdout.trim();
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && Number(cg("memory", id, "memory.usage_in_bytes")) < 25_000_000) await new Promise((r) => setTimeout(r, 100));
    const r = await d.docker(["update", "-m", "10m", "--memory-swap", "20m", "hog"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Cannot update container/);
    const mem = await d.docker(["inspect", "--format", "{{.HostConfig.Memory}}", "hog"]);
    assert.equal(mem.stdout.trim(), String(64 * 1024 * 1024), "nothing changed");
    assert.equal((await d.docker(["rm", "-f", "hog", "upd"])).code, 0);
  });
});
