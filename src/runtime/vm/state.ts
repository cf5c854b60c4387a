import * as net from "node:net";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A VM container's state dir under the runtime root: `<root>/<id>/` holds state.json, the
 * shim's control socket, the agent and virtiofs sockets, qemu's pid file and console log.
 * Its existence is what "the vm runtime knows this container" means (ConmonRuntime checks it).
 */
export interface VmState {
  id: string;
  bundle: string;
  rootfs: string;
  created: string;
  shimPid: number;
  qemuPid: number;
  virtiofsdPid: number;
  /** Set by the shim: "running" once `start` asked for the process. */
  started: boolean;
  /** qemu and virtiofsd are SIGSTOPped (`pause`: the guest is frozen). */
  paused?: boolean;
  /** config.json's linux.cgroupsPath: the shim, qemu and virtiofsd run there (vm-cgroup.ts). */
  cgroupsPath?: string;
}

export const STATE_FILE = "state.json";
export const CONTROL_SOCKET = "shim.sock";

/** Connects to a shim's control socket by a relative path: state dirs may be longer than a unix socket path may be. */
export function connectControl(dir: string): net.Socket {
  const prev = process.cwd();
  process.chdir(dir);
  try {
    return net.connect(CONTROL_SOCKET);
  } finally {
    process.chdir(prev);
  }
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function stateDir(root: string, id: string): string {
  if (!ID_RE.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
  return path.join(root, id);
}

export function readState(dir: string): VmState | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), "utf8")) as VmState;
  } catch {
    return null;
  }
}

export function writeState(dir: string, state: VmState): void {
  const file = path.join(dir, STATE_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Alive, not a zombie, and (when given) with `marker` in its command line: a recycled pid is not ours. */
export function processAlive(pid: number, marker?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const st = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (st === "Z" || st === "X") return false;
    if (marker && !fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) return false;
    return true;
  } catch {
    return false;
  }
}
