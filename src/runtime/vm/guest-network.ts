import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

/**
 * The guest's NIC on the container's network (Kata's "tcfilter" design). qemu opens a tap in
 * the shim's network namespace at create; by `start` the engine has put the CNI veth (address,
 * MAC, routes) into that same namespace. Here the tap comes up and tc redirects every frame
 * between veth and tap both ways, so the guest, given the veth's MAC and address, is the
 * endpoint on the bridge: published ports, DNS and other containers reach it as a runc one.
 * The veth keeps its address (CNI's DEL reads it to undo what it did); the namespace's own
 * stack never sees a frame, since tc takes them all at ingress.
 */

const run = promisify(execFile);

/** The tap qemu opens (`-netdev tap,ifname=…`), inside the shim's network namespace. */
export const GUEST_TAP = "tap0";
/** What the shim sends the agent before the process (the 'N' frame). */
export const NET_FILE = "net.bin";

export interface GuestNic {
  /** The veth inside the namespace (eth0). */
  veth: string;
  mac: string;
  address: string;
  prefix: number;
  gateway: string;
  mtu: number;
}

interface IpAddrEntry {
  ifname: string;
  mtu?: number;
  address?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

interface IpRouteEntry {
  dst?: string;
  gateway?: string;
  dev?: string;
}

function inNetns(netns: string, cmd: string, args: string[]): Promise<{ stdout: string }> {
  return run("nsenter", [`--net=${netns}`, "--", cmd, ...args], { timeout: 10_000 });
}

/** The first interface with an IPv4 address other than lo and the tap, or null (--network none). */
export function pickNic(addrs: IpAddrEntry[], routes: IpRouteEntry[]): GuestNic | null {
  const candidates = addrs
    // The names go into a shell command line: only what interface names are made of.
    .filter((a) => a.ifname !== "lo" && a.ifname !== GUEST_TAP && a.address && /^[A-Za-z0-9_.-]{1,15}$/.test(a.ifname))
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
  for (const a of candidates) {
    const inet = (a.addr_info ?? []).find((i) => i.family === "inet" && i.local);
    if (!inet?.local || !a.address) continue;
    const route = routes.find((r) => r.dst === "default" && r.dev === a.ifname && r.gateway);
    return { veth: a.ifname, mac: a.address, address: inet.local, prefix: inet.prefixlen ?? 32, gateway: route?.gateway ?? "", mtu: a.mtu ?? 1500 };
  }
  return null;
}

/** The 'N' payload the agent reads: mac address prefix gateway mtu, NUL-terminated. */
export function encodeGuestNic(nic: GuestNic): Buffer {
  return Buffer.from([nic.mac, nic.address, String(nic.prefix), nic.gateway, String(nic.mtu)].map((f) => `${f}\0`).join(""), "utf8");
}

/**
 * Joins tap and veth in the namespace of `shimPid` and writes the guest's settings for the
 * shim; does nothing (and the guest lets its NIC go) when the namespace has no network.
 */
export async function connectGuestNic(shimPid: number, stateDir: string): Promise<GuestNic | null> {
  const netns = `/proc/${shimPid}/ns/net`;
  const file = path.join(stateDir, NET_FILE);
  fs.rmSync(file, { force: true });
  const [addrs, routes] = await Promise.all([
    inNetns(netns, "ip", ["-j", "addr", "show"]).then((r) => JSON.parse(r.stdout || "[]") as IpAddrEntry[]),
    inNetns(netns, "ip", ["-j", "-4", "route", "show"]).then((r) => JSON.parse(r.stdout || "[]") as IpRouteEntry[]),
  ]);
  const nic = pickNic(addrs, routes);
  if (!nic) return null;
  // u32 "match everything" rather than matchall: not every kernel has cls_matchall.
  const redirect = (from: string, to: string): string =>
    `tc qdisc add dev ${from} ingress && tc filter add dev ${from} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${to}`;
  const script = [`ip link set ${GUEST_TAP} mtu ${nic.mtu} up`, redirect(nic.veth, GUEST_TAP), redirect(GUEST_TAP, nic.veth)].join(" && ");
  await inNetns(netns, "sh", ["-c", script]);
  fs.writeFileSync(file, encodeGuestNic(nic), { mode: 0o600 });
  return nic;
}
