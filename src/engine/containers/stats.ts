import * as os from "node:os";
import { type CgroupSample, networkCounters, readCgroupSample, systemCpuNs } from "../../runtime/cgroup-stats";
import type { ContainerRecord } from "./types";

/** One point in time of Docker's stats JSON ("cpu_stats" / "precpu_stats" and the rest). */
export interface StatsPoint {
  read: string;
  sample?: CgroupSample;
  systemNs: number;
  networks?: Record<string, Record<string, number>>;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

export async function takeStatsPoint(record: ContainerRecord, cgroupParent: string): Promise<StatsPoint> {
  if (!record.State.Running) return { read: ZERO_TIME, systemNs: 0 };
  const [sample, systemNs, networks] = await Promise.all([
    readCgroupSample(`${cgroupParent}/${record.Id}`),
    systemCpuNs(),
    record.State.Pid ? networkCounters(record.State.Pid) : Promise.resolve({}),
  ]);
  return { read: new Date().toISOString(), sample, systemNs, networks };
}

function cpuStats(point: StatsPoint | undefined): Record<string, unknown> {
  const s = point?.sample;
  return {
    cpu_usage: {
      total_usage: s?.cpuTotalNs ?? 0,
      percpu_usage: s?.perCpuNs.length ? s.perCpuNs : undefined,
      usage_in_kernelmode: s?.cpuKernelNs ?? 0,
      usage_in_usermode: s?.cpuUserNs ?? 0,
    },
    system_cpu_usage: point?.systemNs ?? 0,
    online_cpus: s ? os.cpus().length : 0,
    throttling_data: {
      periods: s?.throttling.periods ?? 0,
      throttled_periods: s?.throttling.throttledPeriods ?? 0,
      throttled_time: s?.throttling.throttledTimeNs ?? 0,
    },
  };
}

/** Docker's /containers/{id}/stats document from the current and the previous point. */
export function statsDocument(record: ContainerRecord, now: StatsPoint, previous: StatsPoint | undefined): Record<string, unknown> {
  const s = now.sample;
  const blkio = (rows: CgroupSample["blkioBytes"] | undefined): unknown => (rows && rows.length ? rows : null);
  return {
    name: record.Name,
    id: record.Id,
    read: now.read,
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: s ? { current: s.pidsCurrent, ...(s.pidsLimit ? { limit: s.pidsLimit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: blkio(s?.blkioBytes),
      io_serviced_recursive: blkio(s?.blkioOps),
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now),
    precpu_stats: cpuStats(previous),
    memory_stats: s ? { usage: s.memoryUsage, max_usage: s.memoryMaxUsage || undefined, stats: s.memoryStats, limit: Math.min(s.memoryLimit, os.totalmem()) } : {},
    ...(now.networks && Object.keys(now.networks).length ? { networks: now.networks } : {}),
  };
}
