import * as fs from "node:fs";
import * as path from "node:path";
import { resolveInRoot } from "../../lib/tar/resolve";
import type { OciMount } from "../oci-spec";

/**
 * Volumes, bind mounts, tmpfs and the engine's /etc/hosts, /etc/resolv.conf and /etc/hostname
 * in the guest: one virtiofs share carries them all. virtiofsd starts in a mount namespace of
 * its own (`unshare --mount`, private) where each mount of config.json is made on top of the
 * container's root (bind, or tmpfs), `ro` ones remounted read-only; virtiofsd takes the tree
 * with its submounts (`announce_submounts`: the guest sees each as a mount of its own). The
 * host's mount table never sees them, and they go when virtiofsd exits.
 */

export interface GuestMount {
  /** "bind" (a host path) or "tmpfs". */
  kind: "bind" | "tmpfs";
  source: string;
  /** The mount point on the host, inside the container's root (symlinks resolved there). */
  target: string;
  readOnly: boolean;
  /** tmpfs: its mount options (size=, mode=, nosuid …). */
  options: string[];
}

/** The guest agent mounts these itself (its own /proc, /sys, /dev and devpts). */
function agentOwned(destination: string): boolean {
  const d = path.posix.normalize(destination);
  return ["/proc", "/sys", "/dev"].some((top) => d === top || d.startsWith(`${top}/`));
}

function isBind(m: OciMount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/**
 * The mounts of config.json the guest gets, with their mount points made inside `rootfs` (as
 * runc makes them: a directory, or an empty file for a file source). Parents come before
 * children (config.json's order). Nothing runs in the container yet, so resolving the
 * destination's symlinks inside the root and creating what is missing cannot race with it.
 */
export function prepareGuestMounts(rootfs: string, mounts: OciMount[]): GuestMount[] {
  const out: GuestMount[] = [];
  for (const m of mounts) {
    if (agentOwned(m.destination)) continue;
    const options = m.options ?? [];
    const kind = isBind(m) ? "bind" : m.type === "tmpfs" ? "tmpfs" : null;
    if (!kind) continue;
    const target = resolveInRoot(rootfs, m.destination, true);
    const sourceIsDir = kind === "tmpfs" || fs.statSync(m.source).isDirectory();
    if (sourceIsDir) fs.mkdirSync(target, { recursive: true, mode: 0o755 });
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      fs.closeSync(fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644));
    }
    const tmpfsOptions = options.filter((o) => o !== "ro" && o !== "rw" && /^[A-Za-z0-9_=.:-]+$/.test(o));
    out.push({ kind, source: kind === "tmpfs" ? "tmpfs" : m.source, target, readOnly: options.includes("ro"), options: kind === "tmpfs" ? tmpfsOptions : [] });
  }
  return out;
}

/**
 * The sh script that makes the mounts, then execs virtiofsd: its arguments are
 *   COUNT (KIND SOURCE TARGET ro|rw OPTIONS){COUNT} VIRTIOFSD ARGS...
 * (positional: no path is ever parsed by the shell).
 */
const MOUNT_SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  '  if [ "$1" = tmpfs ]; then mount -t tmpfs -o "${5:-rw}" tmpfs "$3" || exit 125',
  '  else mount --rbind "$2" "$3" || exit 125; fi',
  '  if [ "$4" = ro ]; then mount -o remount,bind,ro "$3" || exit 125; fi',
  '  shift 5; n=$((n-1))',
  'done',
  'exec "$@"',
].join("\n");

/** virtiofsd's argv, wrapped so it starts in a private mount namespace holding the mounts. */
export function wrapVirtiofsd(unshare: string, shell: string, virtiofsd: string, args: string[], mounts: GuestMount[]): string[] {
  const fields = mounts.flatMap((m) => [m.kind, m.source, m.target, m.readOnly ? "ro" : "rw", m.options.join(",")]);
  return [unshare, "--mount", "--propagation", "private", "--", shell, "-c", MOUNT_SCRIPT, "wharf-vm-mounts", String(mounts.length), ...fields, virtiofsd, ...args, "-o", "announce_submounts"];
}
