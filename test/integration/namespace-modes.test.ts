import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/** --pid, --ipc and --uts: the container's own namespaces by default, the host's or another container's on request. */
describe("pid, ipc and uts namespace modes", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const nsOf = async (args: string[], kind: string): Promise<string> => {
    const r = await d.wharf(["run", "--rm", ...args, "busybox", "readlink", `/proc/self/ns/${kind}`]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  test("by default each namespace is the container's own; with host it is the host's", async () => {
    for (const kind of ["pid", "ipc", "uts"]) {
      const host = fs.readlinkSync(`/proc/self/ns/${kind}`);
      assert.notEqual(await nsOf([], kind), host, `${kind}: default`);
      assert.equal(await nsOf([`--${kind}`, "host"], kind), host, `${kind}: host`);
    }
  });

  test("--pid host sees the host's processes; --uts host has the host's name", async () => {
    const ps = await d.docker(["run", "--rm", "--pid", "host", "busybox", "cat", `/proc/${d.pid}/cmdline`]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /wharfd|daemon/);
    const own = await d.docker(["run", "--rm", "busybox", "ls", `/proc/${d.pid}`]);
    assert.notEqual(own.code, 0, "a default container does not see the daemon's process");
    const name = await d.docker(["run", "--rm", "--uts", "host", "busybox", "hostname"]);
    assert.equal(name.code, 0, name.stderr);
    assert.equal(name.stdout.trim(), os.hostname());
    const conflict = await d.docker(["run", "--rm", "--uts", "host", "-h", "named", "busybox", "true"]);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /conflicting options: hostname and the UTS mode/);
  });

  test("--pid container:NAME joins a running container's process table, and refuses a stopped one", async () => {
    assert.equal((await d.wharf(["run", "-d", "--name", "pid-donor", "busybox", "sleep", "301"])).code, 0);
    try {
      const ps = await d.docker(["run", "--rm", "--pid", "container:pid-donor", "busybox", "ps", "-o", "args"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, /sleep 301/);
      assert.equal((await d.wharf(["stop", "-t", "0", "pid-donor"])).code, 0);
      const stopped = await d.docker(["run", "--rm", "--pid", "container:pid-donor", "busybox", "true"]);
      assert.notEqual(stopped.code, 0);
      assert.match(stopped.stderr, /cannot join PID of a non running container/);
    } finally {
      await d.wharf(["rm", "-f", "pid-donor"]);
    }
  });

  test("--ipc container:NAME shares a shareable container's IPC namespace and /dev/shm, not a private one's", async () => {
    assert.equal((await d.wharf(["run", "-d", "--name", "ipc-donor", "--ipc", "shareable", "busybox", "sh", "-c", "echo shared > /dev/shm/marker; sleep 302"])).code, 0);
    assert.equal((await d.wharf(["run", "-d", "--name", "ipc-private", "busybox", "sleep", "303"])).code, 0);
    try {
      const donorNs = (await d.wharf(["exec", "ipc-donor", "readlink", "/proc/self/ns/ipc"])).stdout.trim();
      const joined = await d.docker(["run", "--rm", "--ipc", "container:ipc-donor", "busybox", "sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/marker"]);
      assert.equal(joined.code, 0, joined.stderr);
      assert.deepEqual(joined.stdout.trim().split("\n"), [donorNs, "shared"]);
      const refused = await d.docker(["run", "--rm", "--ipc", "container:ipc-private", "busybox", "true"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /non-shareable IPC/);
      const none = await d.docker(["run", "--rm", "--ipc", "none", "busybox", "sh", "-c", "test -d /dev/shm && echo present || echo absent"]);
      assert.equal(none.stdout.trim(), "absent", none.stderr);
    } finally {
      await d.wharf(["rm", "-f", "ipc-donor", "ipc-private"]);
    }
  });

  test("an unknown mode is refused at create with Docker's message", async () => {
    for (const [field, value, message] of [
      ["PidMode", "sibling", "invalid PID mode: sibling"],
      ["IpcMode", "public", "invalid IPC mode: public"],
      ["UTSMode", "other", "invalid UTS mode: other"],
    ]) {
      const r = await d.api("POST", "/containers/create", { Image: "busybox", Cmd: ["true"], HostConfig: { [field]: value } });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json<{ message: string }>().message, message);
    }
  });
});
