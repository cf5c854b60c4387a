import * as path from "node:path";
import { InvalidParameterError } from "../lib/errors";
import { CAPABILITY_NAMES, hostFacts, type HostFacts } from "./host-facts";
import { silentLogger, type RuntimeLogger } from "./logger";
import type {
  OciDeviceCgroup,
  OciMount,
  OciNamespace,
  OciResources,
  OciRlimit,
  OciSeccomp,
  OciSpec,
} from "./oci-spec";
import { convertSeccompProfile, parseSeccompProfile, withDockerDefaults, type SeccompProfile } from "./seccomp";
import type { SpecInput } from "./types";

/** Docker's default capability set for unprivileged containers. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Where --init's binary appears inside the container (the path Docker uses). */
export const INIT_PATH_IN_CONTAINER = "/sbin/docker-init";

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
const CPU_PERIOD_FOR_NANO_CPUS = 100_000;

/** Docker's default masked paths; /proc/kcore is added only where the host has it. */
const MASKED_PATHS = [
  "/proc/asound", "/proc/acpi", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
function maskedPaths(host: HostFacts): string[] {
  return host.hasKcore ? [...MASKED_PATHS.slice(0, 2), "/proc/kcore", ...MASKED_PATHS.slice(2)] : [...MASKED_PATHS];
}

const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Docker's device cgroup rules: deny all, allow mknod, the standard nodes and ptys. */
function defaultDeviceRules(): OciDeviceCgroup[] {
  const chr = (major: number | undefined, minor: number | undefined, access = "rwm"): OciDeviceCgroup => ({
    allow: true,
    type: "c",
    ...(major === undefined ? {} : { major }),
    ...(minor === undefined ? {} : { minor }),
    access,
  });
  return [
    { allow: false, access: "rwm" },
    // fuse stays denied; v1 cannot punch this hole after the wildcard mknod rule, so it goes first.
    { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
    chr(undefined, undefined, "m"),
    { allow: true, type: "b", access: "m" },
    chr(1, 3), // null
    chr(1, 5), // zero
    chr(1, 7), // full
    chr(1, 8), // random
    chr(1, 9), // urandom
    chr(5, 0), // tty
    chr(5, 1), // console
    chr(5, 2), // ptmx
    chr(136, undefined), // pts/*
    chr(10, 200), // net/tun
  ];
}

export interface BuildSpecOptions {
  /** Facts about the host; defaults to this machine's (tests pass their own). */
  host?: HostFacts;
  logger?: RuntimeLogger;
}

/** "net_admin" / "NET_ADMIN" / "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return "ALL";
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

function validateCaps(names: string[]): string[] {
  return names.map((n) => {
    const cap = normalizeCapability(n);
    if (cap !== "ALL" && !CAPABILITY_NAMES.includes(cap)) {
      throw new InvalidParameterError(`unknown capability: ${JSON.stringify(cap)}`);
    }
    return cap;
  });
}

/**
 * The container's capability set, with Docker's --cap-add/--cap-drop rules: ALL in cap-add means
 * every capability minus the drops; ALL in cap-drop means only the adds; otherwise defaults
 * minus drops plus adds. Capabilities the daemon's bounding set lacks cannot be granted (runc
 * would fail with "unable to apply caps"), so they are left out and logged.
 */
export function computeCapabilities(
  input: Pick<SpecInput, "privileged" | "capAdd" | "capDrop">,
  host: HostFacts,
  logger: RuntimeLogger = silentLogger,
): string[] {
  const adds = validateCaps(input.capAdd);
  const drops = validateCaps(input.capDrop);
  let caps: string[];
  if (input.privileged || adds.includes("ALL")) {
    caps = CAPABILITY_NAMES.filter((c) => input.privileged || !drops.includes(c));
  } else if (drops.includes("ALL")) {
    caps = adds.filter((c) => c !== "ALL");
  } else {
    caps = [...DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c)), ...adds.filter((c) => c !== "ALL")];
  }
  caps = [...new Set(caps)];
  const missing = caps.filter((c) => !host.boundingCaps.has(c));
  if (missing.length > 0) {
    logger.warn(
      { missing },
      "capabilities not in the daemon's bounding set are not granted to the container",
    );
  }
  return caps.filter((c) => host.boundingCaps.has(c));
}

/** Docker ulimits -> OCI rlimits, refusing what the daemon itself could not set. */
export function buildRlimits(ulimits: SpecInput["ulimits"], host: HostFacts): OciRlimit[] {
  return ulimits.map((u) => {
    const name = u.Name.toLowerCase();
    if (!host.hardLimits.has(name) && !KNOWN_ULIMITS.has(name)) {
      throw new InvalidParameterError(`invalid ulimit type: ${u.Name}`);
    }
    if (!Number.isInteger(u.Soft) || !Number.isInteger(u.Hard)) {
      throw new InvalidParameterError(`invalid ulimit ${u.Name}: values must be integers`);
    }
    // -1 is how users ask for "unlimited" (e.g. --ulimit core=-1).
    const soft = u.Soft < 0 ? Infinity : u.Soft;
    const hard = u.Hard < 0 ? Infinity : u.Hard;
    if (soft > hard) {
      throw new InvalidParameterError(
        `ulimit soft limit must be less than or equal to hard limit: ${fmtLimit(soft)} > ${fmtLimit(hard)}`,
      );
    }
    const daemonHard = host.hardLimits.get(name) ?? Infinity;
    if (hard > daemonHard) {
      throw new InvalidParameterError(
        `ulimit ${name}: hard limit ${fmtLimit(hard)} is above the daemon's own hard limit ${daemonHard}; ` +
          `a container cannot be given more than the daemon has (use ${name}=${Math.min(soft, daemonHard)}:${daemonHard} or less)`,
      );
    }
    return { type: `RLIMIT_${name.toUpperCase()}`, hard, soft };
  });
}

const KNOWN_ULIMITS = new Set([
  "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
  "rss", "rtprio", "rttime", "sigpending", "stack",
]);

function fmtLimit(n: number): string {
  return n === Infinity ? "unlimited" : String(n);
}

function buildResources(input: SpecInput, host: HostFacts, logger: RuntimeLogger): OciResources {
  const r = input.resources;
  const res: OciResources = { devices: input.privileged ? [{ allow: true, access: "rwm" }] : defaultDeviceRules() };

  if (r.memory !== undefined && r.memory < 0) throw new InvalidParameterError("invalid memory limit");
  if (r.memory || r.memorySwap) {
    const mem: NonNullable<OciResources["memory"]> = {};
    if (r.memory) mem.limit = r.memory;
    if (r.memorySwap && r.memorySwap !== 0) {
      if (r.memorySwap > 0) {
        if (!r.memory) {
          throw new InvalidParameterError(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
          );
        }
        if (r.memorySwap < r.memory) {
          throw new InvalidParameterError("Minimum memoryswap limit should be larger than memory limit, see usage");
        }
      }
      if (host.swapAccounting) {
        // OCI's swap is memory+swap, the same total Docker's --memory-swap means; -1 = unlimited.
        mem.swap = r.memorySwap;
      } else {
        logger.warn({}, "swap accounting is not enabled on this host; the memory-swap limit is ignored");
      }
    }
    res.memory = mem;
  }

  const cpu: NonNullable<OciResources["cpu"]> = {};
  if (r.nanoCpus) {
    if (r.cpuQuota) throw new InvalidParameterError("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    if (r.cpuPeriod) throw new InvalidParameterError("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (r.nanoCpus < 0) throw new InvalidParameterError("Range of CPUs is from 0.01 to the number of CPUs available");
    cpu.period = CPU_PERIOD_FOR_NANO_CPUS;
    cpu.quota = Math.round((r.nanoCpus * CPU_PERIOD_FOR_NANO_CPUS) / 1e9);
  } else {
    if (r.cpuQuota) cpu.quota = r.cpuQuota;
    if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  }
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) res.cpu = cpu;

  if (r.pidsLimit && r.pidsLimit > 0) res.pids = { limit: r.pidsLimit };
  return res;
}

function buildNamespaces(input: SpecInput, host: HostFacts): OciNamespace[] {
  const ns: OciNamespace[] = [];
  const pid = input.pidNamespace;
  if (pid !== "host") ns.push(pid ? { type: "pid", path: pid.nsPath } : { type: "pid" });
  const ipc = input.ipcNamespace;
  if (ipc !== "host") ns.push(typeof ipc === "object" ? { type: "ipc", path: ipc.nsPath } : { type: "ipc" });
  if (input.utsNamespace !== "host") ns.push({ type: "uts" });
  ns.push({ type: "mount" });
  // runc makes the user namespace first, so the namespaces it creates below are owned by it.
  if (input.idMapping) ns.push({ type: "user" });
  if (input.network === "none") ns.push({ type: "network" });
  else if (input.network !== "host") ns.push({ type: "network", path: input.network.netnsPath });
  // Docker's default cgroupns is private on v2 and host on v1.
  if (host.cgroupVersion === 2) ns.push({ type: "cgroup" });
  return ns;
}

function depth(dest: string): number {
  return path.posix.normalize(dest).split("/").filter(Boolean).length;
}

/**
 * sysfs can be mounted only by the user namespace that owns the network namespace: a mapped
 * container joining another's network (whose namespace belongs to the host's or another
 * container's user namespace) gets the host's /sys bound read-only instead, as dockerd does.
 */
function sysMount(input: SpecInput, sysMode: string): OciMount {
  if (input.idMapping && typeof input.network === "object") {
    return { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
  }
  return { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", sysMode] };
}

/** /dev/shm goes with the IPC namespace: a tmpfs of its own, none, the host's, or a shared one (as Docker does). */
function shmMount(input: SpecInput, shmSize: number): OciMount[] {
  if (input.ipcNamespace === "none") return [];
  const source = input.ipcNamespace === "host" ? "/dev/shm" : input.shmSource;
  if (source) return [{ destination: "/dev/shm", type: "bind", source, options: ["rbind", "rprivate", "nosuid", "noexec", "nodev"] }];
  return [{ destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize}`] }];
}

function buildMounts(input: SpecInput): OciMount[] {
  const sysMode = input.privileged ? "rw" : "ro";
  const shmSize = input.shmSize && input.shmSize > 0 ? input.shmSize : DEFAULT_SHM_SIZE;
  const defaults: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    sysMount(input, sysMode),
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", sysMode],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    ...shmMount(input, shmSize),
  ];

  const etcOpts = ["rbind", "rprivate", ...(input.readonlyRootfs ? ["ro"] : [])];
  const own: OciMount[] = [
    { destination: "/etc/hostname", type: "bind", source: input.etcFiles.hostname, options: etcOpts },
    { destination: "/etc/hosts", type: "bind", source: input.etcFiles.hosts, options: etcOpts },
    { destination: "/etc/resolv.conf", type: "bind", source: input.etcFiles.resolvConf, options: etcOpts },
  ];
  if (input.initPath) {
    own.push({ destination: INIT_PATH_IN_CONTAINER, type: "bind", source: input.initPath, options: ["bind", "ro"] });
  }

  // A user mount at the same place replaces ours (e.g. --tmpfs /dev/shm, -v ./hosts:/etc/hosts).
  const userDests = new Set(input.extraMounts.map((m) => path.posix.normalize(m.destination)));
  const keep = (m: OciMount): boolean => !userDests.has(m.destination);
  const rest = [...own.filter(keep), ...input.extraMounts.map((m) => ({ ...m, options: [...m.options] }))];
  // Parents before children, stable otherwise (Docker sorts container mounts the same way).
  rest.sort((a, b) => depth(a.destination) - depth(b.destination));
  return [...defaults.filter(keep), ...rest];
}

const parsedProfiles = new Map<string, SeccompProfile>();

function buildSeccomp(
  input: SpecInput,
  caps: string[],
  host: HostFacts,
  logger: RuntimeLogger,
): OciSeccomp | undefined {
  if (input.privileged || input.seccomp === "unconfined") return undefined;
  let profile: SeccompProfile;
  if (input.seccomp === "default") {
    const text = host.defaultSeccompProfile();
    if (text === null) {
      logger.warn({}, "no default seccomp profile is installed; the container runs without seccomp");
      return undefined;
    }
    let cachedProfile = parsedProfiles.get(text);
    if (!cachedProfile) {
      cachedProfile = withDockerDefaults(parseSeccompProfile(text));
      parsedProfiles.set(text, cachedProfile);
    }
    profile = cachedProfile;
  } else {
    profile = parseSeccompProfile(input.seccomp.profileJson);
  }
  return convertSeccompProfile(profile, { caps: new Set(caps), arch: host.arch, kernel: host.kernel, unsupportedArches: host.unsupportedSeccompArches });
}

/** config.json for one container with Docker's default confinement. */
export function buildOciSpec(input: SpecInput, opts: BuildSpecOptions = {}): OciSpec {
  const host = opts.host ?? hostFacts();
  const logger = opts.logger ?? silentLogger;
  if (input.args.length === 0) throw new InvalidParameterError("No command specified");

  const caps = computeCapabilities(input, host, logger);
  const rlimits = buildRlimits(input.ulimits, host);
  const args = input.initPath ? [INIT_PATH_IN_CONTAINER, "--", ...input.args] : [...input.args];

  const spec: OciSpec = {
    ociVersion: "1.0.2",
    process: {
      terminal: input.terminal,
      ...(input.terminal && input.consoleSize ? { consoleSize: input.consoleSize } : {}),
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length ? { additionalGids: [...input.user.additionalGids] } : {}),
      },
      args,
      env: [...input.env],
      cwd: input.cwd || "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      ...(rlimits.length ? { rlimits } : {}),
      noNewPrivileges: input.noNewPrivileges,
      oomScoreAdj: 0,
    },
    root: { path: input.rootfsPath, readonly: input.readonlyRootfs },
    // runc refuses a hostname without a UTS namespace of the container's own.
    ...(input.utsNamespace === "host" ? {} : { hostname: input.hostname }),
    mounts: buildMounts(input),
    linux: {
      namespaces: buildNamespaces(input, host),
      devices: input.privileged ? host.hostDevices() : [],
      cgroupsPath: input.cgroupsPath,
      resources: buildResources(input, host, logger),
      maskedPaths: input.privileged ? [] : maskedPaths(host),
      readonlyPaths: input.privileged ? [] : [...READONLY_PATHS],
    },
  };
  const seccomp = buildSeccomp(input, caps, host, logger);
  if (seccomp) spec.linux.seccomp = seccomp;
  const propagation = rootfsPropagation(spec.mounts);
  if (propagation) spec.linux.rootfsPropagation = propagation;
  if (input.sysctls && Object.keys(input.sysctls).length > 0) spec.linux.sysctl = { ...input.sysctls };
  if (input.idMapping) {
    const { uidBase, gidBase, size } = input.idMapping;
    spec.linux.uidMappings = [{ containerID: 0, hostID: uidBase, size }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: gidBase, size }];
  }
  return spec;
}

/**
 * Docker's rootfs propagation: rshared when a mount asks for shared propagation, rslave when
 * one asks for slave, else the runtime's default. Without it a bind's rslave has nothing to be a
 * slave of where the runtime makes the container's mounts private first (crun does; runc's
 * default happens to be rslave).
 */
function rootfsPropagation(mounts: OciMount[]): "rshared" | "rslave" | undefined {
  const options = mounts.flatMap((m) => m.options ?? []);
  if (options.some((o) => o === "shared" || o === "rshared")) return "rshared";
  if (options.some((o) => o === "slave" || o === "rslave")) return "rslave";
  return undefined;
}

/** RLIM_INFINITY does not fit a JS number; rlimits of Infinity are written as the uint64 literal. */
const RLIM_INFINITY_MARK = "\u0000RLIM_INFINITY\u0000";

/** Serialises a spec for config.json. */
export function specToJson(spec: OciSpec): string {
  const text = JSON.stringify(spec, (_key, value: unknown) => (value === Infinity ? RLIM_INFINITY_MARK : value));
  return text.split(JSON.stringify(RLIM_INFINITY_MARK)).join("18446744073709551615");
}
