import { humanDuration } from "../../lib/units";
import type { ContainerState } from "./types";
import { ZERO_TIME } from "./types";

/** The human status Docker shows in `ps` ("Up 5 seconds", "Exited (0) 2 minutes ago"). */
export function statusText(state: ContainerState, now = Date.now()): string {
  const since = (time: string): string => humanDuration(Math.max(0, now - Date.parse(time)));
  if (state.Restarting) return `Restarting (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
  if (state.Running) {
    if (state.Paused) return `Up ${since(state.StartedAt)} (Paused)`;
    if (state.Health) {
      const health = state.Health.Status === "starting" ? "health: starting" : state.Health.Status;
      return `Up ${since(state.StartedAt)} (${health})`;
    }
    return `Up ${since(state.StartedAt)}`;
  }
  if (state.Status === "removing") return "Removal In Progress";
  if (state.Dead) return "Dead";
  if (state.StartedAt === ZERO_TIME) return "Created";
  if (state.FinishedAt === ZERO_TIME) return "";
  return `Exited (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
}

export function newState(): ContainerState {
  return {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: "",
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** Docker's exit codes for a process that could not be started. */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 128;
}
