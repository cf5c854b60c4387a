import * as fs from "node:fs";
import * as path from "node:path";

/**
 * One daemon per data root. The lock file holds the owner's pid; a lock left by a crashed
 * daemon (its pid gone, or reused by something that is not wharfd) is taken over.
 */
export function lockDataRoot(dataRoot: string): () => void {
  const lockPath = path.join(dataRoot, "wharfd.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(lockPath, "utf8").trim() === String(process.pid)) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(fs.readFileSync(lockPath, "utf8").trim());
      if (owner && owner !== process.pid && isWharfd(owner)) {
        throw new Error(`another wharfd (pid ${owner}) is using data root ${dataRoot}`);
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`cannot lock data root ${dataRoot}`);
}

function isWharfd(pid: number): boolean {
  try {
    // A thread id answers under /proc too (the old pid reused as a thread, even one of this
    // daemon's own, as in rootless mode's fresh pid namespace): only a process owns a lock.
    const tgid = /^Tgid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    if (Number(tgid) !== pid) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("wharfd");
  } catch {
    return false;
  }
}
