import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

describe("OOM kills (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("a container that exceeds -m 16m is killed: 137, State.OOMKilled, an oom event before die", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    // The shell keeps the command substitution's 100 MB in memory; -m 16m gives 32m of memory+swap
    // by default (Docker's memory-swap default is twice the memory), well below it.
    const run = await d.docker(["run", "--name", "hog", "-m", "16m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\000' a); echo survived"], { timeoutMs: 60000 });
    assert.equal(run.code, 137, run.stderr);
    assert.doesNotMatch(run.stdout, /survived/);
    const state = await d.docker(["inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "hog"]);
    assert.equal(state.stdout.trim(), `137 true ${16 * 1024 * 1024} 0`);
    assert.match((await d.wharf(["ps", "-a", "--filter", "name=hog", "--format", "{{.Status}}"])).stdout, /^Exited \(137\) /);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = await d.docker(["events", "--since", since, "--until", until, "--filter", "container=hog", "--filter", "event=oom", "--filter", "event=die", "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}"]);
    assert.equal(events.stdout, "oom <no value>\ndie 137\n");
    const wharfEvents = await d.wharf(["events", "--since", since, "--until", until, "--filter", "event=oom"]);
    assert.match(wharfEvents.stdout, /container oom [0-9a-f]{64} \(image=busybox, name=hog\)\n$/);
    assert.equal((await d.docker(["rm", "hog"])).code, 0);
  });

  test("a container within its limit is not marked OOMKilled", async () => {
    const run = await d.wharf(["run", "--rm", "-m", "64m", "busybox", "sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\000' a); echo ok"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "ok\n");
  });
});
