import * as fs from "node:fs";

/**
 * The processes (pids as this daemon's /proc shows them) that share `initPid`'s pid namespace:
 * a container's processes found without its cgroup, which rootless containers on cgroups v1
 * do not have. Includes `exec` processes, which are not descendants of the init.
 */
export function pidsInPidNamespaceOf(initPid: number): number[] {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/pid`) === target) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Stops every process of `initPid`'s pid namespace with SIGSTOP (which no process can catch):
 * the freezer of a container that has no cgroup. Passes repeat until one finds no process it
 * had not stopped yet, so a fork racing the first pass is caught by the next.
 */
export function stopPidNamespace(initPid: number, maxPasses = 10): void {
  const stopped = new Set<number>();
  for (let pass = 0; pass < maxPasses; pass++) {
    const fresh = pidsInPidNamespaceOf(initPid).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) return;
    for (const pid of fresh) {
      try {
        process.kill(pid, "SIGSTOP");
        stopped.add(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
}

/** Continues every process of `initPid`'s pid namespace (the thaw of stopPidNamespace). */
export function continuePidNamespace(initPid: number): void {
  for (const pid of pidsInPidNamespaceOf(initPid)) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // exited meanwhile
    }
  }
}
