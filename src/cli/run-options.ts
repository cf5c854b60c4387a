/**
 * `run` and `create` options -> the Docker API's create request (Config + HostConfig +
 * NetworkingConfig, POST /containers/create). Pure apart from the injected file reader, so
 * every flag's translation is unit-tested.
 */
import { isMacAddress } from "../lib/mac";
import * as fs from "node:fs";
import type { ParsedFlags } from "./flags";
import { ramInBytes, parseGoDuration } from "../lib/units";
import { parseMount, parseTmpfs, parseVolumes, ApiMount } from "./opts/mounts";
import { parsePorts, PortBindings, ExposedPorts } from "./opts/ports";
// Type-only: the wire shape is shared; the CLI never loads engine code.
import type { HealthConfig } from "../engine/images/types";
import {
  goFileError,
  kvToMap,
  parseDevice,
  parseKvFile,
  parseNanoCpus,
  parseRestartPolicy,
  parseSecurityOpts,
  parseUlimit,
  resolveEnv,
  RestartPolicy,
  Ulimit,
} from "./opts/values";

export type PullPolicy = "missing" | "always" | "never";

/** The JSON body of POST /containers/create. */
export interface CreateBody {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: ExposedPorts;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd?: string[];
  Healthcheck?: HealthConfig;
  Image: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Entrypoint?: string[];
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: HostConfig;
  NetworkingConfig: { EndpointsConfig: Record<string, EndpointSettings> };
}

export interface EndpointSettings {
  Aliases?: string[];
  Links?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string };
  MacAddress?: string;
}

export interface HostConfig {
  /** [height, width] of the client's terminal for a TTY (set by run/create, not by a flag). */
  ConsoleSize?: [number, number];
  Binds?: string[];
  ContainerIDFile?: string;
  LogConfig?: { Type: string; Config: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: PortBindings;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[];
  Mounts?: ApiMount[];
  CapAdd?: string[];
  CapDrop?: string[];
  CgroupnsMode?: string;
  Dns: string[];
  DnsOptions: string[];
  DnsSearch: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  IpcMode?: string;
  Links?: string[];
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged: boolean;
  PublishAllPorts: boolean;
  ReadonlyRootfs: boolean;
  SecurityOpt?: string[];
  StorageOpt?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  Isolation?: string;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  Init?: boolean;
  Annotations?: Record<string, string>;
  // Resources (embedded in HostConfig by the API)
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  DeviceCgroupRules?: string[];
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  OomKillDisable?: boolean;
  PidsLimit?: number;
  Ulimits?: Ulimit[];
}

export interface CreateRequest {
  /** ?name= */
  name?: string;
  /** ?platform= */
  platform?: string;
  pull: PullPolicy;
  /** -q: no pull progress. */
  quiet: boolean;
  cidfile?: string;
  detach: boolean;
  detachKeys?: string;
  sigProxy: boolean;
  body: CreateBody;
}

export interface BuildDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  readFile: (file: string) => string;
}

export const defaultDeps = (env: NodeJS.ProcessEnv): BuildDeps => ({
  env,
  cwd: process.cwd(),
  readFile: (file) => fs.readFileSync(file, "utf8"),
});

function readListFile(deps: BuildDeps, file: string): string {
  try {
    return deps.readFile(file);
  } catch (err) {
    throw new Error(goFileError(err, file));
  }
}

/** Present only when non-empty, to keep the body free of noise. */
function nonEmpty<T>(values: T[]): T[] | undefined {
  return values.length > 0 ? values : undefined;
}

function nonEmptyMap<T>(map: Record<string, T>): Record<string, T> | undefined {
  return Object.keys(map).length > 0 ? map : undefined;
}

/** Go marshals maps with sorted keys; keeping that order makes bodies identical to docker's. */
function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The Docker client's capability normalisation: "net_admin" -> "CAP_NET_ADMIN", sorted, unique. */
export function normalizeCapabilities(caps: string[]): string[] {
  const out = new Set<string>();
  for (const raw of caps) {
    const cap = raw.toUpperCase();
    out.add(cap === "ALL" || cap.startsWith("CAP_") ? cap : `CAP_${cap}`);
  }
  return [...out].sort();
}

function nanos(duration: string): number {
  return Math.round(parseGoDuration(duration) * 1e6);
}

/**
 * Builds the create request from parsed flags and the positional arguments (image first).
 * Throws Error with docker's message for values that are wrong in combination or content
 * (the caller reports them as `wharf: <message>.`, exit 125).
 */
export function buildCreateRequest(flags: ParsedFlags, args: string[], deps: BuildDeps): CreateRequest {
  const [image, ...cmd] = args;
  const pull = flags.string("pull", "missing");
  if (pull !== "missing" && pull !== "always" && pull !== "never") {
    throw new Error(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }

  const attach = flags.list("attach");
  const interactive = flags.bool("interactive");
  const detach = flags.bool("detach");
  let attachStdin = attach.includes("stdin") || interactive;
  let attachStdout = attach.length === 0 || attach.includes("stdout");
  let attachStderr = attach.length === 0 || attach.includes("stderr");
  if (detach) {
    attachStdin = attachStdout = attachStderr = false;
  }

  const swappiness = flags.int("memory-swappiness", -1);
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw new Error(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);
  }

  const { binds, volumes } = parseVolumes(flags.list("volume"), deps.cwd);
  const ports = parsePorts(flags.list("publish"), flags.list("expose"));

  let env: string[] = [];
  for (const file of flags.list("env-file")) {
    env.push(...parseKvFile(file, readListFile(deps, file), (k) => deps.env[k]));
  }
  env = env.concat(flags.list("env").map((e) => resolveEnv(e, deps.env)));

  const labelLines: string[] = [];
  for (const file of flags.list("label-file")) labelLines.push(...parseKvFile(file, readListFile(deps, file)));
  labelLines.push(...flags.list("label"));

  let entrypoint: string[] | undefined;
  if (flags.changed("entrypoint")) entrypoint = [flags.string("entrypoint")];

  const restart = parseRestartPolicy(flags.string("restart", "no"));
  const autoRemove = flags.bool("rm");
  if (autoRemove && restart.Name !== "" && restart.Name !== "no") {
    throw new Error("conflicting options: cannot specify both --restart and --rm");
  }

  let securityOpts = parseSecurityOpts(flags.list("security-opt"), (f) => deps.readFile(f));
  let maskedPaths: string[] | undefined;
  let readonlyPaths: string[] | undefined;
  if (securityOpts.includes("systempaths=unconfined")) {
    securityOpts = securityOpts.filter((o) => o !== "systempaths=unconfined");
    maskedPaths = [];
    readonlyPaths = [];
  }

  const logOpts = flags.list("log-opt");
  const logDriver = flags.string("log-driver");
  if (logDriver === "none" && logOpts.length > 0) throw new Error(`invalid logging opts for driver ${logDriver}`);

  const storageOpt: Record<string, string> = {};
  for (const opt of flags.list("storage-opt")) {
    const eq = opt.indexOf("=");
    if (eq === -1) throw new Error("invalid storage option");
    storageOpt[opt.slice(0, eq)] = opt.slice(eq + 1);
  }

  const ulimits = new Map<string, Ulimit>();
  for (const u of flags.list("ulimit").map(parseUlimit)) ulimits.set(u.Name, u);

  const healthFlags = ["health-cmd", "health-interval", "health-timeout", "health-start-period", "health-retries", "health-start-interval"];
  const haveHealth = healthFlags.some((f) => flags.changed(f) && flags.string(f) !== "" && flags.string(f) !== "0" && flags.string(f) !== "0s");
  let healthcheck: CreateBody["Healthcheck"];
  if (flags.bool("no-healthcheck")) {
    if (haveHealth) throw new Error("--no-healthcheck conflicts with --health-* options");
    healthcheck = { Test: ["NONE"] };
  } else if (haveHealth) {
    const durations: Record<string, number> = {};
    for (const f of ["health-interval", "health-timeout", "health-start-period", "health-start-interval"]) {
      durations[f] = nanos(flags.string(f, "0s"));
      if (durations[f] < 0) throw new Error(`--${f} cannot be negative`);
    }
    const retries = flags.int("health-retries");
    if (retries < 0) throw new Error("--health-retries cannot be negative");
    healthcheck = {
      Test: flags.string("health-cmd") !== "" ? ["CMD-SHELL", flags.string("health-cmd")] : undefined,
      Interval: durations["health-interval"],
      Timeout: durations["health-timeout"],
      StartPeriod: durations["health-start-period"],
      StartInterval: durations["health-start-interval"],
      Retries: retries,
    };
  }

  const network = flags.string("network", flags.string("net"));
  const aliases = [...flags.list("network-alias"), ...flags.list("net-alias")];
  const endpoints: Record<string, EndpointSettings> = {};
  const ip = flags.string("ip");
  const ip6 = flags.string("ip6");
  const mac = flags.string("mac-address");
  if (mac && !isMacAddress(mac)) throw new Error(`${mac} is not a valid mac address`);
  // Since API 1.44 these are per network; docker puts them on the (first) network.
  if (aliases.length > 0 || ip || ip6 || mac) {
    const ep: EndpointSettings = {};
    if (aliases.length > 0) ep.Aliases = aliases;
    if (ip || ip6) ep.IPAMConfig = { IPv4Address: ip || undefined, IPv6Address: ip6 || undefined };
    if (mac) ep.MacAddress = mac;
    endpoints[network || "default"] = ep;
  }

  const interactiveAndAttached = interactive && attachStdin;
  const hostConfig: HostConfig = {
    Binds: nonEmpty(binds),
    ContainerIDFile: flags.string("cidfile") || undefined,
    LogConfig: logDriver || logOpts.length > 0 ? { Type: logDriver, Config: kvToMap(logOpts) } : undefined,
    NetworkMode: network || undefined,
    PortBindings: nonEmptyMap(sortedKeys(ports.bindings)),
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    VolumeDriver: flags.string("volume-driver") || undefined,
    VolumesFrom: nonEmpty(flags.list("volumes-from")),
    Mounts: nonEmpty(flags.list("mount").map((m) => parseMount(m, deps.cwd))),
    CapAdd: nonEmpty(normalizeCapabilities(flags.list("cap-add"))),
    CapDrop: nonEmpty(normalizeCapabilities(flags.list("cap-drop"))),
    CgroupnsMode: flags.string("cgroupns") || undefined,
    Dns: flags.list("dns"),
    DnsOptions: [...flags.list("dns-option"), ...flags.list("dns-opt")],
    DnsSearch: flags.list("dns-search"),
    ExtraHosts: nonEmpty(flags.list("add-host")),
    GroupAdd: nonEmpty(flags.list("group-add")),
    IpcMode: flags.string("ipc") || undefined,
    Links: nonEmpty(flags.list("link")),
    OomScoreAdj: flags.changed("oom-score-adj") ? flags.int("oom-score-adj") : undefined,
    PidMode: flags.string("pid") || undefined,
    Privileged: flags.bool("privileged"),
    PublishAllPorts: flags.bool("publish-all"),
    ReadonlyRootfs: flags.bool("read-only"),
    SecurityOpt: nonEmpty(securityOpts),
    StorageOpt: nonEmptyMap(storageOpt),
    Tmpfs: nonEmptyMap(parseTmpfs(flags.list("tmpfs"))),
    UTSMode: flags.string("uts") || undefined,
    UsernsMode: flags.string("userns") || undefined,
    ShmSize: flags.changed("shm-size") ? ramInBytes(flags.string("shm-size")) : undefined,
    Sysctls: nonEmptyMap(kvToMap(flags.list("sysctl"))),
    Runtime: flags.string("runtime") || undefined,
    Isolation: flags.string("isolation") || undefined,
    MaskedPaths: maskedPaths,
    ReadonlyPaths: readonlyPaths,
    Init: flags.changed("init") ? flags.bool("init") : undefined,
    Annotations: nonEmptyMap(kvToMap(flags.list("annotation"))),
    CgroupParent: flags.string("cgroup-parent") || undefined,
    BlkioWeight: flags.changed("blkio-weight") ? flags.int("blkio-weight") : undefined,
    CpuShares: flags.changed("cpu-shares") ? flags.int("cpu-shares") : undefined,
    Memory: flags.changed("memory") ? ramInBytes(flags.string("memory")) : undefined,
    NanoCpus: flags.changed("cpus") ? parseNanoCpus(flags.string("cpus")) : undefined,
    CpuPeriod: flags.changed("cpu-period") ? flags.int("cpu-period") : undefined,
    CpuQuota: flags.changed("cpu-quota") ? flags.int("cpu-quota") : undefined,
    CpuRealtimePeriod: flags.changed("cpu-rt-period") ? flags.int("cpu-rt-period") : undefined,
    CpuRealtimeRuntime: flags.changed("cpu-rt-runtime") ? flags.int("cpu-rt-runtime") : undefined,
    CpusetCpus: flags.string("cpuset-cpus") || undefined,
    CpusetMems: flags.string("cpuset-mems") || undefined,
    Devices: nonEmpty(flags.list("device").map(parseDevice)),
    DeviceCgroupRules: nonEmpty(flags.list("device-cgroup-rule")),
    MemoryReservation: flags.changed("memory-reservation") ? ramInBytes(flags.string("memory-reservation")) : undefined,
    MemorySwap: flags.changed("memory-swap")
      ? flags.string("memory-swap") === "-1"
        ? -1
        : ramInBytes(flags.string("memory-swap"))
      : undefined,
    MemorySwappiness: flags.changed("memory-swappiness") ? swappiness : undefined,
    OomKillDisable: flags.changed("oom-kill-disable") ? flags.bool("oom-kill-disable") : undefined,
    PidsLimit: flags.changed("pids-limit") ? flags.int("pids-limit") : undefined,
    Ulimits: nonEmpty([...ulimits.values()].sort((a, b) => a.Name.localeCompare(b.Name))),
  };

  const body: CreateBody = {
    Hostname: flags.string("hostname") || undefined,
    Domainname: flags.string("domainname") || undefined,
    User: flags.string("user") || undefined,
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: nonEmptyMap(sortedKeys(ports.exposed)),
    Tty: flags.bool("tty"),
    OpenStdin: interactive,
    // With stdin attached, the daemon closes the container's stdin when the client's ends.
    StdinOnce: interactiveAndAttached,
    Env: env,
    Cmd: cmd.length > 0 ? cmd : undefined,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: nonEmptyMap(volumes),
    WorkingDir: flags.string("workdir") || undefined,
    Entrypoint: entrypoint,
    Labels: kvToMap(labelLines),
    StopSignal: flags.string("stop-signal") || undefined,
    StopTimeout: flags.changed("stop-timeout") ? flags.int("stop-timeout") : undefined,
    HostConfig: dropUndefined(hostConfig),
    NetworkingConfig: { EndpointsConfig: endpoints },
  };

  return {
    name: flags.string("name") || undefined,
    platform: flags.string("platform") || undefined,
    pull,
    quiet: flags.bool("quiet"),
    cidfile: flags.string("cidfile") || undefined,
    detach,
    detachKeys: flags.string("detach-keys") || undefined,
    sigProxy: flags.bool("sig-proxy", true),
    body: dropUndefined(body),
  };
}

/** Removes keys whose value is undefined (JSON.stringify would too; this keeps tests exact). */
function dropUndefined<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as (keyof T)[]) {
    if (obj[key] === undefined) delete obj[key];
  }
  return obj;
}
