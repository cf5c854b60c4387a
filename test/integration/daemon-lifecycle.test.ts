import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import { type TestDaemon, ROOT, run, useDaemon } from "../helpers/daemon";

describe("wharfd lifecycle: crash safety, restart, one daemon per data root", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("the API socket is 0660, not world-writable", () => {
    const mode = fs.statSync(d.socketPath).mode & 0o777;
    assert.equal(mode, 0o660);
  });

  test("_ping answers GET and HEAD with API-Version; old and too-new versions are handled", async () => {
    const ping = await d.api("GET", "/_ping");
    assert.equal(ping.status, 200);
    assert.equal(ping.body, "OK");
    const head = await d.api("HEAD", "/v1.24/_ping");
    assert.equal(head.status, 200);
    const tooNew = await d.api("GET", "/v9.99/version");
    assert.equal(tooNew.status, 400);
    assert.match(tooNew.json<{ message: string }>().message, /too new/);
    const tooOld = await d.api("GET", "/v1.12/version");
    assert.equal(tooOld.status, 400);
    const unknown = await d.api("GET", "/nosuch/endpoint");
    assert.equal(unknown.status, 404);
  });

  test("malformed and invalid bodies get 400 with a message; nothing is created", async () => {
    const before = (await d.api("GET", "/containers/json?all=1")).json<unknown[]>().length;
    const bad = await d.api("POST", "/containers/create", "{not json" as unknown);
    assert.equal(bad.status, 400);
    const wrongType = await d.api("POST", "/containers/create", { Image: "busybox", Cmd: 42 });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json<{ message: string }>().message, /Cmd/);
    const noImage = await d.api("POST", "/containers/create", { Image: "nosuch:tag" });
    assert.equal(noImage.status, 404);
    assert.equal(noImage.json<{ message: string }>().message, "No such image: nosuch:tag");
    const badRestart = await d.api("POST", "/containers/create", { Image: "busybox", HostConfig: { RestartPolicy: { Name: "sometimes" } } });
    assert.equal(badRestart.status, 400);
    const after = (await d.api("GET", "/containers/json?all=1")).json<unknown[]>().length;
    assert.equal(after, before);
  });

  test("containers survive a daemon SIGKILL; exits during the outage are recorded", async () => {
    const survivor = await d.docker(["run", "-d", "--name", "survivor", "busybox", "sh", "-c", "echo up; sleep 300"]);
    assert.equal(survivor.code, 0, survivor.stderr);
    const dies = await d.docker(["run", "-d", "--name", "dies", "busybox", "sh", "-c", "sleep 2; exit 7"]);
    assert.equal(dies.code, 0, dies.stderr);
    const removed = await d.docker(["run", "-d", "--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 2"]);
    assert.equal(removed.code, 0, removed.stderr);

    await d.crashAndRestart();
    await new Promise((r) => setTimeout(r, 3000));
    // The restarted daemon may learn of the outage-time exits at start or from the exit watcher.
    const deadline = Date.now() + 10000;
    let states = "";
    while (Date.now() < deadline) {
      states = (await d.docker(["ps", "-a", "--format", "{{.Names}}={{.State}}"])).stdout;
      if (/dies=exited/.test(states) && !/gone=/.test(states)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(states, /survivor=running/);
    assert.match(states, /dies=exited/);
    assert.doesNotMatch(states, /gone=/, "an --rm container that exited during the outage is removed");
    const code = await d.docker(["inspect", "--format", "{{.State.ExitCode}}", "dies"]);
    assert.equal(code.stdout.trim(), "7");
    const logs = await d.docker(["logs", "survivor"]);
    assert.equal(logs.stdout, "up\n");
    const waiter = d.docker(["wait", "survivor"]);
    const stop = await d.docker(["stop", "-t", "1", "survivor"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match((await waiter).stdout, /^(143|137)\n$/);
    await d.docker(["rm", "-f", "survivor", "dies"]);
  });

  test("kill -9 with an exec session and a logs -f open: containers, exec, logs, stats, stop and restart policies carry on", async () => {
    const ticker = await d.docker(["run", "-d", "--name", "ticker", "busybox", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]);
    assert.equal(ticker.code, 0, ticker.stderr);
    assert.equal((await d.docker(["run", "-d", "--name", "ends", "busybox", "sh", "-c", "sleep 2; exit 5"])).code, 0);
    assert.equal((await d.docker(["run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 2; exit 3"])).code, 0);
    // Clients in the middle of something when the daemon dies.
    const exec = d.docker(["exec", "ticker", "sleep", "60"], { timeoutMs: 30000 });
    const follower = d.docker(["logs", "-f", "ticker"], { timeoutMs: 30000 });
    await new Promise((r) => setTimeout(r, 800));

    await d.crashAndRestart();
    // Both clients lose their connection and end; neither hangs.
    const [execEnd, followEnd] = await Promise.all([exec, follower]);
    assert.notEqual(execEnd.code, 0, "the exec's connection went with the daemon");
    assert.match(followEnd.stdout, /^tick 0\n/);

    const deadline = Date.now() + 15000;
    let states = "";
    while (Date.now() < deadline) {
      states = (await d.docker(["ps", "-a", "--format", "{{.Names}}={{.State}}"])).stdout;
      const restarts = (await d.docker(["inspect", "--format", "{{.RestartCount}}", "phoenix"])).stdout.trim();
      if (/ends=exited/.test(states) && Number(restarts) >= 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(states, /ticker=running/);
    assert.match(states, /ends=exited/);
    assert.equal((await d.docker(["inspect", "--format", "{{.State.ExitCode}}", "ends"])).stdout.trim(), "5");
    assert.ok(Number((await d.docker(["inspect", "--format", "{{.RestartCount}}", "phoenix"])).stdout.trim()) >= 1, "always restarts resume");

    const execAgain = await d.docker(["exec", "ticker", "echo", "still here"]);
    assert.equal(execAgain.code, 0, execAgain.stderr);
    assert.equal(execAgain.stdout, "still here\n");
    const logs = await d.wharf(["logs", "--tail", "2", "ticker"]);
    assert.match(logs.stdout, /^tick \d+\ntick \d+\n$/);
    // A follow started after the restart sees new output.
    const since = String(Math.floor(Date.now() / 1000));
    const fresh = await d.docker(["logs", "--since", since, "--until", String(Number(since) + 2), "-f", "ticker"], { timeoutMs: 15000 });
    assert.match(fresh.stdout, /tick \d+\n/);
    const stats = await d.docker(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "ticker"]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^ticker \d+(\.\d+)?[KMG]?i?B \/ .+ [1-9]\d*\n$/);
    const stop = await d.docker(["stop", "-t", "1", "ticker"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match((await d.docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "ticker"])).stdout, /^exited (137|143)\n$/);
    assert.equal((await d.docker(["rm", "-f", "ticker", "ends", "phoenix"])).code, 0);
  });

  test("concurrent creates without names all get distinct generated names", async () => {
    const created = await Promise.all(Array.from({ length: 24 }, () => d.api("POST", "/containers/create", { Image: "busybox", Cmd: ["true"] })));
    for (const res of created) assert.equal(res.status, 201, res.body);
    const ids = created.map((res) => res.json<{ Id: string }>().Id);
    const names = await Promise.all(ids.map(async (id) => (await d.api("GET", `/containers/${id}/json`)).json<{ Name: string }>().Name));
    assert.equal(new Set(names).size, ids.length);
    for (const id of ids) assert.equal((await d.api("DELETE", `/containers/${id}`)).status, 204);
  });

  test("SIGTERM stops the daemon cleanly and leaves containers running", async () => {
    const r = await d.docker(["run", "-d", "--name", "calm", "busybox", "sleep", "300"]);
    assert.equal(r.code, 0, r.stderr);
    const code = await d.gracefulRestart();
    assert.equal(code, 0);
    const state = await d.docker(["inspect", "--format", "{{.State.Running}}", "calm"]);
    assert.equal(state.stdout.trim(), "true");
    assert.equal((await d.docker(["rm", "-f", "calm"])).code, 0);
  });

  test("a second wharfd on the same data root refuses to start", async () => {
    const second = await run(process.execPath, [`${ROOT}/bin/wharfd`, "-H", `unix://${d.socketPath}.2`, "--data-root", d.dataRoot, "--exec-root", `${d.execRoot}2`], { timeoutMs: 15000 });
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /another wharfd \(pid \d+\) is using data root/);
    fs.rmSync(`${d.execRoot}2`, { recursive: true, force: true });
    const ping = await d.api("GET", "/_ping");
    assert.equal(ping.status, 200, "the first daemon is unharmed");
  });
});
