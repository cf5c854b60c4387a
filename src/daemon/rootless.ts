import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Rootless mode (docs/rootless.md): wharfd is root only inside a user namespace that
 * rootlesskit made from an ordinary user's subordinate ids. Only what must adapt does:
 * no cgroups (v1 cannot be delegated), published ports forwarded by rootlesskit's port
 * driver, the socket owned by the user.
 */
export interface RootlessMode {
  /** rootlesskit's API socket (its port driver), when wharfd runs under rootlesskit. */
  portApiSocket?: string;
  /** The ordinary user on the host who started the launcher. */
  hostUid?: number;
}

/** Whether a uid_map (its text) maps every id to itself: the initial user namespace. */
export function isIdentityMap(uidMap: string): boolean {
  const lines = uidMap.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
  return lines.length === 1 && lines[0]![0] === 0 && lines[0]![1] === 0 && lines[0]![2] === 4294967295;
}

/** Rootless when root here is not the host's root (runc decides the same way); undefined otherwise. */
export function detectRootless(env: NodeJS.ProcessEnv = process.env): RootlessMode | undefined {
  let uidMap: string;
  try {
    uidMap = fs.readFileSync("/proc/self/uid_map", "utf8");
  } catch {
    return undefined;
  }
  if (isIdentityMap(uidMap)) return undefined;
  const stateDir = env.ROOTLESSKIT_STATE_DIR;
  const hostUid = Number(env.ROOTLESSKIT_PARENT_EUID);
  return {
    portApiSocket: stateDir ? path.join(stateDir, "api.sock") : undefined,
    hostUid: Number.isInteger(hostUid) ? hostUid : undefined,
  };
}
