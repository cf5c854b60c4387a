import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nextHealth, probeCommand } from "../../src/engine/containers/health";
import { type TestDaemon, useDaemon } from "../helpers/daemon";
import { until } from "../helpers/wait";


describe("healthchecks", () => {
  test("probe commands and status rules (pure)", () => {
    assert.deepEqual(probeCommand(["CMD-SHELL", "true"]), ["/bin/sh", "-c", "true"]);
    assert.deepEqual(probeCommand(["CMD", "cat", "/x"]), ["cat", "/x"]);
    assert.equal(probeCommand(["NONE"]), undefined);
    const ok = { Start: "", End: "", ExitCode: 0, Output: "" };
    const bad = { ...ok, ExitCode: 1 };
    let h = { Status: "starting" as const, FailingStreak: 0, Log: [] };
    assert.equal(nextHealth(h, bad, 2, true).FailingStreak, 0, "failures in the start period do not count");
    const once = nextHealth(h, bad, 2, false);
    assert.equal(once.Status, "starting");
    assert.equal(nextHealth(once, bad, 2, false).Status, "unhealthy");
    assert.equal(nextHealth(once, ok, 2, false).Status, "healthy");
    h = { Status: "starting", FailingStreak: 0, Log: [] };
    let many = nextHealth(h, ok, 3, false);
    for (let i = 0; i < 10; i++) many = nextHealth(many, ok, 3, false);
    assert.equal(many.Log.length, 5, "Docker keeps the last five probes");
  });
});

describe("healthchecks (docker CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("a passing check makes the container healthy; a failing one unhealthy; events and ps follow", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const good = await d.docker(["run", "-d", "--name", "good", "--health-cmd", "test -f /tmp/ready", "--health-interval", "300ms", "--health-retries", "2",
      "busybox", "sh", "-c", "touch /tmp/ready; sleep 300"]);
    assert.equal(good.code, 0, good.stderr);
    const bad = await d.docker(["run", "-d", "--name", "bad", "--health-cmd", "echo nope; exit 1", "--health-interval", "300ms", "--health-retries", "2", "busybox", "sleep", "300"]);
    assert.equal(bad.code, 0, bad.stderr);
    const status = async (name: string): Promise<string> => (await d.docker(["inspect", "--format", "{{.State.Health.Status}}", name])).stdout.trim();
    await until("good healthy", async () => (await status("good")) === "healthy");
    await until("bad unhealthy", async () => (await status("bad")) === "unhealthy");
    const log = await d.docker(["inspect", "--format", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}", "bad"]);
    assert.equal(log.stdout.trim(), "1 nope");
    const ps = await d.docker(["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert.match(ps.stdout, /^good Up .* \(healthy\)$/m);
    assert.match(ps.stdout, /^bad Up .* \(unhealthy\)$/m);
    const filtered = await d.docker(["ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"]);
    assert.equal(filtered.stdout.trim(), "bad");
    const until_ = String(Math.ceil(Date.now() / 1000) + 1);
    const events = await d.docker(["events", "--since", since, "--until", until_, "--filter", "container=good", "--format", "{{.Action}}"]);
    assert.match(events.stdout, /^health_status: healthy$/m);
    assert.equal((await d.docker(["rm", "-f", "good", "bad"])).code, 0);
  });

  test("--no-healthcheck disables a check; a slow probe times out", async () => {
    const none = await d.docker(["run", "-d", "--name", "nocheck", "--no-healthcheck", "busybox", "sleep", "300"]);
    assert.equal(none.code, 0, none.stderr);
    const health = await d.docker(["inspect", "--format", "{{if .State.Health}}has{{else}}none{{end}}", "nocheck"]);
    assert.equal(health.stdout.trim(), "none");
    const slow = await d.docker(["run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-timeout", "300ms", "--health-interval", "300ms", "--health-retries", "1", "busybox", "sleep", "300"]);
    assert.equal(slow.code, 0, slow.stderr);
    await until("slow unhealthy", async () => (await d.docker(["inspect", "--format", "{{.State.Health.Status}}", "slow"])).stdout.trim() === "unhealthy");
    const out = await d.docker(["inspect", "--format", "{{(index .State.Health.Log 0).ExitCode}}|{{(index .State.Health.Log 0).Output}}", "slow"]);
    assert.match(out.stdout.trim(), /^-1\|Health check exceeded timeout/);
    assert.equal((await d.docker(["rm", "-f", "nocheck", "slow"])).code, 0);
  });
});
