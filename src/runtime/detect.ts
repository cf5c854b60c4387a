import * as fs from "node:fs";
import * as path from "node:path";
import { SystemError } from "../lib/errors";
import { detectCgroupVersion } from "./host-facts";

/**
 * Finding the binaries the runtime layer runs: the OCI runtime, conmon and the --init binary.
 * Only cheap checks (PATH lookups, one statfs): this runs at daemon start.
 */

// sbin directories are searched too: runc lives in /usr/sbin on Debian and a daemon started
// from a minimal environment may not have them on PATH.
const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Absolute path of an executable named `name` on PATH (plus the sbin dirs), or null. */
export function findBinary(name: string, searchPath = process.env.PATH ?? ""): string | null {
  if (name.includes("/")) return isExecutable(name) ? path.resolve(name) : null;
  const dirs = [...searchPath.split(":").filter(Boolean), ...EXTRA_DIRS];
  for (const dir of new Set(dirs)) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RuntimeChoice {
  name: string;
  path: string;
}

/**
 * Whether crun can create containers here. crun refuses cgroup v1 "hybrid" hosts (a v2 mount
 * beside v1 controllers: "cgroups in hybrid mode not supported") and we only need it where
 * the unified hierarchy is the one mounted at /sys/fs/cgroup, so the check is a statfs.
 */
export function crunUsable(cgroupVersion: 1 | 2 = detectCgroupVersion()): boolean {
  return cgroupVersion === 2;
}

/**
 * The OCI runtime to use: `preferred` when given (a name or a path; an error if missing), else
 * crun where it works, else runc.
 */
export function detectRuntime(preferred?: string): RuntimeChoice {
  if (preferred) {
    const p = findBinary(preferred);
    if (!p) throw new SystemError(`OCI runtime ${preferred} not found`);
    return { name: path.basename(preferred), path: p };
  }
  const crun = findBinary("crun");
  if (crun && crunUsable()) return { name: "crun", path: crun };
  const runc = findBinary("runc");
  if (runc) return { name: "runc", path: runc };
  throw new SystemError("no OCI runtime found: install runc (or crun on a cgroup v2 host)");
}

/** conmon's path; an error when it is not installed. */
export function findConmon(): string {
  const p = findBinary("conmon");
  if (!p) throw new SystemError("conmon not found: install the conmon package");
  return p;
}

/**
 * The binary for --init: it is bind-mounted into arbitrary images, so it must be statically
 * linked — tini-static or catatonit (Debian's plain `tini` needs the host's libc). null if none.
 */
export function findInitBinary(): string | null {
  for (const name of ["docker-init", "tini-static", "catatonit"]) {
    const p = findBinary(name);
    if (p) return p;
  }
  return null;
}
