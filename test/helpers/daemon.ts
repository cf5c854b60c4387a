import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before } from "node:test";

/** A private wharfd for one test file: own socket, data root and exec root under /tmp. */
export interface TestDaemon {
  host: string;
  socketPath: string;
  dataRoot: string;
  execRoot: string;
  /** This daemon's own default bridge interface and subnet: tests never share them. */
  bridge: string;
  subnet: string;
  /** The default bridge's gateway (the host's address on it). */
  gateway: string;
  pid: number;
  wharf(args: string[], opts?: RunOptions): Promise<RunResult>;
  docker(args: string[], opts?: RunOptions): Promise<RunResult>;
  api(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: string; json<T = unknown>(): T }>;
  /** Kills the daemon with SIGKILL (containers keep running) and starts it again on the same roots. */
  crashAndRestart(): Promise<void>;
  /** Stops the daemon with SIGTERM, returns its exit code, and starts it again on the same roots. */
  gracefulRestart(): Promise<number | null>;
  stop(): Promise<void>;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const WHARF = path.join(ROOT, "bin", "wharf");
const WHARFD = path.join(ROOT, "bin", "wharfd");
export const DOCKER = "/usr/local/bin/docker";

/** A command's stdout after asserting it exited 0 (its output in the failure message). */
export function succeeded(r: RunResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs ?? 60000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

function apiRequest(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: string; json<T = unknown>(): T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { socketPath, method, path: urlPath, headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}, timeout: 60000 },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

async function waitForSocket(socketPath: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wharfd exited with ${child.exitCode}:\n${fs.readFileSync(logFile, "utf8")}`);
    try {
      const res = await apiRequest(socketPath, "GET", "/_ping");
      if (res.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`wharfd did not answer on ${socketPath}:\n${fs.readFileSync(logFile, "utf8")}`);
}

export async function startDaemon(extraArgs: string[] = []): Promise<TestDaemon> {
  const base = fs.mkdtempSync("/tmp/wharf-test-");
  const dataRoot = path.join(base, "data");
  const execRoot = path.join(base, "exec");
  const socketPath = path.join(base, "wharf.sock");
  const logFile = path.join(base, "wharfd.log");
  const dockerConfig = path.join(base, "docker-config");
  fs.mkdirSync(dockerConfig);
  const host = `unix://${socketPath}`;
  // "wt" + random: leaks.test.ts counts interfaces, rules and leases by this prefix and 10.2xx subnets.
  const bridge = `wt${Math.random().toString(16).slice(2, 10)}`;
  const net = `10.${200 + Math.floor(Math.random() * 56)}.${Math.floor(Math.random() * 256)}`;
  const subnet = `${net}.0/24`;
  const gateway = `${net}.1`;
  // User networks come from a second /24 (the pool must not overlap the default bridge).
  const pool = net.replace(/\.(\d+)$/, (_m, y: string) => `.${Number(y) ^ 128}`);
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    const log = fs.openSync(logFile, "a");
    child = spawn(process.execPath, [WHARFD, "-H", host, "--data-root", dataRoot, "--exec-root", execRoot, "--log-level", "debug", "--cgroup-parent", "/wharf-test", "--bridge", bridge, "--bip", `${gateway}/24`, "--default-address-pool", `base=${pool}.0/24,size=28`,
      // docker.io goes to a closed loopback port: no test can reach for Docker Hub, even by mistake.
      "--registry-mirror", "127.0.0.1:1", ...extraArgs], {
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    await waitForSocket(socketPath, child, logFile);
  };
  try {
    await launch();
  } catch (err) {
    // A daemon that never came up leaves nothing behind either.
    unmountUnder(base);
    fs.rmSync(base, { recursive: true, force: true });
    throw err;
  }

  const daemon: TestDaemon = {
    host,
    socketPath,
    dataRoot,
    execRoot,
    bridge,
    subnet,
    gateway,
    get pid() {
      return child.pid ?? 0;
    },
    wharf: (args, opts) => run(process.execPath, [WHARF, "-H", host, ...args], opts),
    docker: (args, opts) => run(DOCKER, ["-H", host, ...args], { ...opts, env: { DOCKER_CONFIG: dockerConfig, ...opts?.env } }),
    api: (method, urlPath, body) => apiRequest(socketPath, method, urlPath, body),
    async crashAndRestart() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      await launch();
    },
    async gracefulRestart() {
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      const code = await exited;
      await launch();
      return code;
    },
    async stop() {
      try {
        // Leave nothing behind: remove every container this daemon still has.
        const res = await apiRequest(socketPath, "GET", "/containers/json?all=1");
        if (res.status === 200) {
          for (const c of res.json<Array<{ Id: string }>>()) {
            await apiRequest(socketPath, "DELETE", `/containers/${c.Id}?force=1`).catch(() => undefined);
          }
        }
        // User networks too: their bridges would outlive the daemon.
        const nets = await apiRequest(socketPath, "GET", "/networks");
        if (nets.status === 200) {
          for (const n of nets.json<Array<{ Id: string; Name: string }>>()) {
            if (!["bridge", "host", "none"].includes(n.Name)) await apiRequest(socketPath, "DELETE", `/networks/${n.Id}`).catch(() => undefined);
          }
        }
      } catch {
        // daemon already gone
      }
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      unmountUnder(base);
      // Every container is gone, so no IPAM lease may remain (host-local keeps one file per address).
      const leases = ipamLeases(path.join(dataRoot, "networks", "ipam"));
      fs.rmSync(base, { recursive: true, force: true });
      // The bridge outlives the daemon by design (as docker0 does); a test daemon's must go.
      spawnSyncQuiet("ip", ["link", "del", bridge]);
      if (leases.length) throw new Error(`IPAM leases left behind: ${leases.join(", ")}`);
    },
  };
  return daemon;
}

/** host-local's lease files (named by address) under an IPAM data dir. */
function ipamLeases(dir: string): string[] {
  const out: string[] = [];
  for (const network of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    for (const name of fs.readdirSync(path.join(dir, network))) if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) out.push(`${network}/${name}`);
  }
  return out;
}

/** Unmounts anything still mounted below dir (deepest first), so removing it is safe. */
export function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(dir + "/")))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) {
    spawnSyncQuiet("umount", ["-l", mp]);
  }
}

function spawnSyncQuiet(cmd: string, args: string[]): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("node:child_process").spawnSync(cmd, args, { stdio: "ignore" });
}

let busyboxTar: string | undefined;

/** Imports busybox:latest through `wharf import`, building the rootfs tar once per process. */
export async function ensureBusybox(d: TestDaemon): Promise<void> {
  const present = await d.api("GET", "/images/busybox:latest/json");
  if (present.status === 200) return;
  if (!busyboxTar) {
    const tarPath = path.join(os.tmpdir(), `wharf-busybox-${process.pid}.tar`);
    const out = fs.openSync(tarPath, "w");
    await new Promise<void>((resolve, reject) => {
      const child = spawn("bash", [path.join(ROOT, "scripts", "make-busybox-rootfs.sh")], { stdio: ["ignore", out, "inherit"] });
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`make-busybox-rootfs.sh exited ${code}`))));
    });
    fs.closeSync(out);
    process.once("exit", () => fs.rmSync(tarPath, { force: true }));
    busyboxTar = tarPath;
  }
  const imported = await d.wharf(["import", "--change", 'CMD ["sh"]', busyboxTar, "busybox:latest"]);
  if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
}

/**
 * The usual suite setup: a private daemon with busybox for the enclosing describe(), stopped
 * (and everything it made removed) after it. `set` receives the daemon once it is up.
 */
export function useDaemon(set: (d: TestDaemon) => void, extraArgs: string[] = []): void {
  let daemon: TestDaemon | undefined;
  before(async () => {
    daemon = await startDaemon(extraArgs);
    await ensureBusybox(daemon);
    set(daemon);
  });
  after(async () => {
    await daemon?.stop();
  });
}
