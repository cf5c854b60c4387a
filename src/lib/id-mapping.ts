/**
 * A container's user-namespace mapping: ids 0..size-1 inside are uidBase.. / gidBase.. on the
 * host. One contiguous range per kind is all wharf hands out (a pool slot, or a remap user's
 * first subordinate range).
 */
export interface IdMapping {
  uidBase: number;
  gidBase: number;
  size: number;
}

/** The /proc/PID/uid_map line for a range (also the text the native addon writes). */
export function mapText(base: number, size: number): string {
  return `0 ${base} ${size}\n`;
}

/** The host id for an id inside the namespace; ids outside the range have no host id (-1). */
export function toHostId(id: number, base: number, size: number): number {
  return id >= 0 && id < size ? base + id : -1;
}

/** The id inside the namespace for a host id, or -1 when the host id is not mapped. */
export function toContainerId(hostId: number, base: number, size: number): number {
  return hostId >= base && hostId < base + size ? hostId - base : -1;
}

/** What an unmapped id shows as inside a user namespace (the kernel's overflow id). */
export const OVERFLOW_ID = 65534;
