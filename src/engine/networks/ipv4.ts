import { InvalidParameterError } from "../../lib/errors";

/** IPv4 addresses and CIDR subnets as numbers: enough for IPAM configuration and overlap checks. */

export interface Subnet {
  /** Network address (host bits zero). */
  base: number;
  prefixLen: number;
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** "10.88.0.1/16" -> the address and its subnet; throws Docker's message for bad input. */
export function parseCidr(text: string): { address: number; subnet: Subnet } {
  const [ip, len, extra] = text.split("/");
  const address = parseIPv4(ip ?? "");
  const prefixLen = Number(len);
  if (address === undefined || extra !== undefined || len === undefined || !/^\d+$/.test(len) || prefixLen > 32) {
    throw new InvalidParameterError(`invalid CIDR address: ${text}`);
  }
  return { address, subnet: { base: (address & mask(prefixLen)) >>> 0, prefixLen } };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefixLen}`;
}

export function subnetContains(s: Subnet, address: number): boolean {
  return ((address & mask(s.prefixLen)) >>> 0) === s.base;
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return subnetContains(a, b.base) || subnetContains(b, a.base);
}
