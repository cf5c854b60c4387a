/**
 * Errors a command ends with. main() prints `message` (when not empty) to stderr and exits
 * with `exitCode`, as docker/cli does with its StatusError.
 */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "StatusError";
  }
}

/** The daemon answered with an error status; `message` is its JSON `message`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly daemonMessage: string,
  ) {
    super(`Error response from daemon: ${daemonMessage}`);
    this.name = "ApiError";
  }
}

/** The daemon's socket could not be reached at all. */
export class ConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectError";
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * docker/cli's exit status for an error that happened while creating or starting a
 * container for `run`: 127 when the command was not found, 126 when it could not be
 * executed, 125 for every other failure of the engine.
 */
export function runFailureCode(message: string): number {
  if (
    message.includes("executable file not found") ||
    message.includes("no such file or directory") ||
    message.includes("system cannot find the file specified")
  ) {
    return 127;
  }
  if (message.includes("permission denied") || message.includes("is a directory")) return 126;
  return 125;
}

/** `wharf: <message>` + `Run 'wharf <command> --help' for more information` (docker 28's layout). */
export function withHelp(message: string, commandPath: string, exitCode = 125): StatusError {
  return new StatusError(`wharf: ${message}\n\nRun 'wharf ${commandPath} --help' for more information`, exitCode);
}
