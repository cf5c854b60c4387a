import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

describe("events (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("container actions are recorded and read back with --since/--until and filters", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    assert.equal((await d.docker(["run", "-d", "--name", "evt", "-l", "team=a", "busybox", "sleep", "300"])).code, 0);
    assert.equal((await d.docker(["rename", "evt", "evt2"])).code, 0);
    assert.equal((await d.docker(["stop", "-t", "1", "evt2"])).code, 0);
    assert.equal((await d.docker(["rm", "evt2"])).code, 0);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const actions = await d.docker(["events", "--since", since, "--until", until, "--filter", "label=team=a", "--format", "{{.Action}}"]);
    assert.equal(actions.code, 0, actions.stderr);
    assert.deepEqual(actions.stdout.trim().split("\n"), ["create", "start", "rename", "kill", "kill", "die", "stop", "destroy"]);
    const die = await d.docker(["events", "--since", since, "--until", until, "--filter", "event=die", "--format", "{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.name}}"]);
    assert.equal(die.stdout.trim(), "137 evt2");
    const line = await d.wharf(["events", "--since", since, "--until", until, "--filter", "event=create"]);
    assert.equal(line.code, 0, line.stderr);
    assert.match(line.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [0-9a-f]{64} \(image=busybox, name=evt, team=a\)\n$/);
    const bad = await d.docker(["events", "--since", since, "--until", until, "--filter", "nosuch=x"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'nosuch'/);
  });

  test("a live subscriber sees a run --rm from create to destroy", async () => {
    const until = String(Math.floor(Date.now() / 1000) + 4);
    const watcher = d.docker(["events", "--until", until, "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}"], { timeoutMs: 15000 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await d.docker(["run", "--rm", "--name", "live1", "busybox", "true"])).code, 0);
    const seen = await watcher;
    assert.equal(seen.code, 0, seen.stderr);
    assert.deepEqual(seen.stdout.trim().split("\n"), ["create live1", "attach live1", "start live1", "die live1", "destroy live1"].filter((l) => seen.stdout.includes(l)));
    for (const action of ["create", "start", "die", "destroy"]) assert.match(seen.stdout, new RegExp(`^${action} live1$`, "m"));
  });
});
