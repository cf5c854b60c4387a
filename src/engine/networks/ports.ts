import * as dgram from "node:dgram";
import * as net from "node:net";
import { InvalidParameterError, SystemError } from "../../lib/errors";

/**
 * Published ports: validation of HostConfig.PortBindings at create, allocation of concrete
 * host ports at start (a free one for `-p 80`, the first free one of a range), and the
 * Docker-shaped views of the result.
 */

export type Protocol = "tcp" | "udp" | "sctp";

/** One concrete mapping, as the portmap CNI plugin takes it (its runtimeConfig.portMappings). */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

export type PortBindingsRequest = Record<string, Array<{ HostIp?: string | null; HostPort?: string | null }> | null>;

const PORT_KEY = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i;

function parseKey(key: string): { port: number; protocol: Protocol } {
  const m = PORT_KEY.exec(key);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new InvalidParameterError(`invalid port specification: "${key}"`);
  return { port: Number(m[1]), protocol: (m[2]?.toLowerCase() ?? "tcp") as Protocol };
}

function parseHostPort(value: string): { start: number; end: number } | undefined {
  if (value === "") return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(value);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start < 1 || end > 65535 || end < start) throw new InvalidParameterError(`invalid port specification: "${value}"`);
  return { start, end };
}

/** Rejects what the engine could never publish, at create time (Docker does too). */
export function validatePortBindings(bindings: PortBindingsRequest): void {
  for (const [key, list] of Object.entries(bindings)) {
    parseKey(key);
    for (const b of list ?? []) {
      parseHostPort(b.HostPort ?? "");
      const ip = b.HostIp ?? "";
      if (ip !== "" && net.isIPv4(ip) === false) {
        if (net.isIPv6(ip)) continue; // accepted and not published: wharf's bridge is IPv4 only
        throw new InvalidParameterError(`invalid IP address: ${ip}`);
      }
    }
  }
}

/** Bindings to publish: the explicit ones, plus every exposed port for -P. */
export function wantedBindings(bindings: PortBindingsRequest, publishAll: boolean, exposed: Record<string, unknown>): PortBindingsRequest {
  const out: PortBindingsRequest = { ...bindings };
  if (publishAll) {
    for (const key of Object.keys(exposed)) if (!out[key]?.length) out[key] = [{ HostIp: "", HostPort: "" }];
  }
  return out;
}

function probeTcp(host: string, port: number): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

function probeUdp(host: string, port: number): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err);
    });
    socket.bind({ address: host, port, exclusive: true }, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

/** Binds the port for a moment: a host process holding it (or the kernel picking one for 0). */
function probe(protocol: Protocol, host: string, port: number): Promise<number | NodeJS.ErrnoException> {
  if (protocol === "udp") return probeUdp(host, port);
  if (protocol === "tcp") return probeTcp(host, port);
  return Promise.resolve(port); // sctp: Node cannot bind it; only our own allocations are checked
}

function clashes(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === b.hostIP || a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0");
}

/**
 * Turns the wanted bindings into concrete mappings. `taken` are the mappings of running
 * containers. Errors carry Docker's texts; nothing is reserved, so a failure leaves nothing.
 */
export async function allocatePorts(bindings: PortBindingsRequest, taken: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const { port: containerPort, protocol } = parseKey(key);
    for (const b of list ?? []) {
      const hostIP = b.HostIp || "0.0.0.0";
      if (!net.isIPv4(hostIP)) continue;
      const range = parseHostPort(b.HostPort ?? "");
      const inUse = (m: PortMapping): boolean => [...taken, ...out].some((t) => clashes(t, m));
      let chosen: number | undefined;
      let lastError = "";
      if (!range) {
        for (let attempt = 0; attempt < 20 && chosen === undefined; attempt++) {
          const got = await probe(protocol, hostIP, 0);
          if (typeof got !== "number") throw new SystemError(`failed to bind host port for ${hostIP}:0: ${got.code ?? got.message}`);
          if (!inUse({ hostIP, hostPort: got, containerPort, protocol })) chosen = got;
        }
      } else {
        for (let p = range.start; p <= range.end && chosen === undefined; p++) {
          const mapping: PortMapping = { hostIP, hostPort: p, containerPort, protocol };
          if (inUse(mapping)) {
            lastError = `Bind for ${hostIP}:${p} failed: port is already allocated`;
            continue;
          }
          const got = await probe(protocol, hostIP, p);
          if (typeof got === "number") chosen = p;
          else lastError = `failed to bind host port for ${hostIP}:${p}:${containerPort}/${protocol}: ${got.code === "EADDRINUSE" ? "address already in use" : got.message}`;
        }
      }
      if (chosen === undefined) throw new SystemError(lastError || `no free host port for ${key}`);
      out.push({ hostIP, hostPort: chosen, containerPort, protocol });
    }
  }
  return out;
}

/** NetworkSettings.Ports: every exposed port (null when not published) and its bindings. */
export function portsView(exposed: Record<string, unknown>, mappings: PortMapping[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(exposed)) {
    const { port, protocol } = parseKey(key);
    out[`${port}/${protocol}`] = null;
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    (out[key] ??= []).push({ HostIp: m.hostIP, HostPort: String(m.hostPort) });
  }
  return out;
}

/** The Ports column of GET /containers/json. */
export function summaryPorts(exposed: Record<string, unknown>, mappings: PortMapping[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = mappings.map((m) => ({ IP: m.hostIP, PrivatePort: m.containerPort, PublicPort: m.hostPort, Type: m.protocol }));
  for (const key of Object.keys(exposed)) {
    const { port, protocol } = parseKey(key);
    if (!mappings.some((m) => m.containerPort === port && m.protocol === protocol)) out.push({ PrivatePort: port, Type: protocol });
  }
  return out;
}
