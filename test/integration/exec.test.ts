import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, ensureBusybox, startDaemon } from "../helpers/daemon";

describe("exec (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    const r = await d.docker(["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.stop();
  });

  test("runs a command, keeps stdout and stderr apart, propagates the exit code", async () => {
    const hi = await d.docker(["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 5"]);
    assert.equal(hi.code, 5);
    assert.equal(hi.stdout, "out\n");
    assert.equal(hi.stderr, "err\n");
    const w = await d.wharf(["exec", "box", "echo", "hello"]);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout, "hello\n");
  });

  test("stdin with -i; -e, --env-file, -w and -u", async () => {
    const cat = await d.docker(["exec", "-i", "box", "cat"], { input: "data\n" });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "data\n");
    const wcat = await d.wharf(["exec", "-i", "box", "wc", "-c"], { input: "12345" });
    assert.equal(wcat.stdout.trim(), "5");
    const envFile = path.join(d.dataRoot, "..", "exec.env");
    fs.writeFileSync(envFile, "B=two\n");
    const opts = await d.docker(["exec", "-e", "A=1", "--env-file", envFile, "-w", "/tmp", "-u", "app", "box", "sh", "-c", 'echo "$A $B $(pwd) $(id -u)"']);
    assert.equal(opts.stdout, "1 two /tmp 1000\n");
  });

  test("126/127 for a command that cannot run, as Docker", async () => {
    const missing = await d.docker(["exec", "box", "nosuchcommand"]);
    assert.equal(missing.code, 127);
    assert.match(missing.stdout + missing.stderr, /executable file not found/);
    const notExec = await d.docker(["exec", "box", "/etc/passwd"]);
    assert.equal(notExec.code, 126);
  });

  test("-d runs in the background; --privileged gets the bounding set", async () => {
    const bg = await d.docker(["exec", "-d", "box", "sh", "-c", "echo done > /tmp/marker"]);
    assert.equal(bg.code, 0, bg.stderr);
    let marker = "";
    for (let i = 0; i < 50 && marker === ""; i++) {
      marker = (await d.docker(["exec", "box", "cat", "/tmp/marker"])).stdout;
      if (!marker) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(marker, "done\n");
    const plain = await d.docker(["exec", "box", "grep", "CapEff", "/proc/self/status"]);
    assert.match(plain.stdout, /CapEff:\s+00000000a80425fb/);
    const bounding = /CapBnd:\s+([0-9a-f]+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1];
    const priv = await d.docker(["exec", "--privileged", "box", "grep", "CapEff", "/proc/self/status"]);
    assert.match(priv.stdout, new RegExp(`CapEff:\\s+${bounding}`));
  });

  test("exec inspect in Docker's shape; no exec files or processes are left", async () => {
    const created = await d.api("POST", "/containers/box/exec", { Cmd: ["true"], AttachStdout: true });
    assert.equal(created.status, 201);
    const id = created.json<{ Id: string }>().Id;
    const before = await d.api("GET", `/exec/${id}/json`);
    assert.equal(before.json<{ Running: boolean; ExitCode: number | null }>().ExitCode, null);
    const start = await d.api("POST", `/exec/${id}/start`, { Detach: true });
    assert.equal(start.status, 200);
    let state = { Running: true, ExitCode: null as number | null, ContainerID: "", ProcessConfig: { entrypoint: "" } };
    for (let i = 0; i < 100 && state.ExitCode === null; i++) {
      state = (await d.api("GET", `/exec/${id}/json`)).json();
      if (state.ExitCode === null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(state.Running, false);
    assert.equal(state.ExitCode, 0);
    assert.equal(state.ProcessConfig.entrypoint, "true");
    const execDir = path.join(d.execRoot, "execs");
    assert.deepEqual(fs.existsSync(execDir) ? fs.readdirSync(execDir) : [], []);
    const missing = await d.api("GET", "/exec/nosuch/json");
    assert.equal(missing.status, 404);
    assert.match(missing.json<{ message: string }>().message, /No such exec instance: nosuch/);
  });

  test("exec into a paused, a stopped or a missing container is refused", async () => {
    assert.equal((await d.docker(["pause", "box"])).code, 0);
    const paused = await d.docker(["exec", "box", "true"]);
    assert.notEqual(paused.code, 0);
    assert.match(paused.stderr, /is paused, unpause the container before exec/);
    assert.equal((await d.docker(["unpause", "box"])).code, 0);
    assert.equal((await d.docker(["stop", "-t", "1", "box"])).code, 0);
    const stopped = await d.docker(["exec", "box", "true"]);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /is not running/);
    const missing = await d.wharf(["exec", "nosuchbox", "true"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such container: nosuchbox/);
    assert.equal((await d.docker(["rm", "box"])).code, 0);
  });
});
