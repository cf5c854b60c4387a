import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/** The real docker CLI (28.x) driving a private wharfd: the proof of Docker compatibility. */
describe("docker CLI against wharfd: containers", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("docker version and info talk to wharfd", async () => {
    const version = await d.docker(["version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout.trim(), /^1\.4\d linux$/);
    const info = await d.docker(["info", "--format", "{{.Driver}} {{.CgroupDriver}}"]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.stdout.trim(), "overlay2 cgroupfs");
  });

  test("run --rm prints the output and removes the container", async () => {
    const r = await d.docker(["run", "--rm", "busybox", "echo", "hi"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hi\n");
    const ps = await d.docker(["ps", "-aq"]);
    assert.equal(ps.stdout.trim(), "");
  });

  test("exit codes: the command's, 127 for a missing command, 126 for a non-executable", async () => {
    const three = await d.docker(["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert.equal(three.code, 3);
    const missing = await d.docker(["run", "--rm", "busybox", "nosuchcommand"]);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /executable file not found/);
    const notExec = await d.docker(["run", "--rm", "busybox", "/etc/passwd"]);
    assert.equal(notExec.code, 126, notExec.stderr);
    assert.match(notExec.stderr, /permission denied/);
    const ps = await d.docker(["ps", "-aq"]);
    assert.equal(ps.stdout.trim(), "", "failed --rm containers are removed too");
  });

  test("stdout and stderr stay apart; stdin reaches the container with -i", async () => {
    const r = await d.docker(["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2"]);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    const cat = await d.docker(["run", "-i", "--rm", "busybox", "cat"], { input: "data\n" });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "data\n");
  });

  test("detached container: ps, logs, stop, rm", async () => {
    const run = await d.docker(["run", "-d", "--init", "--name", "web", "busybox", "sh", "-c", "while true; do echo tick; sleep 1; done"]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await d.docker(["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert.match(ps.stdout, /^web Up /m);
    await new Promise((r) => setTimeout(r, 1500));
    const logs = await d.docker(["logs", "web"]);
    assert.match(logs.stdout, /tick\n/);
    const tail = await d.docker(["logs", "--tail", "1", "-t", "web"]);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick\n$/);
    const conflict = await d.docker(["run", "-d", "--name", "web", "busybox", "true"]);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /The container name "\/web" is already in use/);
    const rmRunning = await d.docker(["rm", "web"]);
    assert.notEqual(rmRunning.code, 0);
    assert.match(rmRunning.stderr, /container is running/);
    const started = Date.now();
    const stop = await d.docker(["stop", "web"]);
    assert.equal(stop.code, 0, stop.stderr);
    // With --init, sh is not pid 1, so SIGTERM's default action ends it at once.
    assert.ok(Date.now() - started < 9000, "SIGTERM ends the container without waiting for the timeout");
    const state = await d.docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "web"]);
    assert.equal(state.stdout.trim(), "exited 143");
    const rm = await d.docker(["rm", "web"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.trim(), "web");
  });

  test("stop falls back to SIGKILL after -t seconds; kill -s; wait; restart; rename", async () => {
    const run = await d.docker(["run", "-d", "--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 1; done"]);
    assert.equal(run.code, 0, run.stderr);
    const started = Date.now();
    const stop = await d.docker(["stop", "-t", "1", "stubborn"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - started >= 900);
    const code = await d.docker(["inspect", "--format", "{{.State.ExitCode}}", "stubborn"]);
    assert.equal(code.stdout.trim(), "137");
    const restart = await d.docker(["restart", "-t", "1", "stubborn"]);
    assert.equal(restart.code, 0, restart.stderr);
    const running = await d.docker(["inspect", "--format", "{{.State.Running}}", "stubborn"]);
    assert.equal(running.stdout.trim(), "true");
    const rename = await d.docker(["rename", "stubborn", "renamed"]);
    assert.equal(rename.code, 0, rename.stderr);
    const waiter = d.docker(["wait", "renamed"]);
    const kill = await d.docker(["kill", "-s", "KILL", "renamed"]);
    assert.equal(kill.code, 0, kill.stderr);
    const waited = await waiter;
    assert.equal(waited.stdout.trim(), "137");
    const killStopped = await d.docker(["kill", "renamed"]);
    assert.notEqual(killStopped.code, 0);
    assert.match(killStopped.stderr, /is not running/);
    assert.equal((await d.docker(["rm", "renamed"])).code, 0);
  });

  test("create, start -a, and inspect in Docker's shape", async () => {
    const create = await d.docker(["create", "--name", "c1", "-e", "FOO=bar", "-l", "tier=test", "-w", "/tmp", "busybox", "sh", "-c", "echo $FOO; pwd"]);
    assert.equal(create.code, 0, create.stderr);
    const start = await d.docker(["start", "-a", "c1"]);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.stdout, "bar\n/tmp\n");
    const inspect = await d.docker(["inspect", "c1"]);
    const [doc] = JSON.parse(inspect.stdout) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- inspect JSON is free-form
    assert.equal(doc.Name, "/c1");
    assert.equal(doc.Path, "sh");
    assert.deepEqual(doc.Args, ["-c", "echo $FOO; pwd"]);
    assert.equal(doc.State.Status, "exited");
    assert.equal(doc.Config.Labels.tier, "test");
    assert.ok(doc.Config.Env.includes("FOO=bar"));
    assert.equal(doc.HostConfig.NetworkMode, "bridge");
    assert.match(doc.Image, /^sha256:[0-9a-f]{64}$/);
    const filtered = await d.docker(["ps", "-a", "--filter", "label=tier=test", "--filter", "exited=0", "--format", "{{.Names}}"]);
    assert.equal(filtered.stdout.trim(), "c1");
    const byStatus = await d.docker(["ps", "-a", "--filter", "status=running", "-q"]);
    assert.equal(byStatus.stdout.trim(), "");
    assert.equal((await d.docker(["rm", "c1"])).code, 0);
  });

  test("bad input gets Docker's errors", async () => {
    const noImage = await d.docker(["run", "--rm", "--pull", "never", "nosuchimage"]);
    assert.equal(noImage.code, 125);
    assert.match(noImage.stderr, /No such image: nosuchimage:latest/);
    const badMem = await d.docker(["run", "--rm", "-m", "12xyz", "busybox", "true"]);
    assert.equal(badMem.code, 125);
    assert.match(badMem.stderr, /invalid argument "12xyz" for "-m, --memory" flag: invalid suffix: 'xyz'/);
    const tooSmall = await d.docker(["run", "--rm", "-m", "1m", "busybox", "true"]);
    assert.equal(tooSmall.code, 125);
    assert.match(tooSmall.stderr, /Minimum memory limit allowed is 6MB/);
    const badName = await d.docker(["create", "--name", "bad name!", "busybox"]);
    assert.equal(badName.code, 1, "docker create exits 1 on a daemon error (run uses 125)");
    assert.match(badName.stderr, /Invalid container name/);
    const noSuch = await d.docker(["stop", "nosuchcontainer"]);
    assert.equal(noSuch.code, 1);
    assert.match(noSuch.stderr, /No such container: nosuchcontainer/);
  });

  test("default confinement matches Docker's", async () => {
    const script = [
      "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status",
      "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ')",
      "echo hostname=$(hostname)",
      "(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo procsys=writable || echo procsys=readonly",
      "echo keys=$(cat /proc/keys 2>/dev/null | wc -c)",
      "ls /dev | tr '\\n' ' '",
    ].join("; ");
    const r = await d.docker(["run", "--rm", "busybox", "sh", "-c", script]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CapEff:\s+00000000a80425fb/);
    assert.match(r.stdout, /Seccomp:\s+2/);
    assert.match(r.stdout, /pid1=sh -c/);
    assert.match(r.stdout, /hostname=[0-9a-f]{12}\n/);
    assert.match(r.stdout, /procsys=readonly/);
    assert.match(r.stdout, /keys=0/);
    for (const dev of ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm"]) assert.match(r.stdout, new RegExp(`\\b${dev}\\b`));
    assert.doesNotMatch(r.stdout, /\bsda\b|\bvda\b|\bmem\b/);
  });

  test("run options reach the container: user, env-file, entrypoint, hostname, read-only, caps, limits, init", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-envfile-"));
    const envFile = path.join(dir, "env");
    fs.writeFileSync(envFile, "# comment\nA=1\nB=two words\n");
    try {
      const user = await d.docker(["run", "--rm", "-u", "app", "busybox", "id"]);
      assert.equal(user.stdout.trim(), "uid=1000(app) gid=1000(app) groups=1000(app)");
      const uidGid = await d.docker(["run", "--rm", "-u", "1234:5678", "busybox", "id", "-u"]);
      assert.equal(uidGid.stdout.trim(), "1234");
      const env = await d.docker(["run", "--rm", "--env-file", envFile, "busybox", "sh", "-c", 'echo "$A|$B"']);
      assert.equal(env.stdout, "1|two words\n");
      const entry = await d.docker(["run", "--rm", "--entrypoint", "echo", "-h", "myhost", "busybox", "x"]);
      assert.equal(entry.stdout, "x\n");
      const hostname = await d.docker(["run", "--rm", "-h", "myhost", "busybox", "hostname"]);
      assert.equal(hostname.stdout, "myhost\n");
      const ro = await d.docker(["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
      assert.notEqual(ro.code, 0);
      assert.match(ro.stderr, /Read-only file system/);
      const caps = await d.docker(["run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "busybox", "grep", "CapEff", "/proc/self/status"]);
      assert.match(caps.stdout, /CapEff:\s+0000000000001000/);
      const ulimit = await d.docker(["run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"]);
      assert.equal(ulimit.stdout, "512\n1024\n");
      const mem = await d.docker(["run", "--rm", "-m", "64m", "--pids-limit", "50", "--cpus", "0.5", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us"]);
      assert.equal(mem.code, 0, mem.stderr);
      assert.equal(mem.stdout, "67108864\n50\n50000\n");
      const init = await d.docker(["run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"]);
      assert.match(init.stdout, /init|tini|catatonit/);
      const nnp = await d.docker(["run", "--rm", "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status"]);
      assert.match(nnp.stdout, /NoNewPrivs:\s+1/);
      const unconfined = await d.docker(["run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status"]);
      assert.match(unconfined.stdout, /Seccomp:\s+0/);
      const privileged = await d.docker(["run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status"]);
      assert.equal(privileged.code, 0, privileged.stderr);
      const bounding = /CapBnd:\s+([0-9a-f]+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1];
      assert.match(privileged.stdout, new RegExp(`CapEff:\\s+${bounding}`), "every capability the daemon may grant");
      if (bounding !== "000001ffffffffff") assert.match(privileged.stderr, /WARNING: --privileged: the daemon's capability bounding set lacks CAP_/);
      const hostNet = await d.docker(["run", "--rm", "--network", "host", "busybox", "hostname"]);
      assert.equal(hostNet.stdout.trim(), os.hostname());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("containers of one image share its layers; changes stay in the container", async () => {
    const a = await d.docker(["run", "-d", "--name", "writer", "busybox", "sh", "-c", "echo mine > /etc/motd; sleep 100"]);
    assert.equal(a.code, 0, a.stderr);
    const b = await d.docker(["run", "--rm", "busybox", "cat", "/etc/motd"]);
    assert.notEqual(b.stdout, "mine\n");
    const lower = await d.docker(["inspect", "--format", "{{.GraphDriver.Data.LowerDir}}", "writer"]);
    assert.ok(lower.stdout.trim().length > 0);
    assert.equal((await d.docker(["rm", "-f", "writer"])).code, 0);
  });
});
