import * as path from "node:path";
import { GUEST_TAP } from "./guest-network";
import type { VmHostConfig } from "./host-config";

/** File names inside a container's state dir; sockets are relative (unix paths are short). */
export const AGENT_SOCKET = "agent.sock";
/**
 * virtiofsd (qemu 7.2's C one) locks `/run/virtiofsd/<socket path>.pid` and leaves it behind:
 * the socket's name carries the container's id so VMs never share the lock, and the file can be
 * removed with the container.
 */
export function virtiofsSocket(stateDir: string): string {
  return `vfs-${path.basename(stateDir)}.sock`;
}

export function virtiofsdPidFile(stateDir: string): string {
  return `/run/virtiofsd/${virtiofsSocket(stateDir)}.pid`;
}
export const CONSOLE_LOG = "console.log";

/**
 * The emulated CPU under TCG: x86-64-v2 (what distributions built for v2 need), not "max":
 * every extra feature (AVX-512 …) is emulated work at boot, ~0.3 s here.
 */
export const TCG_CPU = "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+lahf-lm";
/** MiB of TCG translation cache: enough for a kernel boot plus a busybox workload. */
const TCG_TB_MIB = 32;

export interface VmShape {
  memoryMiB: number;
  cpus: number;
  /** Absolute state dir: in the command line so leak checks can tell whose qemu this is. */
  stateDir: string;
}

/**
 * The qemu command line: a microvm (no PCI, no firmware beyond qboot), the root filesystem
 * over vhost-user virtiofs (which needs guest RAM shared with virtiofsd: a memfd backend),
 * one virtio-serial port named "wharf" to the agent, the kernel's console to a file.
 */
export function qemuArgs(host: VmHostConfig, shape: VmShape, opts: { probe?: boolean } = {}): string[] {
  // cryptomgr.notests: the crypto self-tests are ~0.6 s of a TCG boot.
  const append = ["console=ttyS0", "quiet", "reboot=t", "panic=-1", "tsc=reliable", "rdinit=/init", "cryptomgr.notests=1"];
  if (host.tscKhz > 0) append.push(`tsc_early_khz=${host.tscKhz}`);
  if (opts.probe) append.push("wharf.probe=1");
  const args = [
    // ACPI is how Debian's cloud kernel finds the virtio-mmio devices (it lacks
    // VIRTIO_MMIO_CMDLINE_DEVICES); a kernel without ACPI (the small one) gets them on its
    // command line from qemu instead, which microvm does only with acpi=off.
    "-machine", `microvm${host.acpi === false ? ",acpi=off" : ""}${opts.probe ? "" : ",memory-backend=mem"}`,
    // TCG's translation cache is 1 GiB by default and fills with every page of code run.
    "-accel", host.accel === "tcg" ? `tcg,tb-size=${TCG_TB_MIB}` : host.accel,
    "-cpu", host.accel === "kvm" ? "host" : TCG_CPU,
    "-m", `${shape.memoryMiB}M`,
    "-smp", String(shape.cpus),
    "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
    "-kernel", host.kernel,
    "-initrd", host.initrd,
    "-append", append.join(" "),
  ];
  if (opts.probe) return [...args, "-serial", "none"];
  return [
    ...args,
    "-name", `wharf-vm,debug-threads=off`,
    // qemu runs as root on the host: its seccomp filter refuses what a VM monitor never needs.
    "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    "-pidfile", `${shape.stateDir}/qemu.pid`,
    "-object", `memory-backend-memfd,id=mem,size=${shape.memoryMiB}M,share=on`,
    "-serial", `file:${CONSOLE_LOG}`,
    // vhost-user (virtiofsd) serves modern virtio only; microvm's mmio defaults to legacy.
    "-global", "virtio-mmio.force-legacy=false",
    "-chardev", `socket,id=vfs,path=${virtiofsSocket(shape.stateDir)}`,
    "-device", "vhost-user-fs-device,queue-size=1024,chardev=vfs,tag=rootfs",
    "-device", "virtio-serial-device,max_ports=2",
    "-chardev", `socket,id=agent,path=${AGENT_SOCKET}`,
    "-device", "virtserialport,chardev=agent,name=wharf",
    // The NIC: a tap in the shim's network namespace, joined to the container's veth at start
    // (guest-network.ts); the agent gives it the veth's MAC, so this one is a placeholder.
    "-netdev", `tap,id=net0,ifname=${GUEST_TAP},script=no,downscript=no`,
    "-device", "virtio-net-device,netdev=net0,mac=02:00:00:00:00:01",
  ];
}

export function virtiofsdArgs(rootfs: string, stateDir: string): string[] {
  // -o takes comma-separated options: a comma in the path is escaped as fuse's parser expects.
  const source = rootfs.replace(/\\/g, "\\\\").replace(/,/g, "\\,");
  return [`--socket-path=${virtiofsSocket(stateDir)}`, "-o", `source=${source}`, "-o", "cache=auto", "-o", "sandbox=namespace", "-o", "xattr"];
}
