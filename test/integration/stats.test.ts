import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

describe("stats (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("the API answers in Docker's JSON shape with figures read from the cgroup", async () => {
    const run = await d.docker(["run", "-d", "--name", "busy", "--network", "none", "-m", "64m", "--pids-limit", "20", "busybox", "sh", "-c", "while true; do :; done"]);
    assert.equal(run.code, 0, run.stderr);
    const res = await d.api("GET", "/containers/busy/stats?stream=false");
    assert.equal(res.status, 200);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form stats JSON
    const s = res.json<any>();
    assert.equal(s.name, "/busy");
    assert.ok(s.cpu_stats.cpu_usage.total_usage > s.precpu_stats.cpu_usage.total_usage, "CPU time grows");
    assert.ok(s.cpu_stats.system_cpu_usage > 0);
    assert.equal(s.memory_stats.limit, 64 * 1024 * 1024);
    assert.ok(s.memory_stats.usage > 0);
    assert.equal(s.pids_stats.current, 1);
    assert.equal(s.pids_stats.limit, 20);
  });

  test("docker stats --no-stream shows a busy container's CPU and its memory limit", async () => {
    const r = await d.docker(["stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "busy"]);
    assert.equal(r.code, 0, r.stderr);
    const [name, cpu, mem, pids] = r.stdout.trim().split("|");
    assert.equal(name, "busy");
    assert.ok(parseFloat(cpu) > 20, `a spinning shell uses CPU: ${cpu}`);
    assert.match(mem, / \/ 64MiB$/);
    assert.equal(pids, "1");
    const w = await d.wharf(["stats", "--no-stream", "-a"]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n/);
    assert.match(w.stdout, /busy\s+\d+\.\d\d%\s+\S+ \/ 64MiB/);
    assert.equal((await d.docker(["rm", "-f", "busy"])).code, 0);
  });

  test("a stopped container's stats are empty, as Docker's", async () => {
    assert.equal((await d.docker(["create", "--name", "idle", "busybox", "true"])).code, 0);
    const r = await d.wharf(["stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", "idle"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "idle -- --");
    assert.equal((await d.docker(["rm", "idle"])).code, 0);
  });
});
