import { z } from "zod";
import { ConflictError, ForbiddenError, InvalidParameterError, NotFoundError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { type Subnet, formatIPv4, formatSubnet, parseCidr, parseIPv4, subnetContains, subnetsOverlap } from "./ipv4";
import type { NetworkRecord } from "./types";

/** POST /networks/create as Docker clients send it. */
export const createNetworkSchema = z
  .object({
    Name: z.string(),
    Driver: z.string().nullish(),
    Internal: z.boolean().nullish(),
    Attachable: z.boolean().nullish(),
    EnableIPv6: z.boolean().nullish(),
    CheckDuplicate: z.boolean().nullish(),
    IPAM: z
      .object({
        Driver: z.string().nullish(),
        Config: z.array(z.object({ Subnet: z.string().nullish(), Gateway: z.string().nullish(), IPRange: z.string().nullish() }).passthrough()).nullish(),
        Options: z.record(z.string(), z.string()).nullish(),
      })
      .nullish(),
    Options: z.record(z.string(), z.string()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
  })
  .passthrough();
export type CreateNetworkRequest = z.infer<typeof createNetworkSchema>;

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** Docker's predefined networks: they cannot be created or removed by name. */
export const PREDEFINED = new Set(["bridge", "host", "none"]);

/** The first subnet of `size` bits in the pool that overlaps no existing network. */
function allocateSubnet(pool: { base: string; size: number }, taken: Subnet[]): Subnet {
  const { subnet: base } = parseCidr(pool.base);
  const step = 2 ** (32 - pool.size);
  const count = 2 ** (pool.size - base.prefixLen);
  for (let i = 0; i < count; i++) {
    const candidate: Subnet = { base: (base.base + i * step) >>> 0, prefixLen: pool.size };
    if (!taken.some((t) => subnetsOverlap(t, candidate))) return candidate;
  }
  throw new ForbiddenError("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}

const MAX_NAME_LENGTH = 255;

/** Validates a create request against the existing networks and builds the new record. */
export function buildNetwork(req: CreateNetworkRequest, existing: NetworkRecord[], pool: { base: string; size: number }): NetworkRecord {
  const name = req.Name;
  if (!name) throw new InvalidParameterError("invalid name: name is empty");
  if (!NAME_PATTERN.test(name)) throw new InvalidParameterError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  // host-local keeps its leases in a directory named after the network.
  if (name.length > MAX_NAME_LENGTH) throw new InvalidParameterError(`invalid network name: at most ${MAX_NAME_LENGTH} characters are allowed`);
  if (existing.some((n) => n.Name === name)) throw new ConflictError(`network with name ${name} already exists`);
  if (PREDEFINED.has(name)) throw new ForbiddenError(`operation is not permitted on predefined ${name} network`);
  const driver = req.Driver || "bridge";
  if (driver !== "bridge") throw new NotFoundError(`plugin "${driver}" not found`);
  if (req.EnableIPv6) throw new InvalidParameterError("IPv6 networks are not supported by wharf yet");

  const taken = existing.flatMap((n) => n.IPAM.Config.map((c) => parseCidr(c.Subnet).subnet));
  const configs = (req.IPAM?.Config ?? []).filter((c) => c.Subnet || c.Gateway || c.IPRange);
  if (configs.length > 1) throw new InvalidParameterError("wharf networks take one IPv4 subnet");
  const wanted = configs[0];
  let subnet: Subnet;
  if (wanted?.Subnet) {
    if (wanted.Subnet.includes(":")) throw new InvalidParameterError("IPv6 networks are not supported by wharf yet");
    const parsed = parseCidr(wanted.Subnet);
    if (parsed.subnet.base !== parsed.address) throw new InvalidParameterError(`invalid subnet ${wanted.Subnet}: it should be ${formatSubnet(parsed.subnet)}`);
    subnet = parsed.subnet;
    if (subnet.prefixLen > 30) throw new InvalidParameterError(`invalid subnet ${wanted.Subnet}: too small`);
    if (taken.some((t) => subnetsOverlap(t, subnet))) throw new ForbiddenError("invalid pool request: Pool overlaps with other one on this address space");
  } else {
    if (wanted?.Gateway || wanted?.IPRange) throw new InvalidParameterError("invalid pool request: a gateway or an ip-range needs a subnet");
    subnet = allocateSubnet(pool, taken);
  }
  let gateway = formatIPv4(subnet.base + 1);
  if (wanted?.Gateway) {
    const gw = parseIPv4(wanted.Gateway);
    if (gw === undefined) throw new InvalidParameterError(`invalid gateway address ${wanted.Gateway}`);
    if (!subnetContains(subnet, gw)) throw new InvalidParameterError(`invalid pool request: Gateway ${wanted.Gateway} is not within subnet ${formatSubnet(subnet)}`);
    gateway = wanted.Gateway;
  }
  if (wanted?.IPRange) {
    const range = parseCidr(wanted.IPRange);
    if (!subnetContains(subnet, range.subnet.base) || range.subnet.prefixLen < subnet.prefixLen) {
      throw new InvalidParameterError(`invalid pool request: IPRange ${wanted.IPRange} is not within subnet ${formatSubnet(subnet)}`);
    }
  }

  const id = newId();
  const options = { ...(req.Options ?? {}) };
  const bridgeName = options[BRIDGE_NAME_OPTION] || `br-${id.slice(0, 12)}`;
  if (bridgeName.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridgeName)) throw new InvalidParameterError(`invalid bridge name ${bridgeName}`);
  if (existing.some((n) => n.Options[BRIDGE_NAME_OPTION] === bridgeName)) throw new ConflictError(`bridge name ${bridgeName} is already used by another network`);
  return {
    Name: name,
    Id: id,
    Created: new Date().toISOString(),
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: {
      Driver: req.IPAM?.Driver || "default",
      Options: req.IPAM?.Options ?? {},
      Config: [{ Subnet: formatSubnet(subnet), Gateway: gateway, ...(wanted?.IPRange ? { IPRange: wanted.IPRange } : {}) }],
    },
    Internal: req.Internal ?? false,
    Attachable: req.Attachable ?? false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Options: { ...options, [BRIDGE_NAME_OPTION]: bridgeName },
    Labels: req.Labels ?? {},
  };
}
