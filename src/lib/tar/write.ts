import * as fs from "node:fs";
import * as path from "node:path";
import * as tar from "tar-stream";
import { native } from "../native";
import { OVERLAY_OPAQUE_XATTR, OVERLAY_XATTR_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from "./whiteout";

/**
 * Writes a directory as a tar stream: names sorted (byte order), numeric owners, no atime/ctime,
 * so the same tree always gives the same bytes. Long names and links go into PAX headers (by
 * tar-stream). Overlay whiteouts (0:0 char devices, trusted.overlay.opaque dirs) are written
 * back as `.wh.NAME` / `.wh..wh..opq` entries, as in an OCI layer.
 */

export interface PackOptions {
  /** Convert overlay whiteouts to `.wh.` entries (default true); false writes them as devices. */
  whiteouts?: boolean;
  /** One mtime for every entry, for reproducible output. */
  mtime?: Date;
  /** Root-relative paths (no leading "/") to leave out, with everything below them. */
  exclude?: string[];
  /** Owners as written (a user-namespaced container's files go back to the ids its image uses). */
  mapOwner?: (uid: number, gid: number) => { uid: number; gid: number };
}

type HeaderArgument = Partial<tar.Header> & Pick<tar.Header, "name"> & { pax?: Record<string, string> };
type Sink = ReturnType<tar.Pack["entry"]>;

/** The largest id the 7-digit octal ustar field holds (tar-stream writes 6 digits + NUL). */
const MAX_USTAR_ID = 0o777777;
/** xattrs that describe the host, not the image. */
const SKIPPED_XATTRS = new Set(["security.selinux"]);

export function packDirectory(root: string, opts: PackOptions = {}): tar.Pack {
  const pack = tar.pack();
  const exclude = new Set((opts.exclude ?? []).map((p) => p.replace(/^\/+|\/+$/g, "")));
  const writer = new DirectoryWriter(pack, opts.whiteouts ?? true, opts.mtime, exclude, opts.mapOwner);
  writer.walk(root, "").then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return pack;
}

class DirectoryWriter {
  /** "dev:ino" -> first name, so later names of the same file become hard links. */
  private readonly inodes = new Map<string, string>();

  constructor(
    private readonly pack: tar.Pack,
    private readonly whiteouts: boolean,
    private readonly mtime: Date | undefined,
    private readonly exclude: Set<string>,
    private readonly mapOwner?: PackOptions["mapOwner"],
  ) {}

  async walk(absDir: string, relDir: string): Promise<void> {
    const names = (await fs.promises.readdir(absDir)).sort(compareBytes);
    for (const name of names) {
      const abs = path.join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      if (this.exclude.has(rel)) continue;
      const st = await fs.promises.lstat(abs);
      await this.writeEntry(abs, rel, st);
      if (st.isDirectory()) await this.walk(abs, rel);
    }
  }

  private base(rel: string, st: fs.Stats, pax: Record<string, string>): HeaderArgument {
    const { uid, gid } = this.mapOwner ? this.mapOwner(st.uid, st.gid) : st;
    const header: HeaderArgument = {
      name: rel,
      // The full st_mode: tar-stream masks it to 0o7777 but would replace a plain 0 by 0644.
      mode: st.mode,
      uid: Math.min(uid, MAX_USTAR_ID),
      gid: Math.min(gid, MAX_USTAR_ID),
      mtime: this.mtime ?? new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    };
    if (uid > MAX_USTAR_ID) pax.uid = String(uid);
    if (gid > MAX_USTAR_ID) pax.gid = String(gid);
    return header;
  }

  private async writeEntry(abs: string, rel: string, st: fs.Stats): Promise<void> {
    const pax = xattrPax(abs);
    const header = this.base(rel, st, pax);
    const withPax = (h: HeaderArgument): HeaderArgument => (Object.keys(pax).length ? { ...h, pax } : h);

    if (st.isCharacterDevice() && st.rdev === 0 && this.whiteouts) {
      const parent = path.posix.dirname(rel);
      const name = `${parent === "." ? "" : parent + "/"}${WHITEOUT_PREFIX}${path.posix.basename(rel)}`;
      await this.add({ ...header, name, type: "file", size: 0, mode: 0o100600 });
      return;
    }
    if (st.isDirectory()) {
      const opaque = this.whiteouts && native().lgetxattr(abs, OVERLAY_OPAQUE_XATTR)?.toString() === "y";
      await this.add(withPax({ ...header, name: `${rel}/`, type: "directory", size: 0 }));
      if (opaque) {
        await this.add({ ...header, name: `${rel}/${WHITEOUT_OPAQUE}`, type: "file", size: 0, mode: 0o100000 | (st.mode & 0o777) });
      }
      return;
    }
    if (st.isSymbolicLink()) {
      const linkname = await fs.promises.readlink(abs);
      await this.add(withPax({ ...header, type: "symlink", linkname, size: 0 }));
      return;
    }
    if (st.isFile()) {
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = this.inodes.get(key);
        if (first !== undefined) {
          await this.add({ ...header, type: "link", linkname: first, size: 0 });
          return;
        }
        this.inodes.set(key, rel);
      }
      await this.addFile(withPax({ ...header, type: "file", size: st.size }), abs);
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isFIFO() ? "fifo" : st.isBlockDevice() ? "block-device" : "character-device";
      await this.add(withPax({ ...header, type, size: 0, devmajor: major(st.rdev), devminor: minor(st.rdev) }));
    }
    // Sockets cannot be represented in a tar; like Docker, leave them out.
  }

  /** Entries without content; an (empty) regular file still needs its empty body written. */
  private add(header: HeaderArgument): Promise<void> {
    return new Promise((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (header.type === "file") this.pack.entry(header, Buffer.alloc(0), cb);
      else this.pack.entry(header, cb);
    });
  }

  private async addFile(header: HeaderArgument, abs: string): Promise<void> {
    let sink!: Sink;
    const done = new Promise<void>((resolve, reject) => {
      sink = this.pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
    const fh = await fs.promises.open(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      let remaining = header.size ?? 0;
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(remaining, 1)));
      while (remaining > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, remaining), null);
        if (bytesRead === 0) throw new Error(`${abs}: file shrank while being archived`);
        remaining -= bytesRead;
        if (!sink.write(Buffer.from(buf.subarray(0, bytesRead)))) {
          await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
        }
      }
    } catch (err) {
      sink.destroy(err as Error);
      throw err;
    } finally {
      await fh.close();
    }
    sink.end(undefined); // streamx types want an argument; undefined ends without data
    await done;
  }
}

function xattrPax(abs: string): Record<string, string> {
  const pax: Record<string, string> = {};
  let names: string[];
  try {
    names = native().llistxattr(abs);
  } catch {
    return pax;
  }
  for (const name of names.sort()) {
    if (name.startsWith(OVERLAY_XATTR_PREFIX) || SKIPPED_XATTRS.has(name)) continue;
    const value = native().lgetxattr(abs, name);
    if (!value) continue;
    // tar-stream writes PAX values as UTF-8 text; a binary value would be mangled, so skip it.
    const text = value.toString("utf8");
    if (!Buffer.from(text, "utf8").equals(value)) continue;
    pax[`SCHILY.xattr.${name}`] = text;
  }
  return pax;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** glibc's major()/minor() for a 64-bit dev_t held in a JS number. */
function major(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32);
  return (((dev >>> 8) & 0xfff) | (hi & 0xfffff000)) >>> 0;
}

function minor(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32);
  return ((dev & 0xff) | ((dev >>> 12) & 0xfff00) | ((hi & 0xfff) << 20)) >>> 0;
}
