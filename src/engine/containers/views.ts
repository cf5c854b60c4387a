import { InvalidParameterError } from "../../lib/errors";
import { portsView, summaryPorts } from "../networks/ports";
import type { EndpointState } from "../networks/types";
import { mountMatches, mountsView } from "./mounts";
import { statusText } from "./status";
import type { ContainerRecord } from "./types";

/**
 * Docker-shaped views of a container record: the inspect document and the /containers/json
 * summary, plus `ps` filtering. Pure functions of the record.
 */

function endpointFor(networkMode: string, ep?: Partial<EndpointState>): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: ep?.Aliases ?? null,
    MacAddress: ep?.MacAddress ?? "",
    DriverOpts: null,
    NetworkID: ep?.NetworkID ?? "",
    EndpointID: ep?.EndpointID ?? "",
    Gateway: ep?.Gateway ?? "",
    IPAddress: ep?.IPAddress ?? "",
    IPPrefixLen: ep?.IPPrefixLen ?? 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** Networks as Docker shows them: one entry per joined network; none for container:X. */
function networksView(record: ContainerRecord): Record<string, unknown> {
  const mode = record.HostConfig.NetworkMode;
  if (mode.startsWith("container:")) return {};
  const joined = record.NetworkSettings?.Networks ?? {};
  if (Object.keys(joined).length) return Object.fromEntries(Object.entries(joined).map(([name, ep]) => [name, endpointFor(name, ep)]));
  // Not running: the networks it will join, without addresses (as Docker shows them).
  const extra = Object.entries(record.ExtraNetworks ?? {}).map(([name, ep]) => [name, endpointFor(name, { Aliases: ep.Aliases ?? null })]);
  return Object.fromEntries([[mode, endpointFor(mode)], ...extra]);
}

function networkSettings(record: ContainerRecord): Record<string, unknown> {
  const ns = record.NetworkSettings;
  // Docker repeats the default bridge's endpoint at the top level (deprecated fields).
  const top = ns?.Networks.bridge;
  return {
    Bridge: "",
    SandboxID: ns ? record.Id : "",
    SandboxKey: ns?.SandboxKey ?? "",
    Ports: ns ? portsView(record.Config.ExposedPorts ?? {}, ns.Ports) : {},
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: top?.EndpointID ?? "",
    Gateway: top?.Gateway ?? "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: top?.IPAddress ?? "",
    IPPrefixLen: top?.IPPrefixLen ?? 0,
    IPv6Gateway: "",
    MacAddress: top?.MacAddress ?? "",
    Networks: networksView(record),
  };
}

export function inspectView(record: ContainerRecord, graphDriverData: Record<string, string>): Record<string, unknown> {
  return {
    Id: record.Id,
    Created: record.Created,
    Path: record.Path,
    Args: record.Args,
    State: { ...record.State },
    Image: record.Image,
    ResolvConfPath: record.ResolvConfPath,
    HostnamePath: record.HostnamePath,
    HostsPath: record.HostsPath,
    LogPath: record.LogPath,
    Name: record.Name,
    RestartCount: record.RestartCount,
    Driver: record.Driver,
    Platform: record.Platform,
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: record.HostConfig,
    GraphDriver: { Data: graphDriverData, Name: "overlay2" },
    Mounts: mountsView(record.MountPoints),
    Config: record.Config,
    NetworkSettings: networkSettings(record),
  };
}

/** Docker's Command column: the path and args joined by spaces, args with spaces in single quotes. */
function commandLine(record: ContainerRecord): string {
  const args = record.Args.map((arg) => (arg.includes(" ") ? `'${arg}'` : arg));
  return [record.Path, ...args].join(" ");
}

export function summaryView(record: ContainerRecord, now = Date.now()): Record<string, unknown> {
  return {
    Id: record.Id,
    Names: [record.Name],
    Image: record.Config.Image,
    ImageID: record.Image,
    Command: commandLine(record),
    Created: Math.floor(Date.parse(record.Created) / 1000),
    Ports: summaryPorts(record.Config.ExposedPorts ?? {}, record.NetworkSettings?.Ports ?? []),
    Labels: record.Config.Labels ?? {},
    State: record.State.Status,
    Status: statusText(record.State, now),
    HostConfig: { NetworkMode: record.HostConfig.NetworkMode },
    NetworkSettings: { Networks: networksView(record) },
    Mounts: mountsView(record.MountPoints),
  };
}

const STATUS_VALUES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];
const FILTER_KEYS = ["name", "id", "status", "label", "exited", "ancestor", "before", "since", "health", "volume", "network", "publish", "expose", "is-task"];

export interface ListFilterContext {
  /** Resolves an image reference or id to an image id, or undefined when unknown. */
  imageId(ref: string): string | undefined;
  /** Resolves a container name or id for before/since. */
  container(ref: string): ContainerRecord;
}

/** Applies Docker's `ps` filters (values within a key OR, keys AND). */
export function filterContainers(records: ContainerRecord[], filters: Map<string, string[]>, ctx: ListFilterContext): ContainerRecord[] {
  for (const key of filters.keys()) {
    if (!FILTER_KEYS.includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  for (const status of filters.get("status") ?? []) {
    if (!STATUS_VALUES.includes(status)) throw new InvalidParameterError(`invalid filter 'status=${status}'`);
  }
  const exitedCodes = (filters.get("exited") ?? []).map((v) => {
    if (!/^-?\d+$/.test(v)) throw new InvalidParameterError(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  const ancestorIds = (filters.get("ancestor") ?? []).map((ref) => ctx.imageId(ref) ?? `unknown:${ref}`);
  const before = filters.get("before")?.map((ref) => Date.parse(ctx.container(ref).Created));
  const since = filters.get("since")?.map((ref) => Date.parse(ctx.container(ref).Created));

  const any = <T>(values: T[] | undefined, test: (v: T) => boolean): boolean => !values || values.length === 0 || values.some(test);
  // Compiled once per request, not once per container.
  const namePatterns = filters.get("name")?.map(safeRegex);
  return records.filter((c) => {
    const name = c.Name.slice(1);
    const created = Date.parse(c.Created);
    return (
      any(namePatterns, (re) => re.test(name) || re.test(c.Name)) &&
      any(filters.get("id"), (v) => c.Id.startsWith(v)) &&
      any(filters.get("status"), (v) => c.State.Status === v) &&
      (filters.get("label") ?? []).every((v) => labelMatches(c.Config.Labels ?? {}, v)) &&
      (exitedCodes.length === 0 || (c.State.Status === "exited" && exitedCodes.includes(c.State.ExitCode))) &&
      any(ancestorIds, (imageId) => c.Image === imageId || c.Config.Image === imageId) &&
      (!before || before.every((t) => created < t)) &&
      (!since || since.every((t) => created > t)) &&
      any(filters.get("network"), (v) => c.HostConfig.NetworkMode === v) &&
      any(filters.get("volume"), (v) => mountMatches(c.MountPoints, v)) &&
      any(filters.get("health"), (v) => (c.State.Health?.Status ?? "none") === v)
    );
  });
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf("=");
  if (eq < 0) return filter in labels;
  const key = filter.slice(0, eq);
  return key in labels && labels[key] === filter.slice(eq + 1);
}

/** Docker matches name filters as regular expressions; a malformed one matches literally. */
function safeRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  }
}
