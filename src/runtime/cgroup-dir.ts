import { promises as fsp } from "node:fs";

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
