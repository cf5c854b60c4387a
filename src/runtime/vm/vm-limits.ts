/**
 * What a `--runtime vm` container can be given. Shared by the engine (checks at create, so a
 * refused container never exists) and the runtime binary (its own check of config.json).
 */

export const VM_RUNTIME_NAME = "vm";
/** Guest RAM the kernel and agent take beside the container's own -m. */
export const VM_MEMORY_OVERHEAD = 96 * 1024 * 1024;
/** Below this -m the container's process has no room next to the guest kernel. */
export const VM_MIN_MEMORY = 32 * 1024 * 1024;
/** Guest RAM for the container when no -m is given (touched pages only cost host memory). */
export const VM_DEFAULT_MEMORY = 512 * 1024 * 1024;

export interface VmHostOptions {
  pidMode?: string;
  networkMode?: string;
  ipcMode?: string;
  utsMode?: string;
  privileged?: boolean;
  devices?: unknown[] | null;
  memory?: number;
  binds?: unknown[] | null;
  mounts?: unknown[] | null;
}

/** Why a VM cannot honour these options, or null when it can. */
export function vmRefusal(o: VmHostOptions): string | null {
  const what = (option: string, why: string): string => `the vm runtime does not support ${option}: ${why}`;
  if (o.pidMode === "host") return what("--pid host", "a VM has its own kernel and cannot share the host's process table");
  if (o.networkMode === "host") return what("--network host", "a VM has its own network stack");
  if (o.networkMode?.startsWith("container:")) return what("--network container:", "a VM has its own network stack and cannot join another container's");
  if (o.ipcMode === "host") return what("--ipc host", "a VM cannot share the host's IPC namespace");
  if (o.utsMode === "host") return what("--uts host", "a VM has its own hostname");
  if (o.privileged) return what("--privileged", "host devices and capabilities cannot be handed to a VM");
  if (o.devices && o.devices.length) return what("--device", "host devices cannot be passed into a VM yet");
  if (o.memory && o.memory > 0 && o.memory < VM_MIN_MEMORY) {
    return `Minimum memory limit allowed for the vm runtime is ${VM_MIN_MEMORY / 1024 / 1024}MB (the guest kernel needs ${VM_MEMORY_OVERHEAD / 1024 / 1024}MB more beside it)`;
  }
  return null;
}

/** Guest RAM in MiB for a container limit in bytes (0 = none). */
export function guestMemoryMiB(limit: number | undefined): number {
  const container = limit && limit > 0 ? limit : VM_DEFAULT_MEMORY;
  return Math.ceil((container + VM_MEMORY_OVERHEAD) / (1024 * 1024));
}

/** vCPUs for a CPU quota (--cpus): rounded up, at least 1, at most the host's. */
export function guestCpus(quota: number | undefined, period: number | undefined, hostCpus: number): number {
  if (!quota || quota <= 0 || !period || period <= 0) return 1;
  return Math.max(1, Math.min(hostCpus, Math.ceil(quota / period)));
}
