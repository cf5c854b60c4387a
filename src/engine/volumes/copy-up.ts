import * as fs from "node:fs";
import { constants, type Stats } from "node:fs";
import * as path from "node:path";
import { native } from "../../lib/native";
import { resolveInRoot } from "../../lib/tar/resolve";
import { S_IFBLK, S_IFCHR, S_IFIFO } from "../../lib/tar/whiteout";

/**
 * Docker's volume copy-up: an empty volume mounted where the image has a directory is first
 * filled with that directory's content, keeping ownership, modes, times, xattrs, hard links,
 * symlinks and devices. The source is resolved inside the container root (a symlink at the
 * mount path cannot point the copy at the host), and nothing is ever followed: symlinks are
 * copied as symlinks, and every destination entry is created fresh (O_EXCL).
 */

/** What copyUp did: nothing when the image has no directory there or the volume has content. */
export type CopyUpResult = "copied" | "not-empty" | "no-source";

/** Entries copied between yields to the event loop (synchronous calls are ~5x faster here than the thread pool). */
const YIELD_EVERY = 256;

interface CopyState {
  links: Map<string, string>;
  count: number;
}

/**
 * Copies `<rootfs>/<dest>` (resolved within rootfs) into `volumeDir` when volumeDir is empty.
 * A non-directory at the path copies nothing (the caller decides whether that is an error).
 */
export async function copyUp(rootfs: string, dest: string, volumeDir: string): Promise<CopyUpResult> {
  const source = resolveInRoot(rootfs, dest, true);
  const st = fs.lstatSync(source, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) return "no-source";
  if (fs.readdirSync(volumeDir).length > 0) return "not-empty";
  const state: CopyState = { links: new Map(), count: 0 };
  for (const name of fs.readdirSync(source)) await copyEntry(path.join(source, name), path.join(volumeDir, name), state);
  copyMetadata(source, volumeDir, st);
  return "copied";
}

function devMajor(rdev: number): number {
  return Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
}

function devMinor(rdev: number): number {
  return Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
}

async function copyEntry(src: string, dst: string, state: CopyState): Promise<void> {
  if (++state.count % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
  const st = fs.lstatSync(src);
  if (!st.isDirectory() && st.nlink > 1) {
    // Hard links stay hard links (within the copy).
    const key = `${st.dev}:${st.ino}`;
    const first = state.links.get(key);
    if (first) {
      fs.linkSync(first, dst);
      return;
    }
    state.links.set(key, dst);
  }
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { mode: 0o700 });
    for (const name of fs.readdirSync(src)) await copyEntry(path.join(src, name), path.join(dst, name), state);
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
  } else if (st.isFile()) {
    copyFileNoFollow(src, dst);
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    native().mknod(dst, (st.isCharacterDevice() ? S_IFCHR : S_IFBLK) | 0o600, devMajor(st.rdev), devMinor(st.rdev));
  } else if (st.isFIFO()) {
    native().mknod(dst, S_IFIFO | 0o600, 0, 0);
  } else {
    return; // sockets are not copied (Docker skips them too)
  }
  copyMetadata(src, dst, st);
}

/** Opens the source without following a link and creates the target exclusively. */
function copyFileNoFollow(src: string, dst: string): void {
  const input = fs.openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const output = fs.openSync(dst, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = fs.readSync(input, buf, 0, buf.length, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += fs.writeSync(output, buf, off, n - off);
      }
    } finally {
      fs.closeSync(output);
    }
  } finally {
    fs.closeSync(input);
  }
}

/** Owner, then mode (chown clears set-id bits), xattrs and times; symlinks get owner and times only. */
function copyMetadata(src: string, dst: string, st: Stats): void {
  fs.lchownSync(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(dst, st.mode & 0o7777);
  for (const name of safeList(src)) {
    const value = native().lgetxattr(src, name);
    if (value === null) continue;
    try {
      native().lsetxattr(dst, name, value);
    } catch {
      // An attribute the volume's filesystem refuses (e.g. trusted.* on tmpfs) is skipped, as cp -a does.
    }
  }
  fs.lutimesSync(dst, st.atime, st.mtime);
}

function safeList(p: string): string[] {
  try {
    return native().llistxattr(p);
  } catch {
    return [];
  }
}
