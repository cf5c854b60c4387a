import { ConflictError, InvalidParameterError } from "../../lib/errors";
import type { SpecInput } from "../../runtime/types";

/**
 * --pid, --ipc and --uts: a container's own namespace (the default), the host's, or (pid, ipc)
 * another running container's. Checked at create with Docker's messages; resolved at start,
 * when the other container's process exists.
 */

const CONTAINER_PREFIX = "container:";

function sharesContainer(mode: string): boolean {
  return mode.startsWith(CONTAINER_PREFIX) && mode.length > CONTAINER_PREFIX.length;
}

export function validateNamespaceModes(modes: { pid: string; ipc: string; uts: string }, requestedHostname: string | undefined): void {
  if (!(modes.pid === "" || modes.pid === "host" || sharesContainer(modes.pid))) throw new InvalidParameterError(`invalid PID mode: ${modes.pid}`);
  const ipcModes = ["", "none", "private", "shareable", "host"];
  if (!(ipcModes.includes(modes.ipc) || sharesContainer(modes.ipc))) throw new InvalidParameterError(`invalid IPC mode: ${modes.ipc}`);
  if (!(modes.uts === "" || modes.uts === "host")) throw new InvalidParameterError(`invalid UTS mode: ${modes.uts}`);
  if (modes.uts === "host" && requestedHostname) throw new InvalidParameterError("conflicting options: hostname and the UTS mode");
}

/** What a container that shares a namespace needs to know about the one it joins. */
export interface NamespaceOwner {
  Id: string;
  State: { Running: boolean; Pid: number };
  HostConfig: { PidMode: string; IpcMode: string };
  /** Where a shareable container's /dev/shm lives on the host. */
  shmPath: string;
}

type Namespaces = Pick<SpecInput, "pidNamespace" | "ipcNamespace" | "utsNamespace" | "shmSource">;

type Lookup = (idOrName: string) => NamespaceOwner;

/** The spec's pid/ipc/uts choices for a container about to start. */
export function namespacesFor(
  modes: { pid: string; ipc: string; uts: string },
  lookup: Lookup,
): Namespaces {
  const joined = (mode: string, kind: "PID" | "IPC"): NamespaceOwner => {
    const other = lookup(mode.slice(CONTAINER_PREFIX.length));
    if (!other.State.Running) throw new ConflictError(`cannot join ${kind} of a non running container: ${other.Id}`);
    return other;
  };
  const result: Namespaces = {};
  if (modes.pid === "host") result.pidNamespace = "host";
  else if (sharesContainer(modes.pid)) {
    const other = joined(modes.pid, "PID");
    result.pidNamespace = other.HostConfig.PidMode === "host" ? "host" : { nsPath: `/proc/${other.State.Pid}/ns/pid` };
  }
  if (modes.ipc === "host" || modes.ipc === "none") result.ipcNamespace = modes.ipc;
  else if (sharesContainer(modes.ipc)) {
    const other = joined(modes.ipc, "IPC");
    if (!["shareable", "host"].includes(other.HostConfig.IpcMode)) {
      throw new InvalidParameterError("non-shareable IPC (hint: use IpcMode:shareable for the donor container)");
    }
    if (other.HostConfig.IpcMode === "host") result.ipcNamespace = "host";
    else {
      result.ipcNamespace = { nsPath: `/proc/${other.State.Pid}/ns/ipc` };
      result.shmSource = other.shmPath;
    }
  }
  if (modes.uts === "host") result.utsNamespace = "host";
  return result;
}
