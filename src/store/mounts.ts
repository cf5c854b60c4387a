import * as fs from "node:fs";
import { MNT_DETACH, native, nativeErrno } from "../lib/native";

/** Mount table helpers (this process' mount namespace). */

const EINVAL = 22;
const ENOENT = 2;
const EBUSY = 16;

/** Decodes the octal escapes (\040 etc.) of /proc/self/mountinfo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points, in mount order. */
export function mountPoints(): string[] {
  const text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    if (fields.length > 4) out.push(unescape(fields[4]));
  }
  return out;
}

export function isMountPoint(p: string): boolean {
  return mountPoints().includes(p);
}

/** nsfs's magic (linux/magic.h): what statfs says of a namespace file bind-mounted somewhere. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Whether a namespace is bind-mounted at `p` (a pinned netns): one statfs, where isMountPoint
 * reads the whole mount table, which grows with every running container.
 */
export function isNamespacePin(p: string): boolean {
  try {
    return fs.statfsSync(p).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Mount points at or below `dir` (deepest last, as mounted). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mountPoints().filter((m) => m === dir || m.startsWith(prefix));
}

/**
 * Unmounts everything mounted on `target` (a path can carry stacked mounts), until the kernel
 * says nothing is (EINVAL): no read of the mount table, which grows with every running
 * container. A busy mount is detached lazily, as Docker does, so a stray process cannot make
 * removal fail forever.
 */
export function unmountAll(target: string): void {
  for (let i = 0; i < 32; i++) {
    try {
      native().umount2(target, 0);
    } catch (err) {
      const errno = nativeErrno(err);
      if (errno === EBUSY) native().umount2(target, MNT_DETACH);
      else if (errno === EINVAL || errno === ENOENT) return;
      else throw err;
    }
  }
}

/** The mount a path lives on, and whether that mount is shared or a slave (mountinfo's optional fields). */
export function mountOf(p: string): { mountPoint: string; shared: boolean; slave: boolean } {
  let best = { mountPoint: "/", shared: false, slave: false };
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 7) continue;
    const mountPoint = unescape(fields[4]);
    const within = mountPoint === "/" || p === mountPoint || p.startsWith(`${mountPoint}/`);
    // Later lines are mounted over earlier ones at the same place: the last match wins ties.
    if (!within || mountPoint.length < best.mountPoint.length) continue;
    const optional = fields.slice(6, fields.indexOf("-"));
    best = { mountPoint, shared: optional.some((f) => f.startsWith("shared:")), slave: optional.some((f) => f.startsWith("master:")) };
  }
  return best;
}
