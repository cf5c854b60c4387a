import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { OciDevice } from "./oci-spec";

/**
 * What the spec generator needs to know about the host. Read once (cheap /proc reads) and
 * cached; unit tests pass their own object instead so they do not depend on this machine.
 */
export interface HostFacts {
  /** Capability names (CAP_*) in the daemon's bounding set. */
  boundingCaps: Set<string>;
  /** Hard limits of the daemon by Docker ulimit name ("nofile", ...); Infinity = unlimited. */
  hardLimits: Map<string, number>;
  /** Whether /proc/kcore exists (it is masked only then). */
  hasKcore: boolean;
  cgroupVersion: 1 | 2;
  /** memory.memsw.* exists (v1 swap accounting); without it runc fails to set a swap limit. */
  swapAccounting: boolean;
  /** [major, minor] of the running kernel, for seccomp minKernel filters. */
  kernel: [number, number];
  /** Go-style architecture name ("amd64"), as seccomp profiles' includes/excludes use. */
  arch: string;
  /** Host devices for --privileged; a function because walking /dev is only worth it then. */
  hostDevices: () => OciDevice[];
  /** Text of the default seccomp profile, or null when none is installed. */
  defaultSeccompProfile: () => string | null;
  /** Seccomp architectures whose syscalls this kernel does not run (from its build config; empty when unknown). */
  unsupportedSeccompArches?: ReadonlySet<string>;
}

/** Capabilities by bit number, as in linux/capability.h. */
export const CAPABILITY_NAMES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** Docker ulimit names -> the row label in /proc/<pid>/limits. */
export const ULIMIT_ROWS: ReadonlyMap<string, string> = new Map([
  ["cpu", "Max cpu time"],
  ["fsize", "Max file size"],
  ["data", "Max data size"],
  ["stack", "Max stack size"],
  ["core", "Max core file size"],
  ["rss", "Max resident set"],
  ["nproc", "Max processes"],
  ["nofile", "Max open files"],
  ["memlock", "Max locked memory"],
  ["as", "Max address space"],
  ["locks", "Max file locks"],
  ["sigpending", "Max pending signals"],
  ["msgqueue", "Max msgqueue size"],
  ["nice", "Max nice priority"],
  ["rtprio", "Max realtime priority"],
  ["rttime", "Max realtime timeout"],
]);

/** Parses the hex CapBnd line of /proc/self/status into capability names. */
export function parseCapMask(hex: string): Set<string> {
  const mask = BigInt("0x" + hex.trim());
  const caps = new Set<string>();
  CAPABILITY_NAMES.forEach((name, bit) => {
    if (mask & (1n << BigInt(bit))) caps.add(name);
  });
  return caps;
}

/** Parses /proc/<pid>/limits into hard limits by Docker ulimit name. */
export function parseLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split("\n");
  for (const [name, row] of ULIMIT_ROWS) {
    const line = lines.find((l) => l.startsWith(row + " "));
    if (!line) continue;
    // Columns after the label: soft, hard, units (units may be absent).
    const cols = line.slice(row.length).trim().split(/\s+/);
    const hard = cols[1];
    if (hard === undefined) continue;
    out.set(name, hard === "unlimited" ? Infinity : Number(hard));
  }
  return out;
}

const GO_ARCH: Record<string, string> = {
  x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x",
  mips: "mips", mipsel: "mipsle", riscv64: "riscv64", loong64: "loong64",
};

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function detectCgroupVersion(): 1 | 2 {
  try {
    return fs.statfsSync("/sys/fs/cgroup").type === CGROUP2_SUPER_MAGIC ? 2 : 1;
  } catch {
    return 1;
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Linux dev_t split, as glibc's major()/minor() do. */
export function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
export function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** All device nodes under /dev except the ones the runtime makes itself (as Docker's HostDevices). */
export function listHostDevices(root = "/dev"): OciDevice[] {
  const skipDirs = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);
  const out: OciDevice[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!skipDirs.has(e.name)) walk(full);
        continue;
      }
      if (full === "/dev/console" || !(e.isCharacterDevice() || e.isBlockDevice())) continue;
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(full, { bigint: true });
      } catch {
        continue;
      }
      out.push({
        type: st.isCharacterDevice() ? "c" : "b",
        path: full,
        major: devMajor(st.rdev),
        minor: devMinor(st.rdev),
        fileMode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      });
    }
  };
  walk(root);
  return out;
}

export const DEFAULT_SECCOMP_PATHS = ["/usr/share/containers/seccomp.json", "/etc/containers/seccomp.json"];

let cached: HostFacts | undefined;

/** Facts about this host, read on first use. */
/** The running kernel's build config (/proc/config.gz, else /boot/config-<release>); null when neither is there. */
function kernelConfig(): string | null {
  try {
    return zlib.gunzipSync(fs.readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    return readText(`/boot/config-${os.release()}`);
  }
}

/** x86-64 kernels built without the x32 ABI or without ia32 emulation, as their config says. */
export function unsupportedSyscallAbis(config: string | null): Set<string> {
  const out = new Set<string>();
  if (config === null || process.arch !== "x64") return out;
  const off = (option: string): boolean => new RegExp(`^# ${option} is not set$`, "m").test(config);
  // CONFIG_X86_X32 before Linux 5.18, CONFIG_X86_X32_ABI since.
  if (off("CONFIG_X86_X32_ABI") || off("CONFIG_X86_X32")) out.add("SCMP_ARCH_X32");
  if (off("CONFIG_IA32_EMULATION")) out.add("SCMP_ARCH_X86");
  return out;
}

export function hostFacts(): HostFacts {
  if (cached) return cached;
  const status = readText("/proc/self/status") ?? "";
  const bnd = /^CapBnd:\s*([0-9a-f]+)/m.exec(status);
  const [maj, min] = os.release().split(/[.-]/).map((n) => Number(n));
  let devices: OciDevice[] | undefined;
  let seccomp: string | null | undefined;
  cached = {
    boundingCaps: bnd ? parseCapMask(bnd[1]) : new Set(CAPABILITY_NAMES),
    hardLimits: parseLimits(readText("/proc/self/limits") ?? ""),
    hasKcore: fs.existsSync("/proc/kcore"),
    cgroupVersion: detectCgroupVersion(),
    swapAccounting: fs.existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
    kernel: [maj || 0, min || 0],
    arch: GO_ARCH[process.arch] ?? process.arch,
    unsupportedSeccompArches: unsupportedSyscallAbis(kernelConfig()),
    hostDevices: () => (devices ??= listHostDevices()),
    defaultSeccompProfile: () => {
      if (seccomp === undefined) {
        seccomp = null;
        for (const p of DEFAULT_SECCOMP_PATHS) {
          const text = readText(p);
          if (text !== null) {
            seccomp = text;
            break;
          }
        }
      }
      return seccomp;
    },
  };
  return cached;
}
