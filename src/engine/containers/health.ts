import type { ContainerRuntime } from "../../runtime/types";
import type { ContainerService } from "./container-service";
import type { ContainerRecord, HealthProbe, HealthState } from "./types";

/** Docker's defaults, in nanoseconds as the config stores them. */
const DEFAULT_INTERVAL = 30e9;
const DEFAULT_TIMEOUT = 30e9;
const DEFAULT_START_INTERVAL = 5e9;
const DEFAULT_RETRIES = 3;
const MAX_OUTPUT = 4096;
const LOG_ENTRIES = 5;

/** The probe's command: CMD args as they are, CMD-SHELL through /bin/sh -c; NONE or nothing = no check. */
export function probeCommand(test: string[] | undefined): string[] | undefined {
  if (!test || test.length === 0) return undefined;
  switch (test[0]) {
    case "NONE":
      return undefined;
    case "CMD":
      return test.length > 1 ? test.slice(1) : undefined;
    case "CMD-SHELL":
      return test.length > 1 ? ["/bin/sh", "-c", test.slice(1).join(" ")] : undefined;
    default:
      return test;
  }
}

/** Applies one probe's result with Docker's rules (failures in the start period do not count). */
export function nextHealth(health: HealthState, probe: HealthProbe, retries: number, inStartPeriod: boolean): HealthState {
  const log = [...health.Log, probe].slice(-LOG_ENTRIES);
  if (probe.ExitCode === 0) return { Status: "healthy", FailingStreak: 0, Log: log };
  if (inStartPeriod) return { ...health, Log: log };
  const streak = health.FailingStreak + 1;
  return { Status: streak >= retries ? "unhealthy" : health.Status, FailingStreak: streak, Log: log };
}

/**
 * Runs each running container's healthcheck on its interval through the runtime's exec and
 * records State.Health; a change of status is a `health_status: …` event.
 */
export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: { containers: ContainerService; runtime: ContainerRuntime }) {
    deps.containers.events.on("start", (record: ContainerRecord) => this.begin(record));
    deps.containers.events.on("die", (record: ContainerRecord) => this.end(record.Id));
    deps.containers.events.on("destroy", (record: ContainerRecord) => this.end(record.Id));
  }

  /** Also called, with keepState, for containers adopted after a daemon restart. */
  begin(record: ContainerRecord, opts: { keepState?: boolean } = {}): void {
    const command = probeCommand(record.Config.Healthcheck?.Test);
    if (!command) return;
    this.end(record.Id);
    if (!opts.keepState || !record.State.Health) this.deps.containers.setHealth(record.Id, { Status: "starting", FailingStreak: 0, Log: [] });
    this.schedule(record.Id, Date.parse(record.State.StartedAt) || Date.now());
  }

  end(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  private schedule(id: string, startedAt: number): void {
    const record = this.deps.containers.list().find((c) => c.Id === id);
    const hc = record?.Config.Healthcheck;
    if (!record || !hc || !record.State.Running) return;
    const inStart = Date.now() - startedAt < (hc.StartPeriod ?? 0) / 1e6;
    const delayNs = inStart && record.State.Health?.Status === "starting" ? hc.StartInterval || DEFAULT_START_INTERVAL : hc.Interval || DEFAULT_INTERVAL;
    const timer = setTimeout(() => {
      void this.probe(id, startedAt).finally(() => {
        if (this.timers.get(id) === timer) this.schedule(id, startedAt);
      });
    }, delayNs / 1e6);
    timer.unref();
    this.timers.set(id, timer);
  }

  private async probe(id: string, startedAt: number): Promise<void> {
    const record = this.deps.containers.list().find((c) => c.Id === id);
    const hc = record?.Config.Healthcheck;
    const command = probeCommand(hc?.Test);
    if (!record || !hc || !command || !record.State.Running || record.State.Paused) return;
    const start = new Date();
    const timeoutMs = (hc.Timeout || DEFAULT_TIMEOUT) / 1e6;
    let output = "";
    let exitCode: number;
    try {
      const proc = await this.deps.runtime.exec(id, { args: command, env: [], privileged: false, stdin: false, tty: false });
      const collect = (chunk: Buffer): void => {
        if (output.length < MAX_OUTPUT) output += chunk.toString("utf8");
      };
      proc.stdout.on("data", collect);
      proc.stderr.on("data", collect);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      const result = await Promise.race([proc.exit, timedOut]);
      clearTimeout(timer);
      if (result === "timeout") {
        proc.kill(9);
        exitCode = -1;
        output = `Health check exceeded timeout (${timeoutMs / 1000}s)`;
      } else {
        exitCode = result.error ? 1 : result.exitCode;
        if (result.error) output = result.error;
      }
    } catch (err) {
      exitCode = 1;
      output = (err as Error).message;
    }
    const current = this.deps.containers.list().find((c) => c.Id === id);
    if (!current?.State.Running || !current.State.Health) return;
    const probe: HealthProbe = { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output.slice(0, MAX_OUTPUT) };
    const inStart = Date.now() - startedAt < (hc.StartPeriod ?? 0) / 1e6;
    const retries = hc.Retries || DEFAULT_RETRIES;
    this.deps.containers.setHealth(id, nextHealth(current.State.Health, probe, retries, inStart));
  }
}
