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
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("wharfd");
  } catch {
    return false;
  }
}
