import { InvalidParameterError } from "../../lib/errors";
import type { CreateContainerRequest } from "./create-request";

const nonEmpty = (v: unknown): boolean =>
  Array.isArray(v) ? v.length > 0 : v !== null && typeof v === "object" ? Object.keys(v).length > 0 : false;

/**
 * Options that make no sense with another container's network (or the host's), refused at
 * create with Docker's words: the joined namespace has its own name, DNS, hosts and ports.
 */
export function validateNetworkModeOptions(req: CreateContainerRequest): void {
  const hc = req.HostConfig ?? {};
  const mode = typeof hc.NetworkMode === "string" ? hc.NetworkMode : "";
  const joins = mode.startsWith("container:");
  const conflict = (what: string): never => {
    throw new InvalidParameterError(`conflicting options: ${what}`);
  };
  if (joins && mode.slice("container:".length) === "") {
    throw new InvalidParameterError("Invalid network mode: invalid container format container:<name|id>");
  }
  const endpoints = (req.NetworkingConfig as { EndpointsConfig?: Record<string, { MacAddress?: string | null } | null> } | null | undefined)?.EndpointsConfig ?? {};
  const mac = Object.values(endpoints).some((ep) => !!ep?.MacAddress);
  if (!joins) {
    if (mode === "host" && mac) conflict("mac-address and the network mode");
    return;
  }
  if (req.Hostname) conflict("hostname and the network mode");
  if (nonEmpty(hc.Links)) conflict("container type network can't be used with links. This would result in undefined behavior");
  if (nonEmpty(hc.Dns)) conflict("dns and the network mode");
  if (nonEmpty(hc.ExtraHosts)) conflict("custom host-to-IP mapping and the network mode");
  if (mac) conflict("mac-address and the network mode");
  if (nonEmpty(hc.PortBindings) || hc.PublishAllPorts) conflict("port publishing and the container type network mode");
  if (nonEmpty(req.ExposedPorts)) conflict("port exposing and the container type network mode");
}
