import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("restart policies (docker CLI against wharfd)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const inspect = async (name: string, format: string): Promise<string> =>
    (await d.docker(["inspect", "--format", format, name])).stdout.trim();

  test("on-failure:2 restarts a failing container twice, then leaves it exited", async () => {
    const r = await d.docker(["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3"]);
    assert.equal(r.code, 0, r.stderr);
    await until("two restarts", async () => ((await inspect("flaky", "{{.RestartCount}} {{.State.Status}}")) === "2 exited" ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await inspect("flaky", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}"), "2 exited 3");
    assert.equal((await d.docker(["rm", "flaky"])).code, 0);
  });

  test("on-failure leaves a container that exits 0 alone", async () => {
    const r = await d.docker(["run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true"]);
    assert.equal(r.code, 0, r.stderr);
    await until("exit", async () => ((await inspect("fine", "{{.State.Status}}")) === "exited" ? true : undefined));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await inspect("fine", "{{.RestartCount}}"), "0");
    assert.equal((await d.docker(["rm", "fine"])).code, 0);
  });

  test("always restarts until stopped; stop keeps it stopped", async () => {
    const r = await d.docker(["run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 0.3; exit 1"]);
    assert.equal(r.code, 0, r.stderr);
    await until("a restart", async () => (Number(await inspect("phoenix", "{{.RestartCount}}")) >= 2 ? true : undefined));
    const stop = await d.docker(["stop", "-t", "1", "phoenix"]);
    assert.equal(stop.code, 0, stop.stderr);
    const count = await inspect("phoenix", "{{.RestartCount}}");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await inspect("phoenix", "{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}"), `${count} false false`);
    assert.equal((await d.docker(["rm", "-f", "phoenix"])).code, 0);
  });

  test("at daemon start: always comes back even after stop, unless-stopped stays stopped", async () => {
    assert.equal((await d.docker(["run", "-d", "--name", "always1", "--restart", "always", "busybox", "sleep", "300"])).code, 0);
    assert.equal((await d.docker(["run", "-d", "--name", "unless1", "--restart", "unless-stopped", "busybox", "sleep", "300"])).code, 0);
    assert.equal((await d.docker(["stop", "-t", "1", "always1", "unless1"])).code, 0);
    await d.gracefulRestart();
    assert.equal(await inspect("always1", "{{.State.Running}}"), "true");
    assert.equal(await inspect("unless1", "{{.State.Running}}"), "false");
    assert.equal((await d.docker(["rm", "-f", "always1", "unless1"])).code, 0);
  });

  test("restarting containers show Restarting in ps and can be removed", async () => {
    const r = await d.docker(["run", "-d", "--name", "looper", "--restart", "always", "busybox", "sh", "-c", "exit 2"]);
    assert.equal(r.code, 0, r.stderr);
    await until("restart count 3", async () => (Number(await inspect("looper", "{{.RestartCount}}")) >= 3 ? true : undefined));
    const rm = await d.docker(["rm", "-f", "looper"]);
    assert.equal(rm.code, 0, rm.stderr);
    const ps = await d.docker(["ps", "-aq", "--filter", "name=looper"]);
    assert.equal(ps.stdout.trim(), "");
  });
});
