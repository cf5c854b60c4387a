import type { ContainerRecord } from "./types";

/**
 * Docker's restart policies: whether an exited container comes back, and after how long.
 * The delay starts at 100 ms and doubles with each restart up to a minute; a container that
 * ran for 10 s or more starts over at 100 ms (Docker's rule).
 */
const INITIAL_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const RESET_AFTER_MS = 10_000;

export function shouldRestart(record: ContainerRecord, exitCode: number, manuallyStopped: boolean): boolean {
  if (record.HostConfig.AutoRemove || manuallyStopped) return false;
  const policy = record.HostConfig.RestartPolicy;
  switch (policy.Name) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return exitCode !== 0 && (policy.MaximumRetryCount === 0 || record.RestartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/**
 * Whether a container is started when the daemon starts: `always` ones even after a manual
 * stop (Docker's rule), `unless-stopped` ones unless they were stopped by hand.
 */
export function startsWithDaemon(record: ContainerRecord, manuallyStopped: boolean): boolean {
  const name = record.HostConfig.RestartPolicy.Name;
  return name === "always" || (name === "unless-stopped" && !manuallyStopped);
}

export class RestartBackoff {
  private delay = INITIAL_DELAY_MS;

  next(ranForMs: number): number {
    if (ranForMs >= RESET_AFTER_MS) this.delay = INITIAL_DELAY_MS;
    const current = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    return current;
  }
}
