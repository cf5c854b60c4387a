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
