import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

describe("pause, unpause and top (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("pause freezes the container's cgroup; unpause thaws it; State.Paused follows", async () => {
    const run = await d.docker(["run", "-d", "--name", "ice", "busybox", "sh", "-c", "while true; do date +%s%N > /tmp/t; sleep 0.1; done"]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const pause = await d.docker(["pause", "ice"]);
    assert.equal(pause.code, 0, pause.stderr);
    const freezer = fs.readFileSync(`/sys/fs/cgroup/freezer/wharf-test/${id}/freezer.state`, "utf8").trim();
    assert.equal(freezer, "FROZEN");
    const state = await d.docker(["inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "ice"]);
    assert.equal(state.stdout.trim(), "paused true true");
    const ps = await d.docker(["ps", "--filter", "status=paused", "--format", "{{.Names}} {{.Status}}"]);
    assert.match(ps.stdout, /^ice Up .* \(Paused\)$/m);
    const again = await d.docker(["pause", "ice"]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /is already paused/);
    const unpause = await d.wharf(["unpause", "ice"]);
    assert.equal(unpause.code, 0, unpause.stderr);
    assert.equal(unpause.stdout, "ice\n");
    assert.equal(fs.readFileSync(`/sys/fs/cgroup/freezer/wharf-test/${id}/freezer.state`, "utf8").trim(), "THAWED");
    const notPaused = await d.docker(["unpause", "ice"]);
    assert.match(notPaused.stderr, /is not paused/);
  });

  test("stop and rm -f work on a paused container", async () => {
    assert.equal((await d.docker(["pause", "ice"])).code, 0);
    const stop = await d.docker(["stop", "-t", "1", "ice"]);
    assert.equal(stop.code, 0, stop.stderr);
    const state = await d.docker(["inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "ice"]);
    assert.equal(state.stdout.trim(), "exited false");
    assert.equal((await d.docker(["start", "ice"])).code, 0);
    assert.equal((await d.docker(["pause", "ice"])).code, 0);
    const rm = await d.docker(["rm", "-f", "ice"]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test("top lists the container's processes, with ps options", async () => {
    assert.equal((await d.docker(["run", "-d", "--name", "topper", "busybox", "sh", "-c", "sleep 300 & sleep 301"])).code, 0);
    const top = await d.docker(["top", "topper"]);
    assert.equal(top.code, 0, top.stderr);
    const lines = top.stdout.trim().split("\n");
    assert.match(lines[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.equal(lines.length, 3, top.stdout); // busybox sh execs the last command: two sleeps
    assert.match(top.stdout, /sleep 300/);
    assert.match(top.stdout, /sleep 301/);
    const custom = await d.wharf(["top", "topper", "-o", "pid,comm"]);
    assert.equal(custom.code, 0, custom.stderr);
    assert.match(custom.stdout, /^PID\s+COMMAND\n/);
    assert.equal(custom.stdout.trim().split("\n").length, 3);
    assert.equal((await d.docker(["stop", "-t", "1", "topper"])).code, 0);
    const stopped = await d.docker(["top", "topper"]);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /is not running/);
    assert.equal((await d.docker(["rm", "topper"])).code, 0);
  });
});
