/**
 * -p/--publish and --expose, turned into the API's ExposedPorts and PortBindings with the
 * rules (and error texts) of docker's port-spec parser:
 * `[ip:][hostPort[-end]:]containerPort[-end][/proto]` or `published=8080,target=80,protocol=udp`.
 */
import { isIP } from "node:net";

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export type PortBindings = Record<string, PortBinding[]>;
export type ExposedPorts = Record<string, Record<string, never>>;

interface Range {
  start: number;
  end: number;
}

/** "80" or "8000-8010"; throws the bare reason, the caller adds context. */
export function parsePortRange(value: string): Range {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!m) throw new Error(`invalid port range: ${value}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) throw new Error(`invalid port range: ${value}`);
  return { start, end };
}

/** "80/udp" -> ["udp", "80"]; no protocol means tcp. */
function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split("/");
  if (raw.length === 0 || parts[0] === "") return ["", ""];
  if (parts.length === 1) return ["tcp", raw];
  if (parts[1] === "") return ["tcp", parts[0]];
  return [parts[1], parts[0]];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(":");
  const n = parts.length;
  const container = parts[n - 1];
  if (n === 1) return ["", "", container];
  if (n === 2) return ["", parts[0], container];
  if (n === 3) return [parts[0], parts[1], container];
  return [parts.slice(0, n - 2).join(":"), parts[n - 2], container];
}

/** `published=8080,target=80,protocol=udp` -> `8080:80/udp`. */
function toStandardNotation(spec: string): string {
  if (!spec.includes("=")) return spec;
  const params: Record<string, string> = { protocol: "tcp" };
  for (const param of spec.split(",")) {
    const eq = param.indexOf("=");
    if (eq <= 0) throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params.published ?? ""}:${params.target ?? ""}/${params.protocol}`;
}

function validProto(proto: string): boolean {
  return proto === "tcp" || proto === "udp" || proto === "sctp";
}

export interface PortMapping {
  port: string;
  binding: PortBinding;
}

/** One -p value -> its port/binding pairs (several for a range). */
export function parsePortSpec(rawSpec: string): PortMapping[] {
  const raw = toStandardNotation(rawSpec);
  let [ip, hostPort, containerSpec] = splitParts(raw);
  const [proto, containerPort] = splitProtoPort(containerSpec);
  if (ip.startsWith("[")) ip = ip.replace(/^\[/, "").replace(/\]$/, "");
  if (ip !== "" && isIP(ip) === 0) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === "") throw new Error(`no port specified: ${raw}<empty>`);

  let container: Range;
  try {
    container = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let host: Range = { start: 0, end: 0 };
  if (hostPort !== "") {
    try {
      host = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== "" && container.end - container.start !== host.end - host.start) {
    // A host range may map onto one container port (the daemon picks one of them).
    if (container.end !== container.start) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const protocol = proto.toLowerCase();
  if (!validProto(protocol)) throw new Error(`invalid proto: ${proto}`);

  const out: PortMapping[] = [];
  for (let i = 0; i <= container.end - container.start; i++) {
    let hp = hostPort === "" ? "" : String(host.start + i);
    if (container.start === container.end && host.start !== host.end) hp = `${hp}-${host.end}`;
    out.push({ port: `${container.start + i}/${protocol}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

export interface PortConfig {
  exposed: ExposedPorts;
  bindings: PortBindings;
}

/** All -p and --expose values of one container. */
export function parsePorts(publish: string[], expose: string[]): PortConfig {
  const exposed: ExposedPorts = {};
  const bindings: PortBindings = {};
  for (const spec of publish) {
    for (const { port, binding } of parsePortSpec(spec)) {
      (bindings[port] ??= []).push(binding);
      exposed[port] = {};
    }
  }
  for (const spec of expose) {
    const [proto, portPart] = splitProtoPort(spec);
    let range: Range;
    try {
      range = parsePortRange(portPart);
    } catch (err) {
      throw new Error(`invalid range format for --expose: ${(err as Error).message}`);
    }
    for (let p = range.start; p <= range.end; p++) exposed[`${p}/${proto.toLowerCase()}`] = {};
  }
  return { exposed, bindings };
}
