import { promises as fsp, readdirSync } from "node:fs";
import * as path from "node:path";
import { detectCgroupVersion } from "./host-facts";

/**
 * rmdir of an empty cgroup directory. The kernel may hold a cgroup a moment after its last task
 * exits (EBUSY): retried `attempts` times, `delayMs` apart. False when it stays busy or another
 * error comes; a missing directory counts as removed.
 */
export async function removeCgroupDir(dir: string, opts: { attempts?: number; delayMs?: number } = {}): Promise<boolean> {
  const attempts = opts.attempts ?? 10;
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rmdir(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return true;
      if (code !== "EBUSY" || attempt >= attempts) return false;
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
    }
  }
}

const CGROUP_ROOT = "/sys/fs/cgroup";
let hierarchies: string[] | undefined;

/**
 * The directories under which a container's cgroup path exists: /sys/fs/cgroup itself on
 * cgroup v2; on v1 each hierarchy mounted below it (aliases such as cpu -> cpu,cpuacct are
 * symlinks and skipped; a hybrid host's v2 mount is included). Read once.
 */
export function cgroupHierarchies(): string[] {
  if (hierarchies) return hierarchies;
  if (detectCgroupVersion() === 2) return (hierarchies = [CGROUP_ROOT]);
  hierarchies = readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(CGROUP_ROOT, entry.name));
  return hierarchies;
}
