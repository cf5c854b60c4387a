import * as fs from "node:fs";

/**
 * The release (`uname -r` in the guest) of a kernel image, for `info`: read from the image
 * itself so it is right for --vm-kernel too. A bzImage's header points at its version string;
 * an uncompressed vmlinux carries the "Linux version …" banner somewhere in its data.
 */

const BANNER = Buffer.from("Linux version ");
const CHUNK = 1 << 20;

/** The version string of a bzImage (boot protocol ≥ 2.00: offset at 0x20e, relative to 0x200). */
function bzImageRelease(fd: number): string | undefined {
  const header = Buffer.alloc(0x210);
  if (fs.readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
  if (header.toString("latin1", 0x202, 0x206) !== "HdrS") return undefined;
  const text = Buffer.alloc(128);
  const n = fs.readSync(fd, text, 0, text.length, header.readUInt16LE(0x20e) + 0x200);
  return text.toString("latin1", 0, n).split(/[\s\0]/)[0] || undefined;
}

/** The first "Linux version <release> " banner in the file, read a chunk at a time. */
function bannerRelease(fd: number): string | undefined {
  const buf = Buffer.alloc(CHUNK + 256);
  let carried = 0;
  for (let position = 0, chunks = 0; chunks < 512; chunks++) {
    const n = fs.readSync(fd, buf, carried, CHUNK, position);
    if (n <= 0) return undefined;
    position += n;
    const filled = carried + n;
    const at = buf.subarray(0, filled).indexOf(BANNER);
    if (at >= 0 && at + BANNER.length + 64 <= filled) {
      return buf.toString("latin1", at + BANNER.length, at + BANNER.length + 64).split(/[\s\0]/)[0];
    }
    // Keep the tail: the banner may straddle two chunks.
    carried = Math.min(256, filled);
    buf.copy(buf, 0, filled - carried, filled);
  }
  return undefined;
}

export function kernelRelease(kernel: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(kernel, "r");
    return bzImageRelease(fd) ?? bannerRelease(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
