import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ConflictError, InvalidParameterError, NotFoundError, SystemError, WharfError } from "../lib/errors";
import { nativeErrno } from "../lib/native";
import { resolveInRoot } from "../lib/tar/resolve";
import { attach as attachSocket } from "./attach";
import { openExecTerminal, resizeTerminalOf } from "./exec-terminal";
import { continuePidNamespace, pidsInPidNamespaceOf, stopPidNamespace } from "./pid-namespace";
import { silentLogger, type RuntimeLogger } from "./logger";
import { buildOciSpec, specToJson } from "./spec";
import { type HostFacts, hostFacts } from "./host-facts";
import type { OciProcess, OciSpec } from "./oci-spec";
import { cgroupHierarchies, removeCgroupDir } from "./cgroup-dir";
import { inRuncWords } from "./crun-errors";
import { SeccompFilterCache } from "./seccomp-filter-cache";
import type { RuntimeChoice } from "./detect";
import type { AttachStreams, ContainerRuntime, CreateOptions, ExecOptions, ExecProcess, ExitInfo, RuntimeState, SpecInput } from "./types";

/**
 * The OCI runtime (runc, or crun) run under conmon. conmon double-forks away from the daemon,
 * runs `<runtime> create`, reports the container pid on a sync pipe, then owns the container's
 * stdio: it writes the k8s-file log, serves the attach socket and, when the container exits,
 * writes its exit code to `<execRoot>/exits/<id>`. Containers therefore survive the daemon.
 *
 * Layout under execRoot:
 *   runc/            the runtime's --root (its state; a dir per container while it exists)
 *   exits/<id>       exit code text, written by conmon (mtime = finish time)
 *   bundles/<id>     symlink to the container's bundle dir, so a restarted daemon finds it
 * and in the bundle dir: config.json, pidfile, conmon.pid, attach (socket), ctl and winsz
 * (fifos), exit and oom (conmon's --persist-dir files).
 */

export interface ConmonRuntimeOptions {
  /** The runtimes containers may choose (HostConfig.Runtime), the default first; vm is one of them. */
  runtimes: RuntimeChoice[];
  execRoot: string;
  conmonPath: string;
  logger?: RuntimeLogger;
  /** Host facts for spec generation (tests); defaults to this machine's. */
  host?: HostFacts;
  /** Bound on `runtime create` (image mounts and hooks can be slow). */
  createTimeoutMs?: number;
  /**
   * Rootless mode: the default runtime (runc) gets --rootless=true, so that cgroups it may not
   * create are skipped (cgroups v1 cannot be delegated; containers then have no limits).
   */
  rootless?: boolean;
}

/** One OCI runtime binary and its --root (a dir per container while the runtime knows it). */
interface OciRuntime {
  name: string;
  /** What is executed: the binary, or a launcher and the binary (see RuntimeChoice). */
  command: string[];
  root: string;
  /** Global flags after --root (runc's --rootless in rootless mode). */
  globalArgs: string[];
  /** crun only: the filters it compiled, passed back to it (seccomp-filter-cache.ts). */
  seccompFilters?: SeccompFilterCache;
}

const RESCAN_MS = 2000;
const CONMON_EXIT_WAIT_MS = 5000;
/** How long a monitor that has written the exit file gets to exit by itself (it takes ~1-2 ms). */
const EXITED_MONITOR_WAIT_MS = 500;
/** Files this module (or conmon, or runc) puts in a bundle dir; only these are removed. */
const BUNDLE_FILES = ["config.json", "pidfile", "conmon.pid", "attach", "ctl", "winsz", "exit", "oom"];

/** Container ids become file names and argv entries: keep them to a safe alphabet. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** The runtime's error text: runc/crun print JSON log lines with --log-format=json. */
export function runtimeErrorMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const line of stderr.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    try {
      const rec = JSON.parse(t) as { level?: unknown; msg?: unknown };
      if (typeof rec.msg === "string" && (rec.level === "error" || rec.level === "fatal" || rec.level === undefined)) {
        msgs.push(rec.msg);
      }
    } catch {
      msgs.push(t);
    }
  }
  return (msgs.length ? msgs[msgs.length - 1] : stderr.trim()) || "unknown error";
}

/**
 * A failed `create` as Docker words it. The docker CLI turns "executable file not found" /
 * "no such file or directory" into exit 127 and "permission denied" / "is a directory" into
 * 126, so the runtime's words are kept; those cases are the user's fault (400), others are 500.
 */
export function createError(runtimeMessage: string): WharfError {
  const msg = `failed to create task for container: OCI runtime create failed: ${runtimeMessage}: unknown`;
  const userFault = /executable file not found|no such file or directory|permission denied|is a directory/i;
  return userFault.test(runtimeMessage) ? new InvalidParameterError(msg) : new SystemError(msg);
}

/**
 * Mount targets that are symlinks in the image, resolved inside the container's root as runc
 * does (its securejoin), so that the mount lands where Docker's would. crun 1.8 follows them
 * only as far as they exist and refuses a target whose link points at a missing directory
 * ("openat2 `data`: No such file or directory"); given the resolved path, it creates that.
 */
function resolveMountTargets(spec: OciSpec): void {
  const root = spec.root.path;
  for (const m of spec.mounts) {
    try {
      const inRoot = resolveInRoot(root, m.destination, true);
      const target = `/${path.relative(root, inRoot)}`;
      if (target !== path.posix.normalize(m.destination)) m.destination = target;
    } catch {
      // ENOTDIR or ELOOP: left to the runtime, which refuses it in its own words
    }
  }
}

function nsTime(sec: bigint, ns: bigint): string {
  const iso = new Date(Number(sec) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
}

/** A TTY exec has no separate stderr. */
function endedStream(): Readable {
  return Readable.from([]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0; it is dead for our purpose.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ConmonRuntime implements ContainerRuntime {
  readonly execRoot: string;
  readonly conmonPath: string;
  private readonly logger: RuntimeLogger;
  private readonly host?: HostFacts;
  private readonly createTimeoutMs: number;
  private readonly defaultRuntime: OciRuntime;
  /** The runtimes besides the default. */
  private readonly extraRuntimes: OciRuntime[];
  /** The runtime of each container this daemon created (others are found by their state dirs). */
  private readonly runtimeOf = new Map<string, OciRuntime>();
  private readonly exitDir: string;
  private readonly linkDir: string;
  private dirsReady: Promise<void> | undefined;
  private readonly bundles = new Map<string, string>();
  /** Pid of each created, not yet started container's init (for start through runc's fifo). */
  private readonly created = new Map<string, number>();

  private readonly exitListeners: Array<(id: string, exit: ExitInfo) => void> = [];
  /** finishedAt of the exit last reported per container, so each exit is reported once. */
  private readonly reported = new Map<string, string>();
  private readonly checking = new Set<string>();
  private watcher: fs.FSWatcher | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;

  constructor(opts: ConmonRuntimeOptions) {
    this.execRoot = path.resolve(opts.execRoot);
    this.conmonPath = opts.conmonPath;
    this.logger = opts.logger ?? silentLogger;
    this.host = opts.host;
    this.createTimeoutMs = opts.createTimeoutMs ?? 120_000;
    const [first, ...others] = opts.runtimes;
    if (!first) throw new SystemError("no OCI runtime");
    const ociRuntime = (r: RuntimeChoice, globalArgs: string[] = []): OciRuntime => ({
      name: r.name,
      command: r.command,
      root: path.join(this.execRoot, r.name),
      globalArgs,
      seccompFilters: r.name === "crun" ? new SeccompFilterCache(path.join(this.execRoot, "seccomp-filters"), r.path) : undefined,
    });
    this.defaultRuntime = ociRuntime(first, opts.rootless ? ["--rootless=true"] : []);
    this.extraRuntimes = others.filter((r) => r.name !== first.name).map((r) => ociRuntime(r));
    this.exitDir = path.join(this.execRoot, "exits");
    this.linkDir = path.join(this.execRoot, "bundles");
  }

  private ensureDirs(): Promise<void> {
    this.dirsReady ??= (async () => {
      for (const d of [this.defaultRuntime.root, ...this.extraRuntimes.map((r) => r.root), this.exitDir, this.linkDir]) await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    })();
    return this.dirsReady;
  }

  private checkId(id: string): void {
    if (!ID_RE.test(id)) throw new InvalidParameterError(`invalid container id ${JSON.stringify(id)}`);
  }

  /** The container's bundle dir, from memory or from the symlink a previous daemon left. */
  private async bundleDir(id: string): Promise<string | null> {
    const known = this.bundles.get(id);
    if (known) return known;
    try {
      const target = await fsp.readlink(path.join(this.linkDir, id));
      this.bundles.set(id, target);
      return target;
    } catch {
      return null;
    }
  }

  /**
   * The runtime a container was created with: remembered, or found by its state dir under
   * another runtime's root (after a daemon restart), else the default.
   */
  private runtimeFor(id: string): OciRuntime {
    const known = this.runtimeOf.get(id);
    if (known) return known;
    return this.extraRuntimes.find((r) => fs.existsSync(path.join(r.root, id))) ?? this.defaultRuntime;
  }

  /** The runtime's argv with our --root (and global flags) before `args`. */
  private runtimeArgv(rt: OciRuntime, args: string[]): [string, string[]] {
    const [exe, ...launched] = rt.command;
    return [exe!, [...launched, "--root", rt.root, ...rt.globalArgs, ...args]];
  }

  /** Runs the OCI runtime with our root and JSON error output. */
  private run(args: string[], rt: OciRuntime = this.defaultRuntime): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(...this.runtimeArgv(rt, ["--log-format", "json", ...args]), {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      child.on("close", (code, signal) =>
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        }),
      );
    });
  }

  private async runChecked(id: string, args: string[]): Promise<RunResult> {
    const rt = this.runtimeFor(id);
    const r = await this.run(args, rt);
    if (r.code === 0) return r;
    const msg = runtimeErrorMessage(r.stderr);
    if (/does not exist|not found|no such file/i.test(msg) && !/executable/.test(msg)) {
      throw new NotFoundError(`No such container: ${id}`);
    }
    if (/not running|already (finished|stopped)|has stopped|cannot start|container is paused|not stopped/i.test(msg)) {
      throw new ConflictError(`${rt.name} ${args[0]} failed: ${msg}`);
    }
    throw new SystemError(`${rt.name} ${args[0]} failed: ${msg}`);
  }

  /** The runtime's words about a failed create or exec as runc puts them, which Docker's clients read. */
  private inRuncWords(id: string, message: string, step: "create" | "exec", command: string | undefined): string {
    return this.runtimeFor(id).name === "crun" ? inRuncWords(message, step, command) : message;
  }

  private runtimeStateExists(id: string): boolean {
    return fs.existsSync(path.join(this.runtimeFor(id).root, id));
  }

  async create(opts: CreateOptions): Promise<{ pid: number }> {
    const id = opts.containerId;
    this.checkId(id);
    const spec = buildOciSpec(opts.spec, { host: this.host, logger: this.logger });
    await this.ensureDirs();
    const bundle = path.resolve(opts.bundleDir);

    // A container created again (docker start after it exited) must not see its old state.
    if (this.runtimeStateExists(id)) await this.run(["delete", "--force", id], this.runtimeFor(id));
    const rt = opts.runtime ? (this.extraRuntimes.find((r) => r.name === opts.runtime) ?? this.defaultRuntime) : this.defaultRuntime;
    this.runtimeOf.set(id, rt);
    this.logger.debug({ id, runtime: rt.name, command: rt.command }, "creating container");
    await Promise.all([
      fsp.rm(path.join(this.exitDir, id), { force: true }),
      ...["exit", "oom", "pidfile", "conmon.pid"].map((f) => fsp.rm(path.join(bundle, f), { force: true })),
    ]);
    this.reported.delete(id);
    await rt.seccompFilters?.apply(spec);
    if (rt.name === "crun") resolveMountTargets(spec);

    await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(bundle, "config.json"), specToJson(spec), { mode: 0o600 });
    await fsp.mkdir(path.dirname(opts.logPath), { recursive: true });
    const link = path.join(this.linkDir, id);
    await fsp.rm(link, { force: true });
    await fsp.symlink(bundle, link);
    this.bundles.set(id, bundle);

    try {
      const pid = await this.startConmon(id, bundle, opts, spec.process.args[0]);
      this.created.set(id, pid);
      await rt.seccompFilters?.remember(spec, path.join(rt.root, id)).catch((err: unknown) =>
        this.logger.warn({ id, err: String(err) }, "keeping the compiled seccomp filter failed"),
      );
      return { pid };
    } catch (err) {
      await this.delete(id, true).catch((e: unknown) =>
        this.logger.warn({ id, err: String(e) }, "cleanup after a failed create failed"),
      );
      throw err;
    }
  }

  private conmonArgs(id: string, bundle: string, opts: CreateOptions): string[] {
    const [runtimeExe, runtimeArgs] = this.runtimeArgv(this.runtimeFor(id), ["--log-format=json"]);
    const args = [
      "--api-version", "1",
      "-c", id,
      "-u", id,
      "-n", id,
      "-r", runtimeExe,
      "-b", bundle,
      "-p", path.join(bundle, "pidfile"),
      "-P", path.join(bundle, "conmon.pid"),
      "-l", opts.noLogFile ? "none" : `k8s-file:${opts.logPath}`,
      "--exit-dir", this.exitDir,
      "--full-attach",
      "--persist-dir", bundle,
      ...runtimeArgs.flatMap((arg) => ["--runtime-arg", arg]),
      "--log-level", "warning",
    ];
    if (opts.openStdin) {
      args.push("-i");
      // Docker's StdinOnce: only then does the attached client's EOF close the container's
      // stdin. Never on a TTY: there stdin is the pty, and closing it would hang up the shell
      // when a client detaches (Docker also keeps a TTY's stdin open).
      if (!opts.stdinOnce || opts.tty) args.push("--leave-stdin-open");
    }
    if (opts.tty) args.push("-t");
    return args;
  }

  /** Starts conmon and waits for `{"data": pid}` (or the runtime's error) on the sync pipe. */
  private startConmon(id: string, bundle: string, opts: CreateOptions, command: string | undefined): Promise<number> {
    const child = spawn(this.conmonPath, this.conmonArgs(id, bundle, opts), {
      cwd: bundle, // conmon writes a stray "oom" file into its cwd
      detached: true,
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3" },
    });
    const sync = child.stdio[3] as Readable;
    const stderr = child.stderr as Readable;
    return new Promise<number>((resolve, reject) => {
      let syncText = "";
      let errText = "";
      let settled = false;
      let exitCode: number | null = null;
      const finish = (err: Error | null, pid?: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sync.destroy();
        stderr.destroy();
        child.unref();
        if (err) reject(err);
        else resolve(pid!);
      };
      const timer = setTimeout(
        () => finish(new SystemError(`conmon did not report container ${id} within ${this.createTimeoutMs} ms`)),
        this.createTimeoutMs,
      );
      const onLine = (line: string): void => {
        let msg: { data?: unknown; message?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return finish(new SystemError(`conmon sent an unreadable sync message: ${line}`));
        }
        const data = typeof msg.data === "number" ? msg.data : -1;
        if (data > 0) return finish(null, data);
        const text = typeof msg.message === "string" ? msg.message : "conmon reported a failure without a message";
        finish(createError(this.inRuncWords(id, runtimeErrorMessage(text), "create", command)));
      };
      sync.setEncoding("utf8");
      sync.on("data", (chunk: string) => {
        syncText += chunk;
        const nl = syncText.indexOf("\n");
        if (nl >= 0) onLine(syncText.slice(0, nl));
      });
      stderr.setEncoding("utf8");
      stderr.on("data", (chunk: string) => {
        if (errText.length < 65536) errText += chunk;
      });
      child.on("exit", (code) => {
        exitCode = code;
      });
      child.on("error", (err) => finish(new SystemError(`cannot run conmon: ${err.message}`)));
      // EOF without a message: conmon (or its daemonised child) died before reporting.
      sync.on("end", () => {
        if (syncText.trim()) return onLine(syncText.trim());
        // Let the first conmon's exit status and stderr arrive before reporting.
        setTimeout(() => {
          const detail = errText.trim() || (exitCode !== null ? `exit status ${exitCode}` : "no output");
          finish(new SystemError(`conmon failed to create container ${id}: ${detail}`));
        }, 50);
      });
    });
  }

  async start(containerId: string): Promise<void> {
    this.checkId(containerId);
    const pid = this.created.get(containerId);
    this.created.delete(containerId);
    const rt = this.runtimeFor(containerId);
    const fifo = path.join(rt.root, containerId, "exec.fifo");
    // `runc start` and `crun start` only release init through its exec fifo; doing it here
    // saves a runtime process on every `run`. Anything else (an adopted container, another
    // runtime) goes through the runtime's CLI.
    if (rt.name === "runc" && pid && fs.existsSync(fifo)) return this.startThroughFifo(containerId, fifo, pid);
    if (rt.name === "crun" && pid && fs.existsSync(fifo)) return this.startThroughCrunFifo(fifo);
    await this.runChecked(containerId, ["start", containerId]);
  }

  /**
   * crun's start protocol: init holds the fifo open for reading and waits for one byte. Opened
   * without blocking, a fifo nobody reads (init died) fails with ENXIO instead of waiting; one
   * whose reader dies meanwhile fails the write with EPIPE.
   */
  private async startThroughCrunFifo(fifo: string): Promise<void> {
    const dead = (err: unknown): Error =>
      isErrno(err, "ENXIO") || isErrno(err, "EPIPE") ? new ConflictError("crun start failed: container process is already dead") : (err as Error);
    const handle = await fsp.open(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK).catch((err: unknown) => {
      throw dead(err);
    });
    try {
      await fsp.unlink(fifo);
      await handle.write(Buffer.from([0])).catch((err: unknown) => {
        throw dead(err);
      });
    } finally {
      await handle.close();
    }
  }

  /**
   * runc's start protocol: open the fifo for reading (which releases init, blocked opening it
   * for writing), read the byte init writes, remove the fifo. If init died first, nobody would
   * ever write: a watchdog opens the fifo for writing itself, so the read ends empty.
   */
  private async startThroughFifo(containerId: string, fifo: string, pid: number): Promise<void> {
    const watchdog = setInterval(() => {
      if (processAlive(pid)) return;
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // no reader yet, or the fifo is gone: the next tick tries again
      }
    }, 100);
    let data: Buffer;
    try {
      data = await fsp.readFile(fifo);
    } finally {
      clearInterval(watchdog);
    }
    await fsp.rm(fifo, { force: true });
    if (data.length === 0) throw new ConflictError(`${this.runtimeFor(containerId).name} start failed: container process is already dead`);
  }

  async kill(containerId: string, signal: number): Promise<void> {
    this.checkId(containerId);
    if (!Number.isInteger(signal) || signal <= 0 || signal > 64) {
      throw new InvalidParameterError(`invalid signal: ${signal}`);
    }
    await this.runChecked(containerId, ["kill", containerId, String(signal)]);
  }

  async pause(containerId: string): Promise<void> {
    this.checkId(containerId);
    const init = await this.cgrouplessInit(containerId);
    if (init !== undefined) return stopPidNamespace(init);
    await this.runChecked(containerId, ["pause", containerId]);
  }

  async resume(containerId: string): Promise<void> {
    this.checkId(containerId);
    const init = await this.cgrouplessInit(containerId);
    if (init !== undefined) return continuePidNamespace(init);
    await this.runChecked(containerId, ["resume", containerId]);
  }

  /**
   * A rootless runc container on cgroups v1 has no freezer: it is paused by stopping its pid
   * namespace's processes instead. The init's pid when that applies.
   */
  private async cgrouplessInit(containerId: string): Promise<number | undefined> {
    if (!this.runtimeFor(containerId).globalArgs.includes("--rootless=true")) return undefined;
    const st = await this.state(containerId);
    if (st?.status !== "running" && st?.status !== "paused") throw new ConflictError(`container ${containerId} is not running`);
    return st.pid;
  }

  async update(containerId: string, r: SpecInput["resources"]): Promise<void> {
    this.checkId(containerId);
    const args = ["update"];
    const flag = (name: string, value: number | string | undefined): void => {
      if (value !== undefined) args.push(`--${name}`, String(value));
    };
    flag("memory", r.memory);
    // Without swap accounting the kernel has no memsw files to write.
    if ((this.host ?? hostFacts()).swapAccounting) flag("memory-swap", r.memorySwap);
    flag("cpu-share", r.cpuShares);
    flag("cpu-period", r.cpuPeriod);
    flag("cpu-quota", r.cpuQuota);
    flag("cpuset-cpus", r.cpusetCpus);
    flag("cpuset-mems", r.cpusetMems);
    flag("pids-limit", r.pidsLimit);
    args.push(containerId);
    await this.runChecked(containerId, args);
  }

  /**
   * `runc exec` with the container's own process spec, changed as asked. The exec is a child
   * of the daemon (unlike the container): it ends if the daemon dies, the container does not.
   * runc's own messages go to a log file so the process's stderr stays its own.
   */
  async exec(containerId: string, opts: ExecOptions): Promise<ExecProcess> {
    this.checkId(containerId);
    const bundle = await this.bundleDir(containerId);
    if (!bundle) throw new NotFoundError(`No such container: ${containerId}`);
    const spec = JSON.parse(await fsp.readFile(path.join(bundle, "config.json"), "utf8")) as OciSpec;
    const env = new Map(spec.process.env.map((e) => [e.split("=", 1)[0], e] as const));
    for (const e of opts.env) env.set(e.split("=", 1)[0], e);
    const caps = opts.privileged ? [...(this.host ?? hostFacts()).boundingCaps] : undefined;
    const proc: OciProcess = {
      ...spec.process,
      terminal: opts.tty,
      consoleSize: opts.tty ? opts.consoleSize : undefined,
      args: opts.args,
      env: [...env.values()],
      cwd: opts.cwd || spec.process.cwd,
      user: opts.user ?? spec.process.user,
      capabilities: caps ? { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] } : spec.process.capabilities,
    };
    const dir = path.join(this.execRoot, "execs");
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const base = path.join(dir, `${containerId}-${randomBytes(6).toString("hex")}`);
    await fsp.writeFile(`${base}.json`, JSON.stringify(proc), { mode: 0o600 });
    const rt = this.runtimeFor(containerId);
    const [runtimeExe, runtimeArgs] = this.runtimeArgv(rt, ["--log", `${base}.log`, "--log-format", "json", "exec", "--process", `${base}.json`, "--pid-file", `${base}.pid`, containerId]);
    const terminal = opts.tty ? openExecTerminal(opts.consoleSize) : null;
    let child: ChildProcess;
    try {
      child = terminal
        ? // setsid -c makes the pty runc's controlling terminal, so resizing it reaches runc as SIGWINCH.
          spawn("setsid", ["-c", "-w", runtimeExe, ...runtimeArgs], { stdio: [terminal.slaveFd, terminal.slaveFd, terminal.slaveFd] })
        : spawn(runtimeExe, runtimeArgs, { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
    } finally {
      terminal?.releaseSlave();
    }
    const cleanup = (): Promise<unknown> => Promise.all([".json", ".log", ".pid"].map((ext) => fsp.rm(`${base}${ext}`, { force: true })));
    const exit = new Promise<{ exitCode: number; error?: string }>((resolve) => {
      child.once("error", (err) => resolve({ exitCode: 126, error: err.message }));
      child.once("close", async (code, signal) => {
        const started = fs.existsSync(`${base}.pid`);
        let error: string | undefined;
        if (!started) {
          const log = await fsp.readFile(`${base}.log`, "utf8").catch(() => "");
          error = this.inRuncWords(containerId, runtimeErrorMessage(log), "exec", opts.args[0]) || `exec failed with status ${code ?? signal}`;
        }
        await cleanup();
        resolve({ exitCode: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0), error });
      });
    });
    const pid = (async (): Promise<number> => {
      for (let i = 0; i < 200; i++) {
        const text = await fsp.readFile(`${base}.pid`, "utf8").catch(() => "");
        if (text.trim()) return Number(text.trim());
        const done = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 25))]);
        if (done) return 0;
      }
      return 0;
    })();
    return {
      stdout: terminal ? terminal.output : (child.stdout as Readable),
      stderr: terminal ? endedStream() : (child.stderr as Readable),
      stdin: terminal ? (opts.stdin ? terminal.input : undefined) : (child.stdin ?? undefined),
      pid,
      exit,
      resize: (height, width) => {
        terminal?.resize(height, width);
        if (terminal && rt.name === "crun") void pid.then((p) => p > 0 && resizeTerminalOf(p, height, width));
      },
      kill: (signal) => {
        void pid.then((p) => {
          if (p > 0) {
            try {
              process.kill(p, signal);
            } catch {
              // already gone
            }
          }
        });
      },
    };
  }

  /**
   * conmon's control fifo takes "TYPE HEIGHT WIDTH" lines; type 1 resizes the pty it holds.
   * conmon keeps a reader and a writer open on it, so a non-blocking open never waits.
   */
  async resize(containerId: string, height: number, width: number): Promise<void> {
    this.checkId(containerId);
    const bundle = await this.bundleDir(containerId);
    if (!bundle) throw new NotFoundError(`No such container: ${containerId}`);
    const handle = await fsp.open(path.join(bundle, "ctl"), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      await handle.write(`1 ${height} ${width}\n`);
    } finally {
      await handle.close();
    }
  }

  /**
   * What `runc delete` or `crun delete` does for a stopped container, done here to save a
   * runtime process on every exit: remove its cgroups (the paths runc recorded in state.json;
   * crun's one path in every hierarchy) and its state directory. False (and nothing half-done
   * that the runtime's delete cannot finish) when anything is unexpected: another runtime, a
   * process still in a cgroup, an unreadable state.
   */
  private async removeStoppedState(containerId: string): Promise<boolean> {
    const rt = this.runtimeFor(containerId);
    const dir = path.join(rt.root, containerId);
    let cgroupPaths: string[];
    try {
      if (rt.name === "runc") {
        const state = JSON.parse(await fsp.readFile(path.join(dir, "state.json"), "utf8")) as { cgroup_paths?: Record<string, unknown>; init_process_pid?: unknown };
        if (typeof state.init_process_pid === "number" && processAlive(state.init_process_pid)) return false;
        cgroupPaths = [...new Set(Object.values(state.cgroup_paths ?? {}).filter((p): p is string => typeof p === "string" && p.startsWith("/sys/fs/cgroup/")))];
      } else if (rt.name === "crun") {
        const status = JSON.parse(await fsp.readFile(path.join(dir, "status"), "utf8")) as { "cgroup-path"?: unknown; pid?: unknown };
        if (typeof status.pid === "number" && processAlive(status.pid)) return false;
        const cgroup = status["cgroup-path"];
        if (cgroup !== undefined && (typeof cgroup !== "string" || !cgroup.startsWith("/") || cgroup.split("/").includes(".."))) return false;
        cgroupPaths = cgroup ? cgroupHierarchies().map((hierarchy) => path.join(hierarchy, cgroup)) : [];
      } else {
        return false;
      }
    } catch {
      return false;
    }
    // One per v1 controller (a dozen): removed side by side.
    const removed = await Promise.all(cgroupPaths.map((cgroup) => removeCgroupDir(cgroup)));
    if (removed.includes(false)) return false;
    await fsp.rm(dir, { recursive: true, force: true });
    return true;
  }

  async pids(containerId: string): Promise<number[]> {
    this.checkId(containerId);
    const rt = this.runtimeFor(containerId);
    const r = await this.run(["ps", "--format", "json", containerId], rt);
    if (r.code !== 0 && rt.globalArgs.includes("--rootless=true")) {
      // runc ps reads the cgroup, which a rootless container on cgroups v1 does not have.
      const st = await this.state(containerId);
      if (st?.status === "running" || st?.status === "paused") return pidsInPidNamespaceOf(st.pid);
    }
    if (r.code !== 0) throw new ConflictError(`container ${containerId} is not running`);
    const parsed: unknown = JSON.parse(r.stdout || "[]");
    return Array.isArray(parsed) ? parsed.filter((p): p is number => typeof p === "number") : [];
  }

  async state(containerId: string): Promise<RuntimeState | null> {
    this.checkId(containerId);
    if (!this.runtimeStateExists(containerId)) return null;
    const rt = this.runtimeFor(containerId);
    const r = await this.run(["state", containerId], rt);
    if (r.code !== 0) {
      const msg = runtimeErrorMessage(r.stderr);
      if (/does not exist|not found/i.test(msg)) return null;
      throw new SystemError(`${rt.name} state failed: ${msg}`);
    }
    const st = JSON.parse(r.stdout) as { status?: unknown; pid?: unknown };
    const status = st.status === "creating" ? "created" : st.status;
    if (status !== "created" && status !== "running" && status !== "paused" && status !== "stopped") {
      throw new SystemError(`${rt.name} state: unexpected status ${String(st.status)}`);
    }
    return { status, pid: typeof st.pid === "number" && status !== "stopped" ? st.pid : 0 };
  }

  private async conmonPid(bundle: string): Promise<number | null> {
    try {
      const pid = Number((await fsp.readFile(path.join(bundle, "conmon.pid"), "utf8")).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * Alive and still conmon (a recycled pid is not). A zombie counts as gone: conmon's parent is
   * init (or whichever subreaper), which may take a while to reap it.
   */
  private async conmonRunning(pid: number): Promise<boolean> {
    try {
      const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8");
      const open = stat.indexOf("(");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(open + 1, close);
      const state = stat.slice(close + 2, close + 3);
      return comm === "conmon" && state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  }

  /**
   * Polls until conmon is gone, at most `ms`. The first poll comes after `firstDelayMs` and the
   * delay doubles up to 100 ms; a monitor known to be exiting is polled every millisecond (`steady`).
   */
  private async waitConmonExit(pid: number, ms: number, opts: { firstDelayMs?: number; steady?: boolean } = {}): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (let delay = opts.firstDelayMs ?? 5; Date.now() < deadline; delay = opts.steady ? delay : Math.min(delay * 2, 100)) {
      if (!(await this.conmonRunning(pid))) return true;
      await sleep(delay);
    }
    return !(await this.conmonRunning(pid));
  }

  async delete(containerId: string, force: boolean): Promise<void> {
    this.checkId(containerId);
    this.created.delete(containerId);
    const bundle = await this.bundleDir(containerId);
    const monitor = bundle ? await this.conmonPid(bundle) : null;
    // conmon writes the exit file once it has reaped the container's init, and exits a moment
    // later: the engine, woken by that file, is usually here first. Wait for conmon then,
    // rather than kill a stopped container through runc (two runc processes, ~25 ms).
    const monitorUp =
      monitor !== null &&
      (await this.conmonRunning(monitor)) &&
      !(fs.existsSync(path.join(this.exitDir, containerId)) && (await this.waitConmonExit(monitor, EXITED_MONITOR_WAIT_MS, { firstDelayMs: 1, steady: true })));

    if (monitorUp) {
      if (!force) {
        const st = await this.state(containerId);
        if (st && (st.status === "running" || st.status === "paused")) {
          throw new ConflictError(
            `cannot remove container ${containerId}: container is ${st.status}: stop the container before removing or force remove`,
          );
        }
      }
      // The process must be gone before the runtime deletes its state, and conmon must have
      // written its exit file before we remove it.
      await this.run(["kill", containerId, "9"], this.runtimeFor(containerId));
      await this.waitConmonExit(monitor, CONMON_EXIT_WAIT_MS / 2);
    }
    // A container whose monitor has exited is stopped: its state can go without a runc process.
    const removedDirectly = !monitorUp && this.runtimeStateExists(containerId) && (await this.removeStoppedState(containerId));
    if (!removedDirectly && this.runtimeStateExists(containerId)) {
      const r = await this.run(["delete", "--force", containerId], this.runtimeFor(containerId));
      if (r.code !== 0) {
        const msg = runtimeErrorMessage(r.stderr);
        if (!/does not exist|not found/i.test(msg)) {
          throw new SystemError(`${this.runtimeFor(containerId).name} delete failed: ${msg}`);
        }
      }
    }
    if (monitor !== null && (await this.conmonRunning(monitor))) {
      if (!(await this.waitConmonExit(monitor, CONMON_EXIT_WAIT_MS / 2))) {
        this.logger.warn({ id: containerId, pid: monitor }, "conmon did not exit after the container; killing it");
        try {
          process.kill(monitor, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }

    await fsp.rm(path.join(this.exitDir, containerId), { force: true });
    if (bundle) {
      await Promise.all(BUNDLE_FILES.map((f) => fsp.rm(path.join(bundle, f), { force: true })));
      // Only an empty bundle dir is removed: the engine may keep a rootfs mount or logs in it.
      await fsp.rmdir(bundle).catch((err: unknown) => {
        if (!isErrno(err, "ENOENT") && !isErrno(err, "ENOTEMPTY")) throw err;
      });
    }
    await fsp.rm(path.join(this.linkDir, containerId), { force: true });
    this.bundles.delete(containerId);
    this.runtimeOf.delete(containerId);
    this.reported.delete(containerId);
  }

  async readExit(containerId: string): Promise<ExitInfo | null> {
    this.checkId(containerId);
    let text: string;
    let st: fs.BigIntStats;
    try {
      const file = path.join(this.exitDir, containerId);
      [text, st] = await Promise.all([fsp.readFile(file, "utf8"), fsp.stat(file, { bigint: true })]);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return null;
      throw err;
    }
    const exitCode = Number(text.trim());
    if (text.trim() === "" || !Number.isInteger(exitCode)) return null;
    const bundle = await this.bundleDir(containerId);
    const oomKilled = bundle !== null && fs.existsSync(path.join(bundle, "oom"));
    return { exitCode, finishedAt: nsTime(st.mtimeNs / 1_000_000_000n, st.mtimeNs), oomKilled };
  }

  onExit(listener: (containerId: string, exit: ExitInfo) => void): void {
    this.exitListeners.push(listener);
    if (this.rescanTimer) return;
    // Exit files already present are reported too, so none is lost across a daemon restart;
    // listeners must treat an exit they already recorded as a no-op.
    void this.ensureDirs().then(() => {
      try {
        this.watcher = fs.watch(this.exitDir, { persistent: false }, (_event, name) => {
          if (name) void this.checkExit(name.toString());
        });
        this.watcher.on("error", (err) => this.logger.warn({ err: String(err) }, "exit dir watch failed; rescans continue"));
      } catch (err) {
        this.logger.warn({ err: String(err) }, "cannot watch the exit dir; relying on rescans");
      }
      void this.rescan();
    });
    // The rescan catches anything inotify missed (overflow, events before the watch started).
    this.rescanTimer = setInterval(() => void this.rescan(), RESCAN_MS);
    this.rescanTimer.unref();
  }

  private async rescan(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.exitDir);
    } catch {
      return;
    }
    await Promise.all(names.map((n) => this.checkExit(n)));
  }

  private async checkExit(name: string): Promise<void> {
    // conmon writes exit files through a temp file "<id>.XXXXXX" and a rename.
    if (!ID_RE.test(name) || this.checking.has(name)) return;
    this.checking.add(name);
    try {
      const exit = await this.readExit(name);
      if (!exit || this.reported.get(name) === exit.finishedAt) return;
      this.reported.set(name, exit.finishedAt);
      for (const l of this.exitListeners) {
        try {
          l(name, exit);
        } catch (err) {
          this.logger.error({ id: name, err: String(err) }, "exit listener failed");
        }
      }
    } catch (err) {
      this.logger.warn({ id: name, err: String(err) }, "cannot read exit file");
    } finally {
      this.checking.delete(name);
    }
  }

  async attach(containerId: string, opts: { stdin: boolean }): Promise<AttachStreams> {
    this.checkId(containerId);
    const bundle = await this.bundleDir(containerId);
    if (!bundle) throw new NotFoundError(`No such container: ${containerId}`);
    try {
      return attachSocket(bundle, opts);
    } catch (err) {
      const errno = nativeErrno(err);
      if (errno === 111 /* ECONNREFUSED */ || errno === 2 /* ENOENT */ || isErrno(err, "ENOENT")) {
        throw new ConflictError(`container ${containerId} is not running`);
      }
      throw new SystemError(`cannot attach to container ${containerId}: ${(err as Error).message}`);
    }
  }

  async monitorAlive(containerId: string): Promise<boolean> {
    this.checkId(containerId);
    const bundle = await this.bundleDir(containerId);
    const pid = bundle ? await this.conmonPid(bundle) : null;
    return pid !== null && this.conmonRunning(pid);
  }

  /**
   * conmon's ctl FIFO takes "TYPE A B\n" lines; type 2 makes it close its log file and open the
   * log path again. Non-blocking open: ENXIO when no conmon reads the FIFO (it is gone), and
   * one short line is written atomically beside other writers (resize messages).
   */
  async reopenLog(containerId: string): Promise<void> {
    this.checkId(containerId);
    const bundle = await this.bundleDir(containerId);
    if (!bundle) throw new NotFoundError(`No such container: ${containerId}`);
    const fh = await fsp.open(path.join(bundle, "ctl"), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      await fh.write("2 0 0\n");
    } finally {
      await fh.close();
    }
  }

  /** Stops watching the exit dir (for tests and daemon shutdown); containers are unaffected. */
  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = null;
  }
}
