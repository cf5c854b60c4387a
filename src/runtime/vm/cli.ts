import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseSignal } from "../../lib/signals";
import { findBinary } from "../detect";
import type { OciSpec } from "../oci-spec";
import { vmExec } from "./exec";
import { cgroupPids, joinCgroup, removeCgroup } from "./vm-cgroup";
import { connectGuestNic } from "./guest-network";
import { prepareGuestMounts, wrapVirtiofsd } from "./guest-mounts";
import { encodeGuestProcess } from "./guest-process";
import { readHostConfig } from "./host-config";
import { writeLaunch } from "./launch";
import { qemuArgs, virtiofsdArgs, virtiofsdPidFile, virtiofsSocket } from "./qemu-args";
import { connectControl, processAlive, readState, stateDir, writeState, type VmState } from "./state";
import { guestCpus, guestMemoryMiB } from "./vm-limits";

/**
 * wharf-vm-runtime: the OCI runtime CLI subset conmon and ConmonRuntime use
 * (create, start, state, kill, delete, pause, resume), for containers that run in a VM.
 * Errors are runc-style JSON lines on stderr ({"level":"error","msg":...}).
 */

const SHIM_REPORT_MS = 15_000;
const KILL_WAIT_MS = 5000;

class RuntimeError extends Error {}

interface Globals {
  root: string;
  log?: string;
}

function fail(msg: string): never {
  throw new RuntimeError(msg);
}

/** `--flag value`, `--flag=value`; booleans listed in `bools`. Stops at the first positional. */
function parseFlags(args: string[], bools: string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-") || a === "-") break;
    const name = a.replace(/^--?/, "");
    const eq = name.indexOf("=");
    if (eq >= 0) flags.set(name.slice(0, eq), name.slice(eq + 1));
    else if (bools.includes(name)) flags.set(name, "true");
    else if (i + 1 < args.length) flags.set(name, args[++i]);
    else fail(`flag needs an argument: ${a}`);
  }
  return { flags, rest: args.slice(i) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function shimAlive(dir: string, st: VmState | null): boolean {
  return st !== null && processAlive(st.shimPid, dir);
}

/** Sends one line to the shim's control socket and returns its answer. */
function control(dir: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connectControl(dir);
    let answer = "";
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => (answer += c));
    sock.on("end", () => resolve(answer.trim()));
    sock.on("error", (err) => reject(new RuntimeError(`container is not running (${err.message})`)));
    sock.write(`${line}\n`);
  });
}

async function create(g: Globals, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ["no-pivot", "no-new-keyring", "systemd-cgroup"]);
  const id = rest[0] ?? fail("create needs a container id");
  const bundle = path.resolve(flags.get("bundle") ?? flags.get("b") ?? ".");
  const pidFile = flags.get("pid-file");
  const host = readHostConfig(g.root);
  for (const [what, file, pkg] of [
    ["qemu", host.qemu, "qemu-system-x86"],
    ["virtiofsd", host.virtiofsd, "qemu-system-common"],
    ["the VM shim", host.shim, "scripts/build-vm-assets.sh"],
    ["the guest kernel", host.kernel, "scripts/build-vm-assets.sh"],
    ["the guest initramfs", host.initrd, "scripts/build-vm-assets.sh"],
  ] as const) {
    if (!fs.existsSync(file)) fail(`${what} not found at ${file}: install it with ${pkg.includes("/") ? pkg : `apt-get install --no-install-recommends ${pkg}`}`);
  }
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, "config.json"), "utf8")) as OciSpec;
  const consoleSocket = flags.get("console-socket");
  if (spec.process.terminal && !consoleSocket) fail("a terminal (process.terminal) needs --console-socket");
  const rootfs = path.resolve(bundle, spec.root.path);
  if (!fs.existsSync(rootfs)) fail(`rootfs ${rootfs}: no such file or directory`);
  const cpu = spec.linux.resources.cpu;
  const dir = stateDir(g.root, id);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch {
    fail(`container with id exists: ${id}`);
  }
  const shape = { memoryMiB: guestMemoryMiB(spec.linux.resources.memory?.limit), cpus: guestCpus(cpu?.quota, cpu?.period, os.cpus().length), stateDir: dir };
  try {
    const mounts = prepareGuestMounts(rootfs, spec.mounts ?? []);
    const [unshare, shell] = [findBinary("unshare") ?? "/usr/bin/unshare", findBinary("sh") ?? "/bin/sh"];
    const [virtiofsd, ...virtiofsdRest] = wrapVirtiofsd(unshare, shell, host.virtiofsd, virtiofsdArgs(rootfs, dir), mounts);
    writeLaunch(dir, {
      qemu: host.qemu,
      qemuArgs: qemuArgs(host, shape),
      virtiofsd,
      virtiofsdArgs: virtiofsdRest,
      virtiofsSocket: virtiofsSocket(dir),
      process: encodeGuestProcess(spec, true),
      consoleSocket: spec.process.terminal ? consoleSocket : undefined,
      describe: `vm ${id}: microvm, ${shape.cpus} vCPU, ${shape.memoryMiB} MiB, accel ${host.accel} (${host.accelReason})`,
    });
    // We join the container's cgroup first: the shim, qemu and virtiofsd are born in it.
    joinCgroup(spec.linux.cgroupsPath, process.pid);
    const shim = await startShim(dir, host.shim);
    writeState(dir, { id, bundle, rootfs, created: new Date().toISOString(), shimPid: shim.pid, qemuPid: shim.qemuPid, virtiofsdPid: shim.virtiofsdPid, started: false, cgroupsPath: spec.linux.cgroupsPath });
    if (pidFile) fs.writeFileSync(pidFile, String(shim.pid));
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(virtiofsdPidFile(dir), { force: true });
    // Out of the cgroup ourselves, or it could never be removed.
    joinCgroup("/", process.pid);
    await removeCgroup(spec.linux.cgroupsPath);
    throw err;
  }
}

/** Starts the shim (detached, with our stdio: conmon's pipes) and waits for its report on fd 3. */
function startShim(dir: string, shimPath: string): Promise<{ pid: number; qemuPid: number; virtiofsdPid: number }> {
  // A network namespace of its own: the engine connects "the container's" netns (the one of
  // the pid conmon reports, the shim's) to its networks, and that must never be the host's.
  const child = spawn("unshare", ["--net", "--", shimPath, dir], { detached: true, stdio: ["inherit", "inherit", "inherit", "pipe"] });
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  // The shim leads its own process group (detached); qemu and virtiofsd are in it: on failure
  // the whole group goes, nothing half-started stays.
  const killGroup = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => {
      killGroup();
      reject(new RuntimeError("the VM shim did not report within 15 s"));
    }, SHIM_REPORT_MS);
    pipe.setEncoding("utf8");
    pipe.on("data", (c: string) => (text += c));
    pipe.on("end", () => {
      clearTimeout(timer);
      let msg: { error?: string; qemuPid?: number; virtiofsdPid?: number } = {};
      try {
        msg = JSON.parse(text.trim() || "{}") as typeof msg;
      } catch {
        msg = { error: `unreadable report from the VM shim: ${text}` };
      }
      if (msg.error || !msg.qemuPid || !child.pid) {
        killGroup();
        return reject(new RuntimeError(msg.error ?? "the VM shim exited without a report"));
      }
      child.unref();
      resolve({ pid: child.pid, qemuPid: msg.qemuPid, virtiofsdPid: msg.virtiofsdPid ?? 0 });
    });
  });
}

function loadState(g: Globals, id: string): { dir: string; st: VmState } {
  const dir = stateDir(g.root, id);
  const st = readState(dir);
  if (!st) fail(`container does not exist: ${id}`);
  return { dir, st };
}

async function start(g: Globals, args: string[]): Promise<void> {
  const id = args[0] ?? fail("start needs a container id");
  const { dir, st } = loadState(g, id);
  if (!shimAlive(dir, st)) fail("cannot start a container that has stopped");
  // The engine has connected the shim's namespace to its networks by now: the guest joins them.
  if (!st.started) {
    await connectGuestNic(st.shimPid, dir).catch((err: unknown) => fail(`cannot connect the guest's network: ${err instanceof Error ? err.message : String(err)}`));
  }
  const answer = await control(dir, "start");
  if (answer !== "ok") fail(answer.replace(/^error /, ""));
  const now = readState(dir);
  if (now && !now.started) writeState(dir, { ...now, started: true });
}

function status(dir: string, st: VmState): "created" | "running" | "paused" | "stopped" {
  if (!shimAlive(dir, st)) return "stopped";
  if (st.paused) return "paused";
  return st.started ? "running" : "created";
}

/**
 * pause/resume: the whole guest stops (qemu's threads, and virtiofsd so no request in flight
 * touches the root filesystem while the engine works on it from the host, as `cp` does).
 */
function freeze(g: Globals, args: string[], paused: boolean): void {
  const id = args[0] ?? fail(`${paused ? "pause" : "resume"} needs a container id`);
  const { dir, st } = loadState(g, id);
  const now = status(dir, st);
  if (paused && now !== "running") fail(`container not running`);
  if (!paused && now !== "paused") fail(`container not paused`);
  for (const [pid, marker] of [
    [st.qemuPid, dir],
    [st.virtiofsdPid, st.rootfs],
  ] as const) {
    if (processAlive(pid, marker)) process.kill(pid, paused ? "SIGSTOP" : "SIGCONT");
  }
  writeState(dir, { ...st, paused });
}

function state(g: Globals, args: string[]): void {
  const id = args[0] ?? fail("state needs a container id");
  const { dir, st } = loadState(g, id);
  const s = status(dir, st);
  process.stdout.write(
    `${JSON.stringify({ ociVersion: "1.0.2", id, status: s, pid: s === "stopped" ? 0 : st.shimPid, bundle: st.bundle, rootfs: st.rootfs, created: st.created, owner: "" }, null, 2)}\n`,
  );
}

/** SIGKILL to shim, qemu and virtiofsd (each only if still ours), then waits until they are gone. */
async function killAll(dir: string, st: VmState): Promise<void> {
  const procs: Array<[number, string]> = [
    [st.qemuPid, dir],
    [st.virtiofsdPid, st.rootfs],
    [st.shimPid, dir],
  ];
  for (const [pid, marker] of procs) {
    if (processAlive(pid, marker)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
  const deadline = Date.now() + KILL_WAIT_MS;
  while (Date.now() < deadline && procs.some(([pid, marker]) => processAlive(pid, marker))) await sleep(10);
}

async function kill(g: Globals, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ["all", "a"]);
  void flags;
  const id = rest[0] ?? fail("kill needs a container id");
  const sig = parseSignal(rest[1] ?? "SIGTERM");
  const { dir, st } = loadState(g, id);
  if (!shimAlive(dir, st)) fail("container not running");
  // SIGKILL cannot wait for a guest that may be stuck: the VM itself goes, the exit is 137.
  if (sig === 9) return killAll(dir, st);
  const answer = await control(dir, `kill ${sig}`);
  if (answer !== "ok") fail(answer.replace(/^error /, ""));
}

async function del(g: Globals, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ["force", "f"]);
  const id = rest[0] ?? fail("delete needs a container id");
  const dir = stateDir(g.root, id);
  const st = readState(dir);
  if (!st) {
    if (!fs.existsSync(dir)) fail(`container does not exist: ${id}`);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (shimAlive(dir, st)) {
    if (!flags.has("force") && !flags.has("f")) fail(`cannot delete container ${id} that is not stopped: ${status(dir, st)}`);
  }
  await killAll(dir, st);
  await removeCgroup(st.cgroupsPath);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(virtiofsdPidFile(dir), { force: true });
}

/** `ps --format json`: the VM's host processes (shim, qemu, virtiofsd), which `top` shows. */
function ps(g: Globals, args: string[]): void {
  const { rest } = parseFlags(args, []);
  const id = rest[0] ?? fail("ps needs a container id");
  const { dir, st } = loadState(g, id);
  if (status(dir, st) === "stopped") fail("container not running");
  const pids = cgroupPids(st.cgroupsPath);
  process.stdout.write(`${JSON.stringify(pids.length ? pids : [st.shimPid, st.qemuPid, st.virtiofsdPid].filter((p) => processAlive(p)))}\n`);
}

async function exec(g: Globals, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ["detach", "d", "tty", "t", "no-new-privs", "no-subreaper"]);
  const id = rest[0] ?? fail("exec needs a container id");
  const processFile = flags.get("process") ?? fail("exec needs --process (a process.json)");
  const { dir, st } = loadState(g, id);
  if (status(dir, st) !== "running") fail("cannot exec in a stopped container");
  let code: number;
  try {
    code = await vmExec(dir, path.resolve(processFile), flags.get("pid-file"));
  } catch (err) {
    // As `runc exec`: the JSON line in the log (the engine reads it), the words on stderr,
    // which is the process's own.
    const msg = err instanceof Error ? err.message : String(err);
    if (g.log) fs.appendFileSync(g.log, `${JSON.stringify({ level: "error", msg, time: new Date().toISOString() })}\n`);
    process.stderr.write(`${msg}\n`);
    code = 1;
  }
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const g: Globals = { root: "/run/wharf/vm" };
  try {
    if (argv[0] === "--version" || argv[0] === "-v") argv = ["version"];
    const { flags, rest } = parseFlags(argv, ["debug", "systemd-cgroup", "rootless"]);
    g.root = path.resolve(flags.get("root") ?? g.root);
    g.log = flags.get("log");
    const [cmd, ...args] = rest;
    switch (cmd) {
      case "create":
        return await create(g, args);
      case "start":
        return await start(g, args);
      case "state":
        return state(g, args);
      case "kill":
        return await kill(g, args);
      case "delete":
        return await del(g, args);
      case "exec":
        return await exec(g, args);
      case "ps":
        return ps(g, args);
      case "pause":
        return freeze(g, args, true);
      case "resume":
        return freeze(g, args, false);
      case "version":
        process.stdout.write("wharf-vm-runtime version 0.1.0\nspec: 1.0.2\n");
        return;
      default:
        fail(`${cmd ?? "(no command)"} is not supported by the vm runtime`);
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const line = `${JSON.stringify({ level: "error", msg, time: new Date().toISOString() })}\n`;
    process.stderr.write(line);
    if (g.log) fs.appendFileSync(g.log, line);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
