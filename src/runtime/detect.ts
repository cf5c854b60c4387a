import * as fs from "node:fs";
import * as path from "node:path";
import { SystemError } from "../lib/errors";
import { nativeBinaryPath } from "../lib/native";
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

/** An OCI runtime binary and how to run it. */
export interface RuntimeChoice {
  name: string;
  /** The runtime's binary. */
  path: string;
  /**
   * What is executed: the binary itself, or a launcher followed by it (on a cgroup v1 hybrid
   * host crun runs through wharf-hide-cgroup2). Arguments go after the last entry.
   */
  command: string[];
}

const HYBRID_V2_MOUNT = "/sys/fs/cgroup/unified";

/** The controllers enabled on a hybrid host's v2 mount ("" when there is none or it has none). */
function hybridV2Controllers(): string {
  try {
    return fs.readFileSync(path.join(HYBRID_V2_MOUNT, "cgroup.controllers"), "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * How crun can run here, or null. On cgroup v2 and on plain v1 it runs as it is. On a v1
 * "hybrid" host whose v2 mount holds a controller (hugetlb on these machines) crun refuses
 * every container ("cgroups in hybrid mode not supported"); as real root it runs through
 * wharf-hide-cgroup2, which takes that mount out of its mount namespace, and then places
 * containers in the v1 controllers as runc does. Rootless daemons keep runc there.
 */
export function crunCommand(crun: string, host: { cgroupVersion: 1 | 2; v2Controllers: string; rootless: boolean; hider: string | null }): string[] | null {
  if (host.cgroupVersion === 2 || host.v2Controllers === "") return [crun];
  if (host.rootless || !host.hider) return null;
  return [host.hider, crun];
}

function choice(name: string, binary: string, command = [binary]): RuntimeChoice {
  return { name, path: binary, command };
}

/**
 * The OCI runtimes this daemon offers, its default first: `preferred` when given (a name or a
 * path; an error if missing), else crun where it can run, else runc. The others follow (runc
 * stays available for `--runtime runc` and for containers a runc-default daemon left running).
 */
export function detectRuntimes(preferred?: string, opts: { rootless?: boolean } = {}): RuntimeChoice[] {
  const found: RuntimeChoice[] = [];
  const crun = findBinary("crun");
  const crunCmd =
    crun &&
    crunCommand(crun, {
      cgroupVersion: detectCgroupVersion(),
      v2Controllers: hybridV2Controllers(),
      // Root of a user namespace (rootlesskit's) may not unmount what the host mounted.
      rootless: opts.rootless === true || process.getuid?.() !== 0,
      hider: findBinary(nativeBinaryPath("wharf-hide-cgroup2")),
    });
  if (crun && crunCmd) found.push(choice("crun", crun, crunCmd));
  const runc = findBinary("runc");
  if (runc) found.push(choice("runc", runc));
  if (preferred) {
    const known = found.find((r) => r.name === preferred || r.path === path.resolve(preferred));
    const p = known ? known.path : findBinary(preferred);
    if (!p) throw new SystemError(`OCI runtime ${preferred} not found`);
    const first = known ?? choice(path.basename(preferred), p);
    return [first, ...found.filter((r) => r.name !== first.name)];
  }
  if (!found.length) throw new SystemError("no OCI runtime found: install crun or runc");
  return found;
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
