import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { DOCKER, ROOT, type RunResult, WHARF, run, succeeded } from "../helpers/daemon";
import { fetchLocal, freePort } from "../helpers/net";
import { SUBUID_FILE, subordinateRanges } from "../../src/engine/containers/subordinate-ids";

/**
 * Rootless mode (docs/rootless.md): a throwaway ordinary user (with subordinate ranges from
 * useradd) starts bin/wharfd-rootless, and everything is driven through the CLI as that user
 * with DOCKER_HOST pointing at $XDG_RUNTIME_DIR/wharf.sock. The user, its home and its runtime
 * dir are removed afterwards, also when a test fails.
 */

const LAUNCHER = path.join(ROOT, "bin", "wharfd-rootless");
const user = `wharf-rl-${crypto.randomBytes(4).toString("hex")}`;
const home = fs.mkdtempSync("/tmp/wharf-rl-home-");
const runtimeDir = fs.mkdtempSync("/tmp/wharf-rl-run-");
const socketPath = path.join(runtimeDir, "wharf.sock");
const logFile = path.join(home, "wharfd-rootless.log");
let uid = -1;
let subuid = { start: -1, count: 0 };
let launcher: ChildProcess | undefined;
let launcherExit: Promise<number | null> | undefined;
let busyboxTar = "";

/** The CLI as the test user, finding the daemon through DOCKER_HOST as a user would. */
function wharf(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run("runuser", ["-u", user, "--", "env", `HOME=${home}`, `XDG_RUNTIME_DIR=${runtimeDir}`, `DOCKER_HOST=unix://${socketPath}`, process.execPath, WHARF, ...args], { timeoutMs });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Host pids whose real uid is the user's or one of its subordinate ids. */
function processesOfUser(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = fs.readFileSync(`/proc/${name}/status`, "utf8").split("\n").find((l) => l.startsWith("Uid:")) ?? "";
      const real = Number(line.split(/\s+/)[1]);
      if (real === uid || (real >= subuid.start && real < subuid.start + subuid.count)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The host pid of the process whose command line is exactly these words (bounded wait). */
async function hostPidOf(words: string[]): Promise<number> {
  const wanted = words.join("\0");
  for (let i = 0; i < 50; i++) {
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0$/, "") === wanted) return Number(name);
      } catch {
        // gone meanwhile
      }
    }
    await sleep(100);
  }
  throw new Error(`no host process runs ${words.join(" ")}`);
}

function realUidOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("Uid:")) ?? "";
  return Number(line.split(/\s+/)[1]);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

function mountsUnderTestDirs(): string[] {
  return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(home) || l.includes(runtimeDir));
}

async function startLauncher(): Promise<void> {
  const log = fs.openSync(logFile, "a");
  const child = spawn("runuser", ["-u", user, "--", "env", `HOME=${home}`, `XDG_RUNTIME_DIR=${runtimeDir}`, `PATH=${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`, LAUNCHER], {
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  launcher = child;
  launcherExit = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wharfd-rootless exited with ${child.exitCode}:\n${fs.readFileSync(logFile, "utf8")}`);
    if (fs.existsSync(socketPath) && (await wharf(["version", "--format", "{{.Server.Version}}"], 10_000)).code === 0) return;
    await sleep(250);
  }
  throw new Error(`wharfd-rootless did not answer on ${socketPath}:\n${fs.readFileSync(logFile, "utf8")}`);
}

/** SIGTERM to rootlesskit (runuser's child), then a bounded wait for the launcher to end. */
async function stopLauncher(): Promise<number | null> {
  if (!launcher || launcher.exitCode !== null || launcher.pid === undefined) return launcher?.exitCode ?? null;
  const children = fs.readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of children) process.kill(pid, "SIGTERM");
  const code = await Promise.race([launcherExit, sleep(30_000).then(() => "timeout" as const)]);
  if (code === "timeout") throw new Error(`wharfd-rootless did not stop within 30 s:\n${fs.readFileSync(logFile, "utf8")}`);
  return code ?? null;
}

describe("rootless mode (wharfd-rootless run by an ordinary user)", { timeout: 600_000 }, () => {
  before(async () => {
    succeeded(await run("useradd", ["--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", user]));
    uid = Number(succeeded(await run("id", ["-u", user])).trim());
    const ranges = subordinateRanges(SUBUID_FILE, [user, String(uid)]);
    assert.ok(ranges.length > 0, `useradd gave ${user} no range in /etc/subuid`);
    subuid = ranges[0]!;
    for (const dir of [home, runtimeDir]) {
      fs.chownSync(dir, uid, uid);
      fs.chmodSync(dir, 0o700);
    }
    // busybox from Debian's busybox-static, as the other suites load it, in a file the user can read.
    busyboxTar = path.join(fs.mkdtempSync("/tmp/wharf-rl-image-"), "busybox.tar");
    fs.chmodSync(path.dirname(busyboxTar), 0o755);
    const made = spawnSync("bash", [path.join(ROOT, "scripts", "make-busybox-rootfs.sh")], { stdio: ["ignore", fs.openSync(busyboxTar, "w", 0o644), "inherit"], timeout: 120_000 });
    assert.equal(made.status, 0, "make-busybox-rootfs.sh failed");
    fs.chmodSync(busyboxTar, 0o644);
    await startLauncher();
    succeeded(await wharf(["import", "--change", 'CMD ["sh"]', busyboxTar, "busybox:latest"], 120_000));
  });

  after(async () => {
    try {
      await stopLauncher();
    } finally {
      // Whatever a failed test left: the user's processes (all started by this file) go first.
      for (let i = 0; i < 20 && processesOfUser().length > 0; i++) {
        for (const pid of processesOfUser()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone meanwhile
          }
        }
        await sleep(250);
      }
      await run("userdel", [user]);
      for (const dir of [home, runtimeDir, path.dirname(busyboxTar)]) if (dir && dir !== ".") fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the launcher refuses root", async () => {
    const r = await run(LAUNCHER, [], { env: { XDG_RUNTIME_DIR: runtimeDir } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /run this as an ordinary user/);
  });

  test("root in the container is the user on the host; other ids are its subordinate ids", async () => {
    const id = succeeded(await wharf(["run", "--rm", "busybox", "id"]));
    assert.match(id, /^uid=0\(root\) gid=0\(root\)/);

    const tag = String(1000 + Math.floor(Math.random() * 8000));
    const asRoot = succeeded(await wharf(["run", "-d", "busybox", "sleep", `${tag}1`])).trim();
    const asUser = succeeded(await wharf(["run", "-d", "--user", "1000", "busybox", "sleep", `${tag}2`])).trim();
    try {
      assert.equal(realUidOf(await hostPidOf(["sleep", `${tag}1`])), uid);
      // rootlesskit maps 0 to the user and 1.. to its first subordinate ids: 1000 -> start + 999.
      assert.equal(realUidOf(await hostPidOf(["sleep", `${tag}2`])), subuid.start + 999);
    } finally {
      await wharf(["rm", "-f", asRoot, asUser]);
    }
  });

  test("a port published on 127.0.0.1 answers from the host, and goes with the container", async () => {
    const port = await freePort();
    const web = succeeded(await wharf(["run", "-d", "-p", `127.0.0.1:${port}:80`, "busybox", "sh", "-c", "mkdir -p /www && echo hello-from-rootless > /www/index.html && exec httpd -f -p 80 -h /www"])).trim();
    try {
      assert.equal((await fetchLocal(port)).trim(), "hello-from-rootless");
      assert.match(succeeded(await wharf(["port", web])), new RegExp(`80/tcp -> 127\\.0\\.0\\.1:${port}`));
      // The DNAT lives in rootlesskit's network namespace, not in the host's tables.
      assert.doesNotMatch(succeeded(await run("iptables-save", ["-t", "nat"])), new RegExp(`--dport ${port}\\b`));
    } finally {
      succeeded(await wharf(["rm", "-f", web]));
    }
    assert.equal(await accepts(port), false, "the host port is still forwarded after rm");
  });

  test("a host port a host process holds fails the start with Docker's words", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await wharf(["run", "--rm", "-p", `127.0.0.1:${port}:80`, "busybox", "true"]);
      assert.equal(r.code, 125);
      assert.match(r.stderr, new RegExp(`failed to bind host port for 127\\.0\\.0\\.1:${port}:80/tcp: address already in use`));
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test("--network none has only loopback", async () => {
    const links = succeeded(await wharf(["run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"]));
    const names = links.trim().split("\n").map((l) => l.split(":")[1]!.trim());
    assert.deepEqual(names, ["lo"]);
  });

  test("a user network resolves its members' names", async () => {
    const netName = `rlnet-${crypto.randomBytes(3).toString("hex")}`;
    succeeded(await wharf(["network", "create", netName]));
    const peer = succeeded(await wharf(["run", "-d", "--network", netName, "--name", `${netName}-peer`, "busybox", "sleep", "120"])).trim();
    try {
      const r = succeeded(await wharf(["run", "--rm", "--network", netName, "busybox", "ping", "-c", "1", "-W", "5", `${netName}-peer`]));
      assert.match(r, /1 packets received/);
    } finally {
      await wharf(["rm", "-f", peer]);
      await wharf(["network", "rm", netName]);
    }
  });

  test("the data root is the user's, and info says rootless", async () => {
    const dataRoot = path.join(home, ".local", "share", "wharf");
    assert.equal(fs.statSync(dataRoot).uid, uid);
    const info = await wharf(["info"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^ {2}rootless$/m);
    assert.match(info.stdout, new RegExp(`Docker Root Dir: ${dataRoot}`));
    assert.match(info.stderr, /Running in rootless-mode without cgroups/);
    const options = JSON.parse(succeeded(await wharf(["info", "--format", "{{json .SecurityOptions}}"]))) as string[];
    assert.ok(options.includes("name=rootless"), options.join(","));
    // The real docker CLI, as the user, through the same DOCKER_HOST.
    const docker = await run("runuser", ["-u", user, "--", "env", `HOME=${home}`, `DOCKER_HOST=unix://${socketPath}`, DOCKER, "info", "--format", "{{json .SecurityOptions}}"]);
    assert.ok((JSON.parse(succeeded(docker)) as string[]).includes("name=rootless"));
  });

  test("cgroup limits: -m and --pids-limit are discarded with Docker's warnings, --cpus is refused", async () => {
    const r = await wharf(["run", "--rm", "-m", "64m", "--pids-limit", "50", "busybox", "echo", "ran-without-limits"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ran-without-limits");
    assert.match(r.stderr, /WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted\. Limitation discarded\./);
    assert.match(r.stderr, /WARNING: Your kernel does not support PIDs limit capabilities or the cgroup is not mounted\. PIDs limit discarded\./);

    const created = succeeded(await wharf(["create", "-m", "64m", "busybox", "true"])).trim().split("\n").pop()!;
    try {
      assert.equal(succeeded(await wharf(["inspect", "--format", "{{.HostConfig.Memory}}", created])).trim(), "0");
    } finally {
      await wharf(["rm", "-f", created]);
    }

    const cpus = await wharf(["run", "--rm", "--cpus", "1", "busybox", "true"]);
    assert.equal(cpus.code, 125);
    assert.match(cpus.stderr, /NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted/);
  });

  test("top finds a container's processes without a cgroup; update discards limits as create does", async () => {
    const c = succeeded(await wharf(["run", "-d", "busybox", "sleep", "3001"])).trim();
    try {
      succeeded(await wharf(["exec", "-d", c, "sleep", "3002"]));
      let top = "";
      for (let i = 0; i < 20 && !top.includes("sleep 3002"); i++) {
        top = succeeded(await wharf(["top", c]));
        if (!top.includes("sleep 3002")) await sleep(200);
      }
      assert.match(top, /sleep 3001/);
      assert.match(top, /sleep 3002/);
      const updated = await wharf(["update", "-m", "100m", c]);
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stderr, /memory limit capabilities or the cgroup is not mounted\. Limitation discarded\./);
      assert.equal(succeeded(await wharf(["inspect", "--format", "{{.HostConfig.Memory}} {{.State.Running}}", c])).trim(), "0 true");
    } finally {
      await wharf(["rm", "-f", c]);
    }
  });

  test("pause, and cp and export of a running container, stop its processes without a freezer cgroup", async () => {
    const c = succeeded(await wharf(["run", "-d", "busybox", "sh", "-c", "echo inside > /made && exec sleep 3003"])).trim();
    try {
      const stateOf = (pid: number): string => fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];
      const pid = Number(succeeded(await wharf(["inspect", "--format", "{{.State.Pid}}", c])).trim());
      // State.Pid is rootlesskit's namespace's pid: find the host pid of `sleep 3003` instead
      const hostPid = Number(
        fs.readdirSync("/proc").find((n) => /^\d+$/.test(n) && fs.readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0").join(" ").trim() === "sleep 3003") ?? pid,
      );
      succeeded(await wharf(["pause", c]));
      assert.equal(stateOf(hostPid), "T", "paused: the process is stopped");
      succeeded(await wharf(["unpause", c]));
      assert.notEqual(stateOf(hostPid), "T");
      let copied = "";
      for (let i = 0; i < 20 && !copied; i++) {
        copied = (await wharf(["cp", `${c}:/made`, "-"])).stdout;
        if (!copied) await sleep(200);
      }
      assert.match(copied, /inside/);
      const exported = await wharf(["export", c], 120_000);
      assert.equal(exported.code, 0, exported.stderr);
      // the daemon thaws once its side of the stream has closed, just after the client is done
      for (let i = 0; i < 50 && stateOf(hostPid) === "T"; i++) await sleep(100);
      assert.notEqual(stateOf(hostPid), "T", "thawed after the copies");
    } finally {
      await wharf(["rm", "-f", c]);
    }
  });

  test("stopping the launcher stops the containers and leaves no processes, mounts, sockets or port forwards", async () => {
    const port = await freePort();
    succeeded(await wharf(["run", "-d", "--name", "always", "--restart", "always", "--stop-timeout", "1", "busybox", "sleep", "600"]));
    succeeded(await wharf(["run", "-d", "--name", "graceful", "busybox", "sh", "-c", 'trap "exit 7" TERM; while :; do sleep 1; done']));
    succeeded(await wharf(["run", "-d", "--rm", "--name", "removed-at-stop", "--stop-timeout", "1", "busybox", "sleep", "600"]));
    succeeded(await wharf(["run", "-d", "--name", "outlived", "--stop-timeout", "1", "-p", `127.0.0.1:${port}:80`, "busybox", "sh", "-c", "mkdir -p /www && echo still-here > /www/index.html && exec httpd -f -p 80 -h /www"]));
    assert.equal((await fetchLocal(port)).trim(), "still-here");
    assert.ok(mountsUnderTestDirs().length === 0, "the container's mounts are visible on the host (they belong in rootlesskit's mount namespace)");

    assert.equal(await stopLauncher(), 0, fs.readFileSync(logFile, "utf8"));
    let left = processesOfUser();
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(250);
      left = processesOfUser();
    }
    assert.deepEqual(left, [], "processes of the user are left");
    assert.deepEqual(mountsUnderTestDirs(), []);
    assert.equal(await accepts(port), false, "the host port is still forwarded");
    assert.equal(fs.existsSync(socketPath), false, "the socket is left");
    assert.equal(fs.existsSync(path.join(runtimeDir, "wharf", "rootlesskit")), false, "rootlesskit's state dir is left");
  });

  test("the next start: stopped containers exited (by their stop signal), --rm ones gone, --restart always ones running again", async () => {
    await startLauncher();
    assert.match(succeeded(await wharf(["ps", "-a", "--filter", "name=outlived", "--format", "{{.Status}}"])), /^Exited/);
    // Stopped with SIGTERM by the daemon's shutdown, not killed with the namespaces.
    assert.equal(succeeded(await wharf(["inspect", "--format", "{{.State.ExitCode}}", "graceful"])).trim(), "7");
    assert.equal(succeeded(await wharf(["ps", "-a", "--filter", "name=removed-at-stop", "--format", "{{.Names}}"])).trim(), "");
    assert.equal(succeeded(await wharf(["inspect", "--format", "{{.State.Running}}", "always"])).trim(), "true");
    succeeded(await wharf(["rm", "-f", "outlived", "always", "graceful"]));
    assert.equal(succeeded(await wharf(["run", "--rm", "busybox", "echo", "again"])).trim(), "again");
  });
});
