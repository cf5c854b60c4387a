import * as fs from "node:fs";
import * as path from "node:path";
import { removeCgroupDir } from "../cgroup-dir";
import { detectCgroupVersion } from "../host-facts";

/**
 * The container's cgroup (config.json's linux.cgroupsPath, where runc would put the process)
 * holds the VM's host side: `create` joins it before starting the shim, so the shim, qemu and
 * virtiofsd run in it. `stats` then reads what the VM costs the host (qemu's CPU time with the
 * guest's emulated work, the guest RAM it touched plus qemu's and virtiofsd's own memory, their
 * threads as PIDS), and `ps` (`top`) lists those host processes. No limits are written: -m and
 * --cpus shape the guest instead (vm-limits.ts). `delete` removes the directories.
 */

const CGROUP_ROOT = "/sys/fs/cgroup";
/** v1 controllers whose figures `stats` reads (cgroup-stats.ts). */
const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "pids", "blkio"];

/** The directories of one cgroups path, one per hierarchy; none for a path we do not manage. */
export function cgroupDirs(cgroupsPath: string | undefined): string[] {
  if (!cgroupsPath || !cgroupsPath.startsWith("/") || cgroupsPath.split("/").includes("..")) return [];
  if (detectCgroupVersion() === 2) return [path.join(CGROUP_ROOT, cgroupsPath)];
  const dirs = V1_CONTROLLERS.map((c) => path.join(CGROUP_ROOT, c)).filter((d) => fs.existsSync(d));
  // cpu and cpuacct are often one hierarchy under two names: one directory each hierarchy.
  return [...new Set(dirs.map((d) => fs.realpathSync(d)))].map((d) => path.join(d, cgroupsPath));
}

/** Moves `pid` (the runtime, before it starts the shim) into the container's cgroups. Best effort. */
export function joinCgroup(cgroupsPath: string | undefined, pid: number): void {
  for (const dir of cgroupDirs(cgroupsPath)) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "cgroup.procs"), String(pid));
    } catch {
      // stats then shows nothing for this hierarchy; the VM runs all the same
    }
  }
}

/** The host pids in the container's cgroup (shim, qemu, virtiofsd). */
export function cgroupPids(cgroupsPath: string | undefined): number[] {
  const [first] = cgroupDirs(cgroupsPath);
  if (!first) return [];
  try {
    return fs
      .readFileSync(path.join(first, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return [];
  }
}

/** Removes the directories once their processes are gone (the kernel may hold one a moment). */
export async function removeCgroup(cgroupsPath: string | undefined): Promise<void> {
  for (const dir of cgroupDirs(cgroupsPath)) await removeCgroupDir(dir, { attempts: 50, delayMs: 20 });
}
