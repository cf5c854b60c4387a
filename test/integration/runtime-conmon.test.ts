import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { ConmonRuntime } from "../../src/runtime/conmon-runtime";
import { type RuntimeChoice, detectRuntimes, findBinary, findInitBinary } from "../../src/runtime/detect";
import { resolveUser } from "../../src/runtime/user";
import type { AttachStreams, ExitInfo, SpecInput } from "../../src/runtime/types";
import { until } from "../helpers/wait";

/**
 * Real runc and real crun (each OCI runtime this machine has: crun through wharf-hide-cgroup2 on
 * a cgroup v1 hybrid host) under real conmon, as root: no mocks. Everything lives in a private
 * exec root under /tmp and is removed in after(), also when a test fails.
 */

const conmon = findBinary("conmon");
const runtimes: RuntimeChoice[] = process.getuid?.() === 0 ? detectRuntimes() : [];
const skip =
  process.getuid?.() !== 0 ? "needs root" : !runtimes.some((r) => r.name === "runc") || !conmon ? "needs runc and conmon" : !fs.existsSync("/bin/busybox") ? "needs busybox-static" : false;

const WAIT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on("data", (b: Buffer) => parts.push(b));
    stream.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    stream.on("error", reject);
  });
}

function ppidOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^PPid:\s*(\d+)/m.exec(status)![1]);
}

function processExists(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

for (const runtime of skip ? [{ name: "runc", path: "", command: [] }] : runtimes) describe(`ConmonRuntime (${runtime.name} + conmon)`, { skip }, () => {
  const stateDir = (id: string): string => path.join(tmp, "exec", runtime.name, id);
  let tmp: string;
  let rootfs: string;
  let rt: ConmonRuntime;
  const ids: string[] = [];
  const exits = new Map<string, ExitInfo>();
  const exitWaiters = new Map<string, (e: ExitInfo) => void>();
  // onExit's watcher does not hold the event loop open (a daemon has its server for that).
  const keepAlive = setInterval(() => undefined, 1000);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-rt-"));
    rootfs = path.join(tmp, "rootfs");
    for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev"]) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    fs.copyFileSync("/bin/busybox", path.join(rootfs, "bin/busybox"));
    fs.chmodSync(path.join(rootfs, "bin/busybox"), 0o755);
    const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const a of applets) if (a !== "busybox") fs.symlinkSync("busybox", path.join(rootfs, "bin", a));
    fs.writeFileSync(
      path.join(rootfs, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    );
    fs.writeFileSync(path.join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n");
    for (const f of ["hostname", "hosts", "resolv.conf"]) fs.writeFileSync(path.join(tmp, f), f === "hostname" ? "box\n" : "\n");
    rt = new ConmonRuntime({ runtimes: [runtime], execRoot: path.join(tmp, "exec"), conmonPath: conmon! });
    rt.onExit((id, e) => {
      exits.set(id, e);
      exitWaiters.get(id)?.(e);
    });
  });

  after(async () => {
    clearInterval(keepAlive);
    for (const id of ids) await rt.delete(id, true).catch(() => undefined);
    rt.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function newId(): string {
    const id = `wharftest${process.pid}x${ids.length}x${Date.now().toString(36)}`;
    ids.push(id);
    return id;
  }

  function spec(id: string, args: string[], extra: Partial<SpecInput> = {}): SpecInput {
    return {
      containerId: id,
      rootfsPath: rootfs,
      readonlyRootfs: false,
      args,
      env: ["PATH=/bin", "HOME=/root"],
      cwd: "/",
      user: { uid: 0, gid: 0, additionalGids: [] },
      terminal: false,
      hostname: "box",
      etcFiles: { hostname: path.join(tmp, "hostname"), hosts: path.join(tmp, "hosts"), resolvConf: path.join(tmp, "resolv.conf") },
      extraMounts: [],
      privileged: false,
      capAdd: [],
      capDrop: [],
      noNewPrivileges: false,
      seccomp: "default",
      network: "none",
      resources: {},
      ulimits: [],
      cgroupsPath: `/wharf/${id}`,
      ...extra,
    };
  }

  function bundleDir(id: string): string {
    return path.join(tmp, "bundles", id);
  }

  function exitOf(id: string): Promise<ExitInfo> {
    const known = exits.get(id);
    if (known) return Promise.resolve(known);
    return withTimeout(new Promise<ExitInfo>((resolve) => exitWaiters.set(id, resolve)), WAIT_MS, `exit of ${id}`);
  }

  async function create(
    id: string,
    args: string[],
    opts: { stdin?: boolean; tty?: boolean; extra?: Partial<SpecInput> } = {},
  ): Promise<number> {
    const { pid } = await withTimeout(
      rt.create({
        containerId: id,
        bundleDir: bundleDir(id),
        spec: spec(id, args, { terminal: opts.tty ?? false, ...opts.extra }),
        logPath: path.join(tmp, "logs", `${id}.log`),
        openStdin: opts.stdin ?? false,
        stdinOnce: opts.stdin ?? false,
        tty: opts.tty ?? false,
      }),
      WAIT_MS,
      "create",
    );
    return pid;
  }

  /** create + attach + start, then the whole output and the exit. */
  async function run(
    args: string[],
    opts: { stdin?: string; tty?: boolean; extra?: Partial<SpecInput> } = {},
  ): Promise<{ id: string; stdout: string; stderr: string; exit: ExitInfo }> {
    const id = newId();
    await create(id, args, { stdin: opts.stdin !== undefined, tty: opts.tty, extra: opts.extra });
    const streams: AttachStreams = await rt.attach(id, { stdin: opts.stdin !== undefined });
    const out = collect(streams.stdout);
    const err = collect(streams.stderr);
    await withTimeout(rt.start(id), WAIT_MS, "start");
    if (opts.stdin !== undefined) {
      assert.ok(streams.stdin);
      streams.stdin.end(opts.stdin);
    }
    const [stdout, stderr, exit] = await withTimeout(Promise.all([out, err, exitOf(id)]), WAIT_MS, "output and exit");
    return { id, stdout, stderr, exit };
  }

  it("runs echo hello: output on stdout, exit 0 in readExit, the line in the log", async () => {
    const r = await run(["echo", "hello"]);
    assert.equal(r.stdout, "hello\n");
    assert.equal(r.stderr, "");
    const exit = await rt.readExit(r.id);
    assert.ok(exit);
    assert.equal(exit.exitCode, 0);
    assert.equal(exit.oomKilled, false);
    assert.match(exit.finishedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.ok(Math.abs(Date.parse(exit.finishedAt) - Date.now()) < 60_000);
    const log = fs.readFileSync(path.join(tmp, "logs", `${r.id}.log`), "utf8");
    assert.match(log, /^\S+ stdout F hello\n$/);
  });

  it("keeps stdout and stderr apart and reports exit 3", async () => {
    const r = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.exit.exitCode, 3);
    assert.equal((await rt.readExit(r.id))?.exitCode, 3);
  });

  it("passes stdin through and closes it at the client's end (StdinOnce)", async () => {
    const r = await run(["cat"], { stdin: "data\n" });
    assert.equal(r.stdout, "data\n");
    assert.equal(r.exit.exitCode, 0);
  });

  it("passes large stdin intact", async () => {
    const big = "x".repeat(100_000) + "\n";
    const r = await run(["wc", "-c"], { stdin: big });
    assert.equal(r.stdout.trim(), String(big.length));
  });

  it("delivers large output completely, also to a slow reader", async () => {
    const id = newId();
    await create(id, ["sh", "-c", "seq 1 200000; seq 1 1000 >&2"]);
    const streams = await rt.attach(id, { stdin: false });
    streams.stdout.pause(); // a reader that does not keep up: conmon must wait, not drop
    const err = collect(streams.stderr);
    await rt.start(id);
    await new Promise((r) => setTimeout(r, 300));
    const out = collect(streams.stdout);
    streams.stdout.resume();
    const [stdout, stderr] = await withTimeout(Promise.all([out, err]), WAIT_MS, "output");
    const expected = Array.from({ length: 200000 }, (_, i) => String(i + 1)).join("\n") + "\n";
    assert.equal(stdout.length, expected.length);
    assert.equal(stdout, expected);
    assert.equal(stderr.split("\n").length, 1001);
    assert.equal((await exitOf(id)).exitCode, 0);
  });

  it("close() detaches at once and leaves the container running", async () => {
    const id = newId();
    await create(id, ["sh", "-c", "echo started; exec sleep 100"], { stdin: false });
    const streams = await rt.attach(id, { stdin: false });
    const out = collect(streams.stdout);
    // Listen before start: the first output can arrive while start() is still resolving.
    const firstOutput = new Promise((r) => streams.stdout.once("data", r));
    await rt.start(id);
    await withTimeout(firstOutput, WAIT_MS, "first output");
    streams.close();
    assert.equal(await withTimeout(out, 2000, "streams end after close()"), "started\n");
    assert.equal((await rt.state(id))?.status, "running");
    // A second attach still works.
    const again = await rt.attach(id, { stdin: false });
    again.close();
    await rt.kill(id, 9);
    assert.equal((await exitOf(id)).exitCode, 137);
  });

  it("start releases init through its exec fifo; a start after init died fails instead of hanging", async () => {
    const id = newId();
    const pid = await create(id, ["echo", "through the fifo"]);
    assert.equal((await rt.state(id))?.status, "created");
    const streams = await rt.attach(id, { stdin: false });
    const out = collect(streams.stdout);
    await withTimeout(rt.start(id), WAIT_MS, "start");
    assert.equal(await withTimeout(out, WAIT_MS, "output"), "through the fifo\n");
    assert.equal((await exitOf(id)).exitCode, 0);

    const dead = newId();
    const initPid = await create(dead, ["true"]);
    assert.ok(initPid > 0 && pid > 0);
    process.kill(initPid, "SIGKILL");
    // Until then it may still hold the fifo open: a start in that moment succeeds, and the
    // container's exit (137) follows.
    await until("the killed init to be gone", async () => !processExists(initPid), WAIT_MS, 5);
    await assert.rejects(withTimeout(rt.start(dead), 5000, "start of a dead container"), /already dead|not running|cannot start/);
    await rt.delete(dead, true);
  });

  it("records an OOM kill (conmon's oom file) in readExit", async () => {
    const r = await run(["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\000' a); echo survived"], {
      extra: { resources: { memory: 16 * 1024 * 1024, memorySwap: 16 * 1024 * 1024 } },
    });
    assert.equal(r.exit.exitCode, 137);
    assert.equal(r.exit.oomKilled, true);
    assert.equal((await rt.readExit(r.id))?.oomKilled, true);
  });

  it("runs with a TTY: output arrives on stdout", async () => {
    const r = await run(["sh", "-c", "tty; echo done"], { tty: true });
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\ndone\r\n$/);
    assert.equal(r.exit.exitCode, 0);
  });

  it("runs as the user resolved from the container's passwd", async () => {
    const user = await resolveUser(rootfs, "app");
    assert.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: "/home/app" });
    const r = await run(["id"], { extra: { user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } } });
    assert.equal(r.stdout, "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)\n");
  });

  it("applies Docker's confinement: caps, masked paths, read-only /proc/sys, hostname, limits", async () => {
    const r = await run(
      [
        "sh",
        "-c",
        "grep CapEff /proc/self/status; hostname; cat /proc/timer_list 2>&1 | wc -c; " +
          "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo rw || echo ro; ulimit -n; " +
          "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/pids.max; df -k /dev/shm | tail -1",
      ],
      { extra: { ulimits: [{ Name: "nofile", Soft: 1234, Hard: 2048 }], resources: { memory: 64 * 1024 * 1024, pidsLimit: 50 }, shmSize: 8 * 1024 * 1024 } },
    );
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], "CapEff:\t00000000a80425fb"); // Docker's default set
    assert.equal(lines[1], "box");
    assert.equal(lines[2], "0"); // masked: /dev/null bind
    assert.equal(lines[3], "ro");
    assert.equal(lines[4], "1234");
    assert.equal(lines[5], String(64 * 1024 * 1024));
    assert.equal(lines[6], "50");
    assert.match(lines[7], /^shm\s+8192\s/);
  });

  it("--privileged: the daemon's whole bounding set, host devices, no masks", async () => {
    const bnd = /^CapBnd:\s*(\S+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"))![1];
    const r = await run(["sh", "-c", "grep CapEff /proc/self/status; test -c /dev/zero && ls /dev | wc -l; cat /proc/timer_list | wc -c"], {
      extra: { privileged: true },
    });
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], `CapEff:\t${bnd}`);
    assert.ok(Number(lines[1]) > 10, "host devices are present");
    assert.ok(Number(lines[2]) > 0, "/proc/timer_list is not masked");
    assert.equal(r.exit.exitCode, 0);
  });

  it("Docker's seccomp profile holds in every container, also when crun is given the filter it compiled before", async () => {
    const probe = ["sh", "-c", "grep Seccomp: /proc/self/status; unshare -U true && echo unshare-allowed || echo unshare-denied"];
    for (let i = 0; i < 3; i++) {
      const r = await run(probe);
      assert.equal(r.exit.exitCode, 0, r.stderr);
      assert.equal(r.stdout, "Seccomp:\t2\nunshare-denied\n", `container ${i}`);
      const annotations = (JSON.parse(fs.readFileSync(path.join(bundleDir(r.id), "config.json"), "utf8")) as { annotations?: Record<string, string> }).annotations ?? {};
      // crun compiles a profile once (here, or for an earlier test's container); runc always compiles it.
      if (runtime.name !== "crun" || i > 0) assert.equal("run.oci.seccomp_bpf_data" in annotations, runtime.name === "crun", `container ${i}: the kept filter passed`);
    }
    const kept = path.join(tmp, "exec", "seccomp-filters");
    // One per distinct profile (capabilities change Docker's profile): only crun's are kept.
    const count = fs.existsSync(kept) ? fs.readdirSync(kept).length : 0;
    assert.ok(runtime.name === "crun" ? count >= 1 : count === 0, `${count} programs kept`);
    const unconfined = await run(probe, { extra: { seccomp: "unconfined" } });
    assert.equal(unconfined.stdout, "Seccomp:\t0\nunshare-allowed\n", "the probe can tell");
  });

  it("network none has only lo; network host shares the host's interfaces", async () => {
    const none = await run(["ls", "/sys/class/net"]);
    assert.equal(none.stdout, "lo\n");
    const host = await run(["ls", "/sys/class/net"], { extra: { network: "host" } });
    assert.deepEqual(host.stdout.trim().split(/\s+/).sort(), fs.readdirSync("/sys/class/net").sort());
  });

  it("fails a missing command the way Docker words it (exit-127 class, 400) and leaves nothing", async () => {
    const id = newId();
    await assert.rejects(create(id, ["nosuch"]), (err: Error & { statusCode?: number }) => {
      assert.equal(err.statusCode, 400);
      assert.equal(
        err.message,
        `failed to create task for container: OCI runtime create failed: ${runtime.name} create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown`,
      );
      return true;
    });
    assert.equal(fs.existsSync(stateDir(id)), false, "no runtime state");
    assert.equal(fs.existsSync(bundleDir(id)), false, "no bundle");
    assert.equal(fs.existsSync(path.join(tmp, "exec", "bundles", id)), false, "no bundle link");
    assert.equal(fs.existsSync(`/sys/fs/cgroup/memory/wharf/${id}`), false, "no cgroup");
  });

  it("kills with SIGTERM through --init: exit 143; SIGKILL without init: exit 137", async () => {
    const init = findInitBinary();
    assert.ok(init, "tini-static or catatonit is installed");
    const a = newId();
    await create(a, ["sleep", "100"], { extra: { initPath: init } });
    await rt.start(a);
    assert.equal((await rt.state(a))?.status, "running");
    await rt.kill(a, 15);
    assert.equal((await exitOf(a)).exitCode, 143);

    const b = newId();
    await create(b, ["sleep", "100"]);
    await rt.start(b);
    await rt.kill(b, 9);
    assert.equal((await exitOf(b)).exitCode, 137);
    assert.equal((await rt.state(b))?.status, "stopped");
  });

  it("reports states created -> running -> stopped; null when unknown", async () => {
    const id = newId();
    const pid = await create(id, ["sleep", "100"]);
    assert.ok(pid > 1);
    assert.deepEqual(await rt.state(id), { status: "created", pid });
    await rt.start(id);
    assert.deepEqual(await rt.state(id), { status: "running", pid });
    await rt.kill(id, 9);
    await exitOf(id);
    assert.equal((await rt.state(id))?.status, "stopped");
    assert.equal(await rt.state("nosuchcontainer"), null);
    assert.equal(await rt.readExit("nosuchcontainer"), null);
  });

  it("conmon is not our child, and the container outlives the process that created it", async () => {
    const id = newId();
    // A separate Node process creates and starts the container, then exits.
    const script = `
      const { ConmonRuntime } = require(${JSON.stringify(path.resolve(__dirname, "../../src/runtime/conmon-runtime.js"))});
      const rt = new ConmonRuntime(${JSON.stringify({ runtimes: [runtime], execRoot: path.join(tmp, "exec"), conmonPath: conmon })});
      rt.create(${JSON.stringify({ containerId: id, bundleDir: bundleDir(id), spec: spec(id, ["sleep", "100"]), logPath: path.join(tmp, "logs", `${id}.log`), openStdin: false, tty: false })})
        .then(() => rt.start(${JSON.stringify(id)}))
        .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "inherit", "inherit"] });
    const code = await withTimeout(new Promise<number | null>((r) => child.on("exit", r)), WAIT_MS, "creator process");
    assert.equal(code, 0);

    assert.equal((await rt.state(id))?.status, "running");
    assert.equal(await rt.monitorAlive(id), true);
    const conmonPid = Number(fs.readFileSync(path.join(bundleDir(id), "conmon.pid"), "utf8"));
    assert.notEqual(ppidOf(conmonPid), process.pid);
    assert.notEqual(ppidOf(conmonPid), child.pid);

    // Our own create: conmon daemonises away from us too.
    const own = newId();
    await create(own, ["sleep", "100"]);
    const ownConmon = Number(fs.readFileSync(path.join(bundleDir(own), "conmon.pid"), "utf8"));
    assert.notEqual(ppidOf(ownConmon), process.pid);
    await rt.delete(own, true);
  });

  it("delete leaves no cgroup, bundle, conmon, runtime state or exit file", async () => {
    const id = newId();
    await create(id, ["sleep", "100"]);
    await rt.start(id);
    const conmonPid = Number(fs.readFileSync(path.join(bundleDir(id), "conmon.pid"), "utf8"));
    const cgroup = `/sys/fs/cgroup/memory/wharf/${id}`;
    assert.equal(fs.existsSync(cgroup), true);
    await assert.rejects(rt.delete(id, false), (err: Error & { statusCode?: number }) => err.statusCode === 409);
    await withTimeout(rt.delete(id, true), WAIT_MS, "delete");
    assert.equal(fs.existsSync(cgroup), false, "cgroup dir");
    assert.equal(fs.existsSync(bundleDir(id)), false, "bundle dir");
    assert.equal(processExists(conmonPid), false, "conmon process");
    assert.equal(fs.existsSync(stateDir(id)), false, "runtime state");
    assert.equal(fs.existsSync(path.join(tmp, "exec", "exits", id)), false, "exit file");
    assert.equal(await rt.state(id), null);
    assert.equal(await rt.monitorAlive(id), false);
    // Idempotent.
    await rt.delete(id, true);
    await rt.delete(id, false);
  });

  it("starts a container and deletes it after its exit without running the runtime for either", async () => {
    // The same runtime behind a launcher that notes each subcommand it is run for.
    const calls = path.join(tmp, `${runtime.name}-calls`);
    const launcher = path.join(tmp, `${runtime.name}-noting`);
    fs.writeFileSync(launcher, `#!/bin/sh\nfor a; do case "$a" in create|start|delete|kill|state) echo "$a" >> ${calls}; break;; esac; done\nexec "$@"\n`, { mode: 0o755 });
    const noted = new ConmonRuntime({ runtimes: [{ ...runtime, command: [launcher, ...runtime.command] }], execRoot: path.join(tmp, "exec-noted"), conmonPath: conmon! });
    const id = newId();
    const exited = new Promise<ExitInfo>((resolve) => noted.onExit((exitId, e) => exitId === id && resolve(e)));
    try {
      await noted.create({ containerId: id, bundleDir: path.join(tmp, "bundles-noted", id), spec: spec(id, ["true"]), logPath: path.join(tmp, "logs", `${id}.log`), openStdin: false, tty: false });
      await withTimeout(noted.start(id), WAIT_MS, "start");
      assert.equal((await withTimeout(exited, WAIT_MS, "exit")).exitCode, 0);
      await noted.delete(id, false);
      assert.equal(fs.existsSync(`/sys/fs/cgroup/memory/wharf/${id}`), false, "cgroup removed");
      assert.equal(fs.existsSync(path.join(tmp, "exec-noted", runtime.name, id)), false, "runtime state removed");
      assert.deepEqual(fs.readFileSync(calls, "utf8").trim().split("\n"), ["create"], "only conmon's create ran the runtime");
    } finally {
      await noted.delete(id, true).catch(() => undefined);
      noted.close();
    }
  });

  it("deletes an exited container without force, and a created one with force", async () => {
    const r = await run(["true"]);
    await rt.delete(r.id, false);
    assert.equal(fs.existsSync(bundleDir(r.id)), false);

    const id = newId();
    await create(id, ["true"]);
    await rt.delete(id, true);
    assert.equal(fs.existsSync(stateDir(id)), false);
    assert.equal(fs.existsSync(`/sys/fs/cgroup/memory/wharf/${id}`), false);
  });

  it("refuses to attach to a container that is not running", async () => {
    const r = await run(["true"]);
    await assert.rejects(rt.attach(r.id, { stdin: false }), (err: Error & { statusCode?: number }) => err.statusCode === 409);
  });

  it("create+start+exit of `true` is fast (timing printed)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newId();
      const t0 = process.hrtime.bigint();
      await create(id, ["true"]);
      await rt.start(id);
      await exitOf(id);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await rt.delete(id, false);
    }
    times.sort((a, b) => a - b);
    console.log(`# create+start+exit of true: median ${times[2].toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(", ")})`);
    assert.ok(times[2] < 2000);
  });
});
