import * as os from "node:os";
import { InvalidParameterError, NotFoundError } from "../../lib/errors";
import { DEFAULT_SHM_SIZE } from "../../runtime/spec";
import { VM_RUNTIME_NAME, vmRefusal } from "../../runtime/vm/vm-limits";
import type { ImageRecord } from "../images/types";
import { type PortBindingsRequest, validatePortBindings } from "../networks/ports";
import type { CreateContainerRequest } from "./create-request";
import { logSettings } from "./log-config";
import { validateNamespaceModes } from "./namespace-modes";
import type { ContainerConfig, HostConfig, RestartPolicy } from "./types";

/** Host facts the validation depends on. */
export interface HostLimits {
  ncpu: number;
  runtimes: string[];
  /** Whether a network with this name or id exists (the network service answers). */
  hasNetwork(nameOrId: string): boolean;
}

export interface BuiltConfig {
  config: ContainerConfig;
  hostConfig: HostConfig;
  path: string;
  args: string[];
}

const MIN_MEMORY = 6 * 1024 * 1024;

/** Docker shows every HostConfig field in inspect, zero-valued when not asked for. */
const HOST_CONFIG_DEFAULTS: Record<string, unknown> = {
  Binds: null,
  ContainerIDFile: "",
  LogConfig: { Type: "k8s-file", Config: {} },
  PortBindings: {},
  VolumeDriver: "",
  VolumesFrom: null,
  ConsoleSize: [0, 0],
  CgroupnsMode: "host",
  Dns: [],
  DnsOptions: [],
  DnsSearch: [],
  ExtraHosts: null,
  GroupAdd: null,
  IpcMode: "private",
  Cgroup: "",
  Links: null,
  OomScoreAdj: 0,
  PidMode: "",
  PublishAllPorts: false,
  UTSMode: "",
  UsernsMode: "",
  Isolation: "",
  CgroupParent: "",
  BlkioWeight: 0,
  BlkioWeightDevice: [],
  BlkioDeviceReadBps: [],
  BlkioDeviceWriteBps: [],
  BlkioDeviceReadIOps: [],
  BlkioDeviceWriteIOps: [],
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  Devices: [],
  DeviceCgroupRules: null,
  DeviceRequests: null,
  MemoryReservation: 0,
  MemorySwappiness: null,
  OomKillDisable: false,
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
};
const RESTART_POLICIES = ["", "no", "always", "on-failure", "unless-stopped"] as const;
const KNOWN_ULIMITS = new Set([
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
  "rss", "rtprio", "rttime", "sigpending", "stack",
]);

/** Docker's rule: later KEY=V entries replace earlier ones with the same KEY. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const keyOf = (entry: string): string => entry.split("=", 1)[0];
  const merged = new Map<string, string>();
  for (const entry of [...base, ...overrides]) merged.set(keyOf(entry), entry);
  return [...merged.values()];
}

export function validateRestartPolicy(policy: RestartPolicy, autoRemove: boolean): void {
  if (!(RESTART_POLICIES as readonly string[]).includes(policy.Name)) {
    throw new InvalidParameterError(
      `invalid restart policy: unknown policy '${policy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  if (policy.MaximumRetryCount < 0) {
    throw new InvalidParameterError("invalid restart policy: maximum retry count cannot be negative");
  }
  if (policy.Name !== "on-failure" && policy.MaximumRetryCount !== 0) {
    throw new InvalidParameterError("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (autoRemove && policy.Name !== "" && policy.Name !== "no") {
    throw new InvalidParameterError("can't create 'AutoRemove' container with restart policy");
  }
}

function validateCpuset(value: string, ncpu: number): void {
  if (value === "") return;
  const cpus: number[] = [];
  for (const part of value.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InvalidParameterError(`invalid value ${value} for cpuset cpus`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new InvalidParameterError(`invalid value ${value} for cpuset cpus`);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  const unavailable = cpus.filter((c) => c >= ncpu);
  if (unavailable.length) {
    throw new InvalidParameterError(
      `Requested CPUs are not available - requested ${value}, available: ${ncpu === 1 ? "0" : `0-${ncpu - 1}`}`,
    );
  }
}

/** --security-opt values Docker accepts; apparmor/label are accepted and have no effect here. */
export function validateSecurityOpts(opts: string[]): void {
  for (const opt of opts) {
    const [key, value] = opt.includes("=") ? [opt.slice(0, opt.indexOf("=")), opt.slice(opt.indexOf("=") + 1)] : opt.split(":", 2);
    if (key === "no-new-privileges") {
      if (value !== undefined && !["true", "false", ""].includes(value)) {
        throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
      }
      continue;
    }
    if (key === "seccomp" || key === "apparmor" || key === "label" || key === "systempaths") continue;
    throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
  }
}

/** Docker's checks of the resource limits (create and update). */
export function validateResources(hc: HostConfig, limits: HostLimits): void {
  // Docker passes these to runc unchecked and answers runc's refusal with a 500.
  if (hc.Memory < 0) throw new InvalidParameterError("invalid memory limit: must not be negative");
  if (hc.MemorySwap < -1) throw new InvalidParameterError("invalid memory swap limit: -1 (unlimited) or a size larger than the memory limit");
  if (hc.CpuPeriod !== 0 && (hc.CpuPeriod < 1000 || hc.CpuPeriod > 1000000)) {
    throw new InvalidParameterError("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (hc.CpuQuota > 0 && hc.CpuQuota < 1000) throw new InvalidParameterError("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (hc.Memory > 0 && hc.Memory < MIN_MEMORY) {
    throw new InvalidParameterError("Minimum memory limit allowed is 6MB");
  }
  if (hc.MemorySwap > 0 && hc.Memory === 0) {
    throw new InvalidParameterError("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory) {
    throw new InvalidParameterError("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (hc.NanoCpus < 0 || hc.NanoCpus > limits.ncpu * 1e9) {
    throw new InvalidParameterError(
      `Range of CPUs is from 0.01 to ${limits.ncpu}.00, as there are only ${limits.ncpu} CPUs available`,
    );
  }
  if (hc.NanoCpus > 0 && (hc.CpuPeriod > 0 || hc.CpuQuota > 0)) {
    throw new InvalidParameterError("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (hc.CpuShares < 0) throw new InvalidParameterError("invalid CPU shares: must not be negative");
  validateCpuset(hc.CpusetCpus, limits.ncpu);
  for (const ulimit of hc.Ulimits ?? []) {
    if (!KNOWN_ULIMITS.has(ulimit.Name)) throw new InvalidParameterError(`invalid ulimit type: ${ulimit.Name}`);
    if (ulimit.Soft > ulimit.Hard) {
      throw new InvalidParameterError(`ulimit soft limit must be less than or equal to hard limit: ${ulimit.Soft} > ${ulimit.Hard}`);
    }
  }
}

const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262144;

/**
 * Docker's adjustments before the checks (its adaptContainerSettings): CPU shares into the
 * kernel's range (cgroup v1), which runc would otherwise refuse. Applied at create and update.
 */
export function adaptResources(hc: HostConfig): void {
  if (hc.CpuShares > 0) hc.CpuShares = Math.min(Math.max(hc.CpuShares, MIN_CPU_SHARES), MAX_CPU_SHARES);
}

function normalizeNetworkMode(mode: string | null | undefined, limits: HostLimits): string {
  // As in Docker, no network (or "default") means the default bridge network.
  const name = !mode || mode === "default" ? "bridge" : mode;
  if (name === "none" || name === "host") return name;
  if (name.startsWith("container:")) {
    // The other container is resolved when this one starts (it must be running then).
    if (name === "container:") throw new InvalidParameterError("--network: container name or id missing after container:");
    return name;
  }
  if (limits.hasNetwork(name)) return name;
  throw new NotFoundError(`network ${name} not found`);
}

/** Turns a create request plus its image into the stored Config and HostConfig (Docker's merge rules). */
export function buildContainerConfig(
  req: CreateContainerRequest,
  image: ImageRecord,
  containerId: string,
  limits: HostLimits,
  defaultRuntime: string,
): BuiltConfig {
  const imageConfig = image.config.config ?? {};
  const h = req.HostConfig ?? {};

  const hostConfig: HostConfig = {
    ...HOST_CONFIG_DEFAULTS,
    ...Object.fromEntries(Object.entries(h).filter(([, v]) => v !== null && v !== undefined)),
    NetworkMode: normalizeNetworkMode(h.NetworkMode, limits),
    RestartPolicy: {
      Name: (h.RestartPolicy?.Name ?? "no") as RestartPolicy["Name"],
      MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0,
    },
    AutoRemove: h.AutoRemove ?? false,
    Privileged: h.Privileged ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    SecurityOpt: h.SecurityOpt ?? null,
    Init: h.Init ?? null,
    Memory: h.Memory ?? 0,
    MemorySwap: h.MemorySwap ?? 0,
    NanoCpus: h.NanoCpus ?? 0,
    CpuShares: h.CpuShares ?? 0,
    CpuPeriod: h.CpuPeriod ?? 0,
    CpuQuota: h.CpuQuota ?? 0,
    CpusetCpus: h.CpusetCpus ?? "",
    CpusetMems: h.CpusetMems ?? "",
    PidsLimit: h.PidsLimit ?? null,
    Ulimits: h.Ulimits ?? null,
    ShmSize: h.ShmSize && h.ShmSize > 0 ? h.ShmSize : DEFAULT_SHM_SIZE,
    Runtime: h.Runtime || defaultRuntime,
  };
  if (hostConfig.RestartPolicy.Name === "") hostConfig.RestartPolicy.Name = "no";
  // Clients send empty strings for "the daemon's default"; inspect shows the default itself.
  const logConfig = hostConfig.LogConfig as { Type?: string | null; Config?: Record<string, string> | null } | undefined;
  if (!logConfig?.Type) hostConfig.LogConfig = { Type: "k8s-file", Config: logConfig?.Config ?? {} };
  logSettings(hostConfig.LogConfig as typeof logConfig); // Docker's errors for a bad driver or option, before anything exists
  validateNamespaceModes(
    { pid: hostConfig.PidMode ?? "", ipc: hostConfig.IpcMode ?? "", uts: hostConfig.UTSMode ?? "" },
    req.Hostname ?? undefined,
  );
  if (!hostConfig.IpcMode) hostConfig.IpcMode = "private";
  if (!hostConfig.CgroupnsMode) hostConfig.CgroupnsMode = "host";
  validateRestartPolicy(hostConfig.RestartPolicy, hostConfig.AutoRemove);
  adaptResources(hostConfig);
  validateResources(hostConfig, limits);
  validateSecurityOpts(hostConfig.SecurityOpt ?? []);
  validatePortBindings((hostConfig.PortBindings as PortBindingsRequest | null) ?? {});
  if (!limits.runtimes.includes(hostConfig.Runtime)) {
    throw new InvalidParameterError(`unknown or invalid runtime name: ${hostConfig.Runtime}`);
  }
  if (hostConfig.Runtime === VM_RUNTIME_NAME) {
    const refusal = vmRefusal({
      pidMode: hostConfig.PidMode,
      networkMode: hostConfig.NetworkMode,
      ipcMode: hostConfig.IpcMode,
      utsMode: hostConfig.UTSMode,
      privileged: hostConfig.Privileged,
      devices: hostConfig.Devices as unknown[] | null | undefined,
      memory: hostConfig.Memory,
      binds: hostConfig.Binds as unknown[] | null | undefined,
      mounts: hostConfig.Mounts as unknown[] | null | undefined,
    });
    if (refusal) throw new InvalidParameterError(refusal);
  }

  // An entrypoint given on the command line replaces the image's entrypoint and its cmd.
  let entrypoint: string[] | null;
  let cmd: string[] | null;
  if (req.Entrypoint != null) {
    entrypoint = req.Entrypoint.length === 1 && req.Entrypoint[0] === "" ? null : req.Entrypoint;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : null;
  } else {
    entrypoint = imageConfig.Entrypoint && imageConfig.Entrypoint.length ? imageConfig.Entrypoint : null;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : (imageConfig.Cmd ?? null);
  }
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0) throw new InvalidParameterError("No command specified");

  const workingDir = req.WorkingDir || imageConfig.WorkingDir || "";
  if (workingDir !== "" && !workingDir.startsWith("/")) {
    throw new InvalidParameterError(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
  }

  const config: ContainerConfig = {
    // With the host's network a container also carries the host's name, as in Docker.
    Hostname: req.Hostname || (hostConfig.NetworkMode === "host" ? os.hostname() : containerId.slice(0, 12)),
    Domainname: req.Domainname ?? "",
    User: req.User ?? imageConfig.User ?? "",
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: mergeEnv(imageConfig.Env ?? [], req.Env ?? []),
    Cmd: cmd,
    Image: req.Image ?? image.id,
    WorkingDir: workingDir,
    Entrypoint: entrypoint,
    Labels: { ...(imageConfig.Labels ?? {}), ...(req.Labels ?? {}) },
  };
  const exposed = { ...(imageConfig.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) };
  if (Object.keys(exposed).length) config.ExposedPorts = exposed as ContainerConfig["ExposedPorts"];
  const volumes = { ...(imageConfig.Volumes ?? {}), ...(req.Volumes ?? {}) };
  if (Object.keys(volumes).length) config.Volumes = volumes as ContainerConfig["Volumes"];
  const stopSignal = req.StopSignal || imageConfig.StopSignal;
  if (stopSignal) config.StopSignal = stopSignal;
  if (req.StopTimeout != null) config.StopTimeout = req.StopTimeout;
  // Docker's merge: fields the run options set (non-zero) replace the image's HEALTHCHECK ones.
  const requested = Object.fromEntries(Object.entries(req.Healthcheck ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== 0));
  const healthcheck = req.Healthcheck || imageConfig.Healthcheck ? { ...(imageConfig.Healthcheck ?? {}), ...requested } : undefined;
  if (healthcheck) config.Healthcheck = healthcheck as ContainerConfig["Healthcheck"];
  if (imageConfig.OnBuild) config.OnBuild = imageConfig.OnBuild;

  return { config, hostConfig, path: argv[0], args: argv.slice(1) };
}
