import { InvalidParameterError } from "../../lib/errors";
import type { HostConfig } from "./types";

/**
 * Rootless mode on cgroups v1: the hierarchies belong to the host's root and cannot be
 * delegated, so no container gets cgroup limits. As rootless dockerd does on such a host, the
 * limits are discarded with Docker's warnings (the container still runs), except --cpus,
 * which Docker refuses. Changes hostConfig in place; returns the warnings for the create answer.
 */
export function discardCgroupLimits(hc: HostConfig): string[] {
  const warnings: string[] = [];
  if (hc.NanoCpus > 0) {
    throw new InvalidParameterError("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted");
  }
  if (hc.Memory > 0) {
    warnings.push("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.");
    hc.Memory = 0;
    hc.MemorySwap = -1;
  }
  if (hc.CpuShares > 0) {
    warnings.push("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.");
    hc.CpuShares = 0;
  }
  if (hc.CpuPeriod > 0) {
    warnings.push("Your kernel does not support CPU CFS period or the cgroup is not mounted. Period discarded.");
    hc.CpuPeriod = 0;
  }
  if (hc.CpuQuota > 0) {
    warnings.push("Your kernel does not support CPU CFS quota or the cgroup is not mounted. Quota discarded.");
    hc.CpuQuota = 0;
  }
  if (hc.CpusetCpus || hc.CpusetMems) {
    warnings.push("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
    hc.CpusetCpus = "";
    hc.CpusetMems = "";
  }
  if (hc.PidsLimit !== null && hc.PidsLimit !== undefined) {
    if (hc.PidsLimit > 0) warnings.push("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.");
    hc.PidsLimit = null;
  }
  return warnings;
}
