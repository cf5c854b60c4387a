import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { DOCKER, ROOT, type RunOptions, type RunResult, ensureBusybox, run, startDaemon, unmountUnder } from "../test/helpers/daemon";

/**
 * The shared pieces of the benchmarks: start and stop both engines (a private wharfd and a
 * private dockerd 20.10, each on its own socket, data root and exec root), the same Engine API
 * client for both, process memory from /proc, timing and statistics, the machine line, and the
 * JSON results under bench/results/.
 */

export { DOCKER, ROOT, run };

/** Every bench container carries this label, so a cleanup can find what a scenario left. */
export const BENCH_LABEL = "wharf-bench";
/** Both engines get the same network mode until wharf's bridge networking lands. */
export const NETWORK_MODE = "none";

export interface ApiResponse {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

export interface Engine {
  /** "wharf" or "docker" */
  name: "wharf" | "docker";
  host: string;
  socketPath: string;
  /** the daemon's own pid (node running wharfd, or dockerd) */
  daemonPid(): number;
  /** pids of the engine's helper processes outside the containers: conmon, or containerd + shims */
  helperPids(): { daemons: number[]; monitors: number[] };
  /** the Engine API over the unix socket (keep-alive agent, same for both engines) */
  api(method: string, urlPath: string, body?: unknown, timeoutMs?: number): Promise<ApiResponse>;
  /** the real docker CLI against this engine */
  docker(args: string[], opts?: RunOptions): Promise<RunResult>;
  dockerArgs(args: string[]): string[];
  dockerEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- timing and statistics

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = now();
  const value = await fn();
  return { ms: now() - t0, value };
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, min: NaN, max: NaN, mean: NaN };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Runs fn over items with at most `limit` in flight; results in item order. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A time budget for one scenario: check() throws once it is spent, so loops stop and cleanup runs. */
export class Deadline {
  private readonly end: number;
  constructor(readonly what: string, readonly ms: number) {
    this.end = Date.now() + ms;
  }
  check(): void {
    if (Date.now() > this.end) throw new Error(`${this.what}: time budget of ${Math.round(this.ms / 1000)} s spent`);
  }
  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }
}

// ---------------------------------------------------------------- the Engine API client

function makeApi(socketPath: string): { call: Engine["api"]; agent: http.Agent } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const call = (method: string, urlPath: string, body?: unknown, timeoutMs = 120000): Promise<ApiResponse> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: http.OutgoingHttpHeaders = payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {};
      const req = http.request({ socketPath, method, path: urlPath, headers, agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  return { call, agent };
}

/** Fails with the engine's message unless the status is one of `ok`. */
export function expectStatus(res: ApiResponse, what: string, ...ok: number[]): ApiResponse {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

/** The create body both engines get. */
export function createBody(cmd: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Image: "busybox:latest",
    Cmd: cmd,
    Labels: { [BENCH_LABEL]: "1" },
    HostConfig: { NetworkMode: NETWORK_MODE },
    ...extra,
  };
}

let nameSeq = 0;
const nameRun = Math.random().toString(36).slice(2, 8);

/**
 * Creates a container with an explicit unique name (`wharf-bench-<run>-<n>`), the same request
 * to both engines. Explicit because wharfd's generated names can collide when creates run
 * concurrently: it checks the random name before its async work and reserves it only after,
 * so a second in-flight create with the same pick fails with 409 (seen at 500 containers,
 * 8 in flight; only ~10k distinct generated names).
 */
export async function createContainer(e: Engine, cmd: string[], extra?: Record<string, unknown>): Promise<string> {
  const name = `wharf-bench-${nameRun}-${++nameSeq}`;
  const res = expectStatus(await e.api("POST", `/containers/create?name=${name}`, createBody(cmd, extra)), `${e.name} create`, 201);
  return res.json<{ Id: string }>().Id;
}

/** Force-removes every bench container this engine still has (8 at a time). */
export async function removeBenchContainers(e: Engine): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [BENCH_LABEL] }));
  const res = await e.api("GET", `/containers/json?all=1&filters=${filters}`);
  if (res.status !== 200) return 0;
  const ids = res.json<Array<{ Id: string }>>().map((c) => c.Id);
  await pool(ids, 8, (id) => e.api("DELETE", `/containers/${id}?force=1`).catch(() => undefined));
  return ids.length;
}

// ---------------------------------------------------------------- processes and memory

export interface ProcMem {
  pid: number;
  comm: string;
  rssKiB: number;
  anonKiB: number;
  /** proportional set size (shared pages divided among their users), from smaps_rollup */
  pssKiB: number;
}

export function procMem(pid: number): ProcMem | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "";
    let pssKiB = 0;
    try {
      pssKiB = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
    } catch {
      // no smaps_rollup
    }
    return { pid, comm, rssKiB: field("VmRSS"), anonKiB: field("RssAnon"), pssKiB };
  } catch {
    return undefined;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ");
      out.push({ pid: Number(name), ppid, comm, cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

export interface MemSample {
  daemonKiB: number;
  daemonAnonKiB: number;
  monitors: number;
  monitorKiB: number;
  monitorAnonKiB: number;
  totalKiB: number;
  totalAnonKiB: number;
  totalPssKiB: number;
  processes: ProcMem[];
}

/** Memory outside the containers: the daemon(s) plus every per-container monitor. */
export function engineMemory(e: Engine): MemSample {
  const { daemons, monitors } = e.helperPids();
  const d = [e.daemonPid(), ...daemons].map(procMem).filter((m): m is ProcMem => !!m);
  const m = monitors.map(procMem).filter((x): x is ProcMem => !!x);
  const sum = (xs: ProcMem[], k: "rssKiB" | "anonKiB" | "pssKiB"): number => xs.reduce((a, b) => a + b[k], 0);
  return {
    daemonKiB: sum(d, "rssKiB"),
    daemonAnonKiB: sum(d, "anonKiB"),
    monitors: m.length,
    monitorKiB: sum(m, "rssKiB"),
    monitorAnonKiB: sum(m, "anonKiB"),
    totalKiB: sum(d, "rssKiB") + sum(m, "rssKiB"),
    totalAnonKiB: sum(d, "anonKiB") + sum(m, "anonKiB"),
    totalPssKiB: sum(d, "pssKiB") + sum(m, "pssKiB"),
    processes: [...d, ...m],
  };
}

// ---------------------------------------------------------------- the engines

export async function startWharf(): Promise<Engine> {
  const d = await startDaemon(["--log-level", "warn"]);
  try {
    await ensureBusybox(d);
  } catch (err) {
    await d.stop();
    throw err;
  }
  const { call, agent } = makeApi(d.socketPath);
  const dockerEnv = { DOCKER_CONFIG: path.join(path.dirname(d.socketPath), "docker-config") };
  const engine: Engine = {
    name: "wharf",
    host: d.host,
    socketPath: d.socketPath,
    daemonPid: () => d.pid,
    helperPids: () => ({
      daemons: [],
      monitors: listProcs()
        .filter((p) => p.comm === "conmon" && p.cmdline.includes(d.execRoot + "/"))
        .map((p) => p.pid),
    }),
    api: call,
    dockerArgs: (args) => ["-H", d.host, ...args],
    dockerEnv,
    docker: (args, opts) => run(DOCKER, ["-H", d.host, ...args], { ...opts, env: { ...dockerEnv, ...opts?.env } }),
    async stop() {
      await removeBenchContainers(engine).catch(() => undefined);
      agent.destroy();
      await d.stop();
    },
  };
  return engine;
}

export function dockerdInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v dockerd"], { encoding: "utf8" }).stdout.trim() !== "";
}

/**
 * Debian's dockerd on private paths: its own socket, data root, exec root, pidfile and containerd
 * namespaces, no bridge, no iptables changes. dockerd starts and supervises its own containerd
 * (under the exec root). busybox comes from wharf: `wharf save | docker load`.
 */
export async function startDockerd(wharf: Engine): Promise<Engine> {
  const dockerd = spawnSync("sh", ["-c", "command -v dockerd"], { encoding: "utf8" }).stdout.trim();
  if (!dockerd) throw new Error("dockerd is not installed (bash bench/install-docker.sh)");
  const base = fs.mkdtempSync("/tmp/wharf-bench-dockerd-");
  const sock = path.join(base, "docker.sock");
  const dockerConfig = path.join(base, "docker-config");
  fs.mkdirSync(dockerConfig);
  const logPath = path.join(base, "dockerd.log");
  const log = fs.openSync(logPath, "a");
  const child: ChildProcess = spawn(
    dockerd,
    [
      "-H", `unix://${sock}`, "--data-root", path.join(base, "data"), "--exec-root", path.join(base, "exec"),
      "--pidfile", path.join(base, "docker.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false",
      "--containerd-namespace", "wharf-bench", "--containerd-plugins-namespace", "wharf-bench-plugins",
      "--log-level", "warn",
    ],
    { stdio: ["ignore", log, log] },
  );
  fs.closeSync(log);
  const host = `unix://${sock}`;
  const { call, agent } = makeApi(sock);
  const dockerEnv = { DOCKER_CONFIG: dockerConfig };

  const stop = async (): Promise<void> => {
    agent.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    // Anything of ours still alive (containerd, shims) goes too: matched by our private base dir.
    for (const p of listProcs()) {
      if (p.pid !== process.pid && p.cmdline.includes(base)) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    unmountUnder(base);
    fs.rmSync(base, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}: ${fs.readFileSync(logPath, "utf8").slice(-2000)}`);
      const ping = await call("GET", "/_ping", undefined, 2000).catch(() => undefined);
      if (ping?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${sock}: ${fs.readFileSync(logPath, "utf8").slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const archive = path.join(base, "busybox.tar");
    const saved = await wharf.docker(["save", "-o", archive, "busybox:latest"], { timeoutMs: 60000 });
    if (saved.code !== 0) throw new Error(`save from wharf: ${saved.stderr}`);
    const loaded = await run(DOCKER, ["-H", host, "load", "-i", archive], { env: dockerEnv, timeoutMs: 60000 });
    if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr}`);
    fs.rmSync(archive);
  } catch (err) {
    await stop();
    throw err;
  }

  const engine: Engine = {
    name: "docker",
    host,
    socketPath: sock,
    daemonPid: () => child.pid ?? 0,
    helperPids: () => {
      const procs = listProcs();
      return {
        daemons: procs.filter((p) => p.comm === "containerd" && p.cmdline.includes(base)).map((p) => p.pid),
        monitors: procs.filter((p) => p.comm.startsWith("containerd-shim") && p.cmdline.includes(base)).map((p) => p.pid),
      };
    },
    api: call,
    dockerArgs: (args) => ["-H", host, ...args],
    dockerEnv,
    docker: (args, opts) => run(DOCKER, ["-H", host, ...args], { ...opts, env: { ...dockerEnv, ...opts?.env } }),
    async stop() {
      await removeBenchContainers(engine).catch(() => undefined);
      await stop();
    },
  };
  return engine;
}

// ---------------------------------------------------------------- machine line and results

export function machineLine(): string {
  const cpu = os.cpus();
  const dockerd = spawnSync("sh", ["-c", "dockerd --version 2>/dev/null"], { encoding: "utf8" }).stdout.trim().replace(/^Docker version /, "");
  const runc = spawnSync("sh", ["-c", "runc --version 2>/dev/null | head -1"], { encoding: "utf8" }).stdout.trim().replace(/^runc version /, "");
  const crun = spawnSync("sh", ["-c", "crun --version 2>/dev/null | head -1"], { encoding: "utf8" }).stdout.trim().replace(/^crun version /, "");
  const conmon = spawnSync("sh", ["-c", "conmon --version 2>/dev/null | head -1"], { encoding: "utf8" }).stdout.trim().replace(/^conmon version /, "");
  const cgroup = fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? "cgroup v2" : "cgroup v1";
  return [
    `${cpu.length} cores ${cpu[0]?.model?.trim() ?? ""}`,
    `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `kernel ${os.release()}`,
    cgroup,
    `node ${process.version}`,
    // wharf's default OCI runtime is crun where it is installed (src/runtime/detect.ts); Docker's is runc.
    `crun ${crun || "not installed"}`,
    `runc ${runc || "?"}`,
    `conmon ${conmon || "?"}`,
    `dockerd ${dockerd || "not installed"}`,
  ].join(", ");
}

/** One line of the final table. `better` says which direction wins. */
export interface Row {
  scenario: string;
  unit: string;
  wharf: number | null;
  docker: number | null;
  better: "lower" | "higher";
  note?: string;
}

export function ratio(row: Row): number | null {
  return row.wharf !== null && row.docker !== null && row.docker !== 0 ? row.wharf / row.docker : null;
}

export function writeResults(name: string, data: unknown): string {
  const out = path.join(ROOT, "bench", "results", `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(data, null, 2));
  return out;
}

function fmt(v: number | null, unit: string): string {
  if (v === null || Number.isNaN(v)) return "-";
  if (unit === "ms" || unit === "ms/ctr") return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  if (unit === "MiB" || unit === "MiB/ctr" || unit === "MB/s") return v.toFixed(2);
  if (unit === "ctr/s") return v.toFixed(1);
  return String(v);
}

export function printTable(rows: Row[], header: string): void {
  const w = [Math.max(8, ...rows.map((r) => `${r.scenario} (${r.unit})`.length)), 10, 10, 16];
  console.log(header);
  console.log(["scenario".padEnd(w[0]), "wharf".padStart(w[1]), "Docker".padStart(w[2]), "wharf/Docker".padStart(w[3])].join("  "));
  for (const r of rows) {
    const q = ratio(r);
    const verdict = q === null ? "" : (r.better === "lower" ? q < 1 : q > 1) ? " (wharf)" : " (Docker)";
    console.log(
      [
        `${r.scenario} (${r.unit})`.padEnd(w[0]),
        fmt(r.wharf, r.unit).padStart(w[1]),
        fmt(r.docker, r.unit).padStart(w[2]),
        (q === null ? "-" : q.toFixed(2) + verdict).padStart(w[3]),
      ].join("  "),
    );
  }
}

/** Context each scenario gets. `docker` is absent when dockerd is not installed. */
export interface Ctx {
  wharf: Engine;
  docker?: Engine;
  quick: boolean;
  flags: Set<string>;
  log(msg: string): void;
}

export interface Scenario {
  name: string;
  /** seconds; the scenario stops (and cleans up) once it is spent */
  budgetSeconds(ctx: Ctx): number;
  /** `errors`: parts that failed while others produced rows (the suite reports both) */
  run(ctx: Ctx, deadline: Deadline): Promise<{ rows: Row[]; detail: unknown; errors?: string[] }>;
}

export const engines = (ctx: Ctx): Engine[] => (ctx.docker ? [ctx.wharf, ctx.docker] : [ctx.wharf]);
