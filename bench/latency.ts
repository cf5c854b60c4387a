import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DOCKER, ROOT, type TestDaemon, ensureBusybox, run, startDaemon } from "../test/helpers/daemon";

/**
 * `run --rm busybox true`, end to end, N times each: wharf CLI -> wharfd, docker CLI -> wharfd,
 * and docker CLI -> dockerd (Docker 20.10 from Debian, on its own socket, data root and no
 * bridge) when dockerd is installed. Prints medians, min/max and ratios; writes JSON.
 */

interface Series {
  name: string;
  ms: number[];
}

const RUNS = Number(process.env.BENCH_RUNS ?? process.argv[2] ?? 20);

function stats(ms: number[]): { median: number; min: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

async function timeRuns(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Series> {
  const warm = await run(cmd, args, { env, timeoutMs: 60000 });
  if (warm.code !== 0) throw new Error(`${name}: ${warm.stderr}`);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const r = await run(cmd, args, { env, timeoutMs: 60000 });
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (r.code !== 0) throw new Error(`${name}: run ${i} failed: ${r.stderr}`);
  }
  return { name, ms };
}

interface Dockerd {
  host: string;
  stop(): Promise<void>;
}

/** Starts Debian's dockerd on private paths with no bridge and no iptables changes. */
async function startDockerd(): Promise<Dockerd | undefined> {
  const dockerd = spawnSync("sh", ["-c", "command -v dockerd"], { encoding: "utf8" }).stdout.trim();
  if (!dockerd) return undefined;
  const base = fs.mkdtempSync("/tmp/wharf-bench-dockerd-");
  const sock = path.join(base, "docker.sock");
  const log = fs.openSync(path.join(base, "dockerd.log"), "a");
  const child: ChildProcess = spawn(
    dockerd,
    [
      "-H", `unix://${sock}`, "--data-root", path.join(base, "data"), "--exec-root", path.join(base, "exec"),
      "--pidfile", path.join(base, "docker.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false",
      "--containerd-namespace", "wharf-bench", "--containerd-plugins-namespace", "wharf-bench-plugins",
    ],
    { stdio: ["ignore", log, log] },
  );
  const host = `unix://${sock}`;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const ping = await run(DOCKER, ["-H", host, "version", "--format", "{{.Server.Version}}"], { timeoutMs: 5000 }).catch(() => undefined);
    if (ping && ping.code === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    host,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      spawnSync("sh", ["-c", `grep -o ' ${base}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const results: Series[] = [];
  let wharfd: TestDaemon | undefined;
  let dockerd: Dockerd | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-bench-"));
  try {
    wharfd = await startDaemon(["--log-level", "warn"]);
    await ensureBusybox(wharfd);
    const wharfBin = path.join(ROOT, "bin", "wharf");
    results.push(await timeRuns("wharf CLI -> wharfd", process.execPath, [wharfBin, "-H", wharfd.host, "run", "--rm", "busybox", "true"]));
    results.push(await timeRuns("docker CLI -> wharfd", DOCKER, ["-H", wharfd.host, "run", "--rm", "busybox", "true"], { DOCKER_CONFIG: tmp }));
    dockerd = await startDockerd();
    if (dockerd) {
      const archive = path.join(tmp, "busybox.tar");
      const saved = await wharfd.wharf(["save", "-o", archive, "busybox:latest"]);
      if (saved.code !== 0) throw new Error(`save: ${saved.stderr}`);
      const loaded = await run(DOCKER, ["-H", dockerd.host, "load", "-i", archive], { env: { DOCKER_CONFIG: tmp } });
      if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr}`);
      results.push(await timeRuns("docker CLI -> dockerd", DOCKER, ["-H", dockerd.host, "run", "--rm", "--network", "none", "busybox", "true"], { DOCKER_CONFIG: tmp }));
    }
  } finally {
    await dockerd?.stop();
    await wharfd?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const machine = `${os.cpus().length} cores ${os.cpus()[0]?.model ?? ""}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, kernel ${os.release()}, node ${process.version}`;
  console.log(`run --rm busybox true — ${RUNS} runs each — ${machine}`);
  console.log(["series".padEnd(24), "median ms".padStart(10), "min".padStart(8), "max".padStart(8)].join(" "));
  const table = results.map((s) => ({ name: s.name, ...stats(s.ms) }));
  for (const row of table) {
    console.log([row.name.padEnd(24), row.median.toFixed(1).padStart(10), row.min.toFixed(1).padStart(8), row.max.toFixed(1).padStart(8)].join(" "));
  }
  const docker = table.find((r) => r.name === "docker CLI -> dockerd");
  if (docker) {
    for (const row of table.filter((r) => r !== docker)) {
      console.log(`ratio ${row.name} / docker CLI -> dockerd: ${(row.median / docker.median).toFixed(2)}`);
    }
  } else {
    console.log("dockerd is not installed (bench/install-docker.sh installs Debian's docker.io): no Docker ratio");
  }
  const out = path.join(ROOT, "bench", "results", `latency-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ machine, runs: RUNS, results: table, raw: results }, null, 2));
  console.log(`results: ${path.relative(process.cwd(), out)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
