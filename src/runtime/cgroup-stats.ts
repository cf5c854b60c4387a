import { existsSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A container's resource usage read from its cgroup (v1 controllers, or the v2 unified tree)
 * and its network namespace, in the units Docker's stats API uses.
 */
export interface CgroupSample {
  cpuTotalNs: number;
  cpuUserNs: number;
  cpuKernelNs: number;
  perCpuNs: number[];
  throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  memoryUsage: number;
  memoryMaxUsage: number;
  memoryLimit: number;
  memoryStats: Record<string, number>;
  pidsCurrent: number;
  pidsLimit: number;
  /** [major, minor, op, bytes] rows, op "Read" / "Write". */
  blkioBytes: Array<{ major: number; minor: number; op: string; value: number }>;
  blkioOps: Array<{ major: number; minor: number; op: string; value: number }>;
}

const USER_HZ = 100;
const V1_ROOT = "/sys/fs/cgroup";

async function read(file: string): Promise<string> {
  return fs.readFile(file, "utf8").catch(() => "");
}

async function num(file: string): Promise<number> {
  const text = (await read(file)).trim();
  if (text === "" || text === "max") return 0;
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

function blkioRows(text: string): Array<{ major: number; minor: number; op: string; value: number }> {
  const rows: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m && m[3] !== "Total") rows.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return rows;
}

export function isCgroupV2(): boolean {
  return existsSync(path.join(V1_ROOT, "cgroup.controllers"));
}

/** cgroupPath is what the OCI spec was given, e.g. "/wharf/<id>". */
export async function readCgroupSample(cgroupPath: string): Promise<CgroupSample> {
  return isCgroupV2() ? readV2(path.join(V1_ROOT, cgroupPath)) : readV1(cgroupPath);
}

async function readV1(cgroupPath: string): Promise<CgroupSample> {
  const dir = (controller: string): string => path.join(V1_ROOT, controller, cgroupPath);
  const [usage, percpu, cpuacctStat, cpuStat, memUsage, memMax, memLimit, memStat, pids, pidsMax, ioBytes, ioOps] = await Promise.all([
    num(path.join(dir("cpuacct"), "cpuacct.usage")),
    read(path.join(dir("cpuacct"), "cpuacct.usage_percpu")),
    read(path.join(dir("cpuacct"), "cpuacct.stat")),
    read(path.join(dir("cpu"), "cpu.stat")),
    num(path.join(dir("memory"), "memory.usage_in_bytes")),
    num(path.join(dir("memory"), "memory.max_usage_in_bytes")),
    num(path.join(dir("memory"), "memory.limit_in_bytes")),
    read(path.join(dir("memory"), "memory.stat")),
    num(path.join(dir("pids"), "pids.current")),
    num(path.join(dir("pids"), "pids.max")),
    read(path.join(dir("blkio"), "blkio.throttle.io_service_bytes")),
    read(path.join(dir("blkio"), "blkio.throttle.io_serviced")),
  ]);
  const ticks = keyValues(cpuacctStat);
  const throttle = keyValues(cpuStat);
  return {
    cpuTotalNs: usage,
    cpuUserNs: ((ticks.user ?? 0) * 1e9) / USER_HZ,
    cpuKernelNs: ((ticks.system ?? 0) * 1e9) / USER_HZ,
    perCpuNs: percpu.trim() ? percpu.trim().split(/\s+/).map(Number) : [],
    throttling: { periods: throttle.nr_periods ?? 0, throttledPeriods: throttle.nr_throttled ?? 0, throttledTimeNs: throttle.throttled_time ?? 0 },
    memoryUsage: memUsage,
    memoryMaxUsage: memMax,
    memoryLimit: memLimit,
    memoryStats: keyValues(memStat),
    pidsCurrent: pids,
    pidsLimit: pidsMax,
    blkioBytes: blkioRows(ioBytes),
    blkioOps: blkioRows(ioOps),
  };
}

async function readV2(dir: string): Promise<CgroupSample> {
  const [cpuStat, memCurrent, memPeak, memMax, memStat, pids, pidsMax, ioStat] = await Promise.all([
    read(path.join(dir, "cpu.stat")),
    num(path.join(dir, "memory.current")),
    num(path.join(dir, "memory.peak")),
    num(path.join(dir, "memory.max")),
    read(path.join(dir, "memory.stat")),
    num(path.join(dir, "pids.current")),
    num(path.join(dir, "pids.max")),
    read(path.join(dir, "io.stat")),
  ]);
  const cpu = keyValues(cpuStat);
  const bytes: CgroupSample["blkioBytes"] = [];
  const ops: CgroupSample["blkioOps"] = [];
  for (const line of ioStat.split("\n")) {
    const m = /^(\d+):(\d+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = Object.fromEntries(m[3].split(" ").map((p) => p.split("=")));
    const dev = { major: Number(m[1]), minor: Number(m[2]) };
    bytes.push({ ...dev, op: "read", value: Number(kv.rbytes ?? 0) }, { ...dev, op: "write", value: Number(kv.wbytes ?? 0) });
    ops.push({ ...dev, op: "read", value: Number(kv.rios ?? 0) }, { ...dev, op: "write", value: Number(kv.wios ?? 0) });
  }
  return {
    cpuTotalNs: (cpu.usage_usec ?? 0) * 1000,
    cpuUserNs: (cpu.user_usec ?? 0) * 1000,
    cpuKernelNs: (cpu.system_usec ?? 0) * 1000,
    perCpuNs: [],
    throttling: { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTimeNs: (cpu.throttled_usec ?? 0) * 1000 },
    memoryUsage: memCurrent,
    memoryMaxUsage: memPeak,
    memoryLimit: memMax || os.totalmem(),
    memoryStats: keyValues(memStat),
    pidsCurrent: pids,
    pidsLimit: pidsMax,
    blkioBytes: bytes,
    blkioOps: ops,
  };
}

/** The host's total CPU time in nanoseconds, from /proc/stat (Docker's system_cpu_usage). */
export async function systemCpuNs(): Promise<number> {
  const line = (await read("/proc/stat")).split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return (ticks.reduce((a, b) => a + b, 0) * 1e9) / USER_HZ;
}

/** Interface counters seen from inside the container's network namespace (lo left out). */
export async function networkCounters(pid: number): Promise<Record<string, Record<string, number>>> {
  const text = await read(`/proc/${pid}/net/dev`);
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split("\n").slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === "lo") continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}
