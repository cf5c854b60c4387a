import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { DigestStream } from "../digest";
import { InvalidParameterError } from "../errors";
import { native, nativeErrno } from "../native";
import { decompress, type Compression } from "./decompress";
import { cleanEntryName, PathEscapeError, resolveInRoot } from "./resolve";
import {
  OVERLAY_OPAQUE_XATTR,
  OVERLAY_XATTR_PREFIX,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from "./whiteout";

/**
 * Applies one layer tar to a directory the way overlayfs wants it on disk: whiteouts become
 * 0:0 character devices, opaque markers become the trusted.overlay.opaque xattr. Ownership,
 * modes, mtimes, hard links, symlinks, devices and xattrs are kept. Nothing is ever written
 * outside `root`: names are cleaned, parents resolved inside the root (see resolve.ts), and
 * existing files are replaced, never written through.
 */

export interface ApplyOptions {
  /** Receives the uncompressed tar in order, e.g. to keep it as a blob; awaited (backpressure). */
  sink?: (chunk: Buffer) => Promise<void>;
  /** Owner of every extracted entry instead of the archive's (docker cp without -a). */
  owner?: { uid: number; gid: number };
  /** The archive's owners as written on disk (docker cp -a into a user-namespaced container). */
  mapOwner?: (uid: number, gid: number) => { uid: number; gid: number };
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Length of the uncompressed tar. */
  tarSize: number;
  /** sha256 and length of the input as given (compressed or not). */
  rawDigest: string;
  rawSize: number;
  compression: Compression;
  /** Bytes of regular file content written (hard links counted once). */
  size: number;
}

const O_NOFOLLOW = fs.constants.O_NOFOLLOW;
const IGNORED_XATTR_ERRNOS = new Set([1 /* EPERM */, 95 /* ENOTSUP */, 61 /* ENODATA */]);

type Header = tar.Header & { pax?: Record<string, string> | null };

interface Ctx {
  root: string;
  size: number;
  /** Directory mtimes are set last: creating children would change them again. */
  dirTimes: Array<{ path: string; mtime: Date }>;
  owner?: { uid: number; gid: number };
  mapOwner?: ApplyOptions["mapOwner"];
}

/**
 * Completes a tar that stops right after its last entry's data (no padding to 512 bytes, no
 * end-of-archive blocks: umoci 0.4 writes layers like that), as GNU tar accepts it. It follows
 * the headers just enough to know where each entry's data ends, and pads only when the data
 * is all there: a tar cut short inside an entry still fails. The digests and the kept tar are
 * taken before this, from the bytes as they came.
 */
export function completeTarEnd(): Transform {
  let offset = 0;
  /** Where the next header starts (entries' data is padded to 512 bytes). */
  let nextHeader = 0;
  /** Where the current entry's data ends (unpadded). */
  let dataEnd = 0;
  let header = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      let pos = 0;
      while (pos < chunk.length) {
        const at = offset + pos;
        if (at < nextHeader) {
          pos += Math.min(chunk.length - pos, nextHeader - at);
          continue;
        }
        const take = Math.min(512 - header.length, chunk.length - pos);
        header = Buffer.concat([header, chunk.subarray(pos, pos + take)]);
        pos += take;
        if (header.length < 512) break;
        const size = header.every((b) => b === 0) ? 0 : entrySize(header);
        const start = at - (header.length - take) + 512;
        dataEnd = start + size;
        nextHeader = start + Math.ceil(size / 512) * 512;
        header = Buffer.alloc(0);
      }
      offset += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      // Only a stream that ends between a complete entry and its padding is completed.
      if (header.length === 0 && offset >= dataEnd && offset < nextHeader + 512) {
        cb(null, Buffer.alloc(Math.max(0, nextHeader - offset) + 1024));
      } else cb();
    },
  });
}

/** The size field of a tar header: octal text, or base-256 when its top bit is set. */
function entrySize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = field.toString("ascii").replace(/\0.*$/, "").trim();
  return text === "" ? 0 : parseInt(text, 8) || 0;
}

export async function applyLayer(root: string, input: Readable, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const ctx: Ctx = { root: fs.realpathSync(root), size: 0, dirTimes: [], owner: opts.owner, mapOwner: opts.mapOwner };
  const raw = new DigestStream();
  const feedRaw = pipeline(input, raw);
  feedRaw.catch(() => undefined); // awaited below; this only prevents an unhandled rejection
  let compression: Compression = "none";
  try {
    const decompressed = await decompress(raw);
    compression = decompressed.compression;
    const tarDigest = new DigestStream();
    const extract = tar.extract();
    const feedTar = pipeline(decompressed.stream, tarDigest, sinkStream(opts.sink), completeTarEnd(), extract);
    feedTar.catch(() => undefined);
    try {
      for await (const entry of extract) {
        await applyEntry(ctx, entry.header as Header, entry);
      }
      await feedTar;
    } catch (err) {
      extract.destroy();
      decompressed.stream.destroy();
      const feedErr: unknown = await feedTar.then(() => undefined, (e: unknown) => e);
      throw wrapTarError(rootCause(err, feedErr));
    }
    await feedRaw;
    // lutimes: a later entry may have replaced the directory with a symlink; never follow it.
    for (const { path: p, mtime } of ctx.dirTimes) if (lstatOrUndefined(p)) fs.lutimesSync(p, mtime, mtime);
    return {
      diffId: tarDigest.digest(),
      tarSize: tarDigest.size,
      rawDigest: raw.digest(),
      rawSize: raw.size,
      compression,
      size: ctx.size,
    };
  } catch (err) {
    raw.destroy();
    input.destroy();
    await feedRaw.catch(() => undefined);
    throw err;
  }
}

/**
 * Copies the tar to `sink` while it is unpacked: a chunk's sink write runs alongside the
 * unpacking of that chunk (one write in flight, in order), so the two disk writes overlap.
 */
function sinkStream(sink: ApplyOptions["sink"]): Transform {
  let inFlight: Promise<void> = Promise.resolve();
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (!sink) return cb(null, chunk);
      inFlight.then(
        () => {
          inFlight = sink(chunk);
          inFlight.catch(() => undefined); // reported by the next chunk or by flush
          cb(null, chunk);
        },
        (err: Error) => cb(err),
      );
    },
    flush(cb: TransformCallback) {
      inFlight.then(() => cb(), (err: Error) => cb(err));
    },
  });
}

/**
 * When tar-stream's iterator only says "Stream was destroyed", the real reason (a truncated
 * archive, a gzip error, a client that went away) is the error that ended the feeding pipeline.
 */
export function rootCause(iterErr: unknown, feedErr: unknown): unknown {
  if (feedErr && iterErr instanceof Error && /^Stream was destroyed$|premature close/i.test(iterErr.message)) return feedErr;
  return iterErr;
}

/** Malformed archives are the client's fault (400); disk errors stay what they are. */
function wrapTarError(err: unknown): unknown {
  if (err instanceof InvalidParameterError) return err;
  if (err instanceof Error && /tar header|Unexpected end of data|Header exceeds|incorrect header check|unexpected end of file|invalid (block|stored|distance|code)/i.test(err.message)) {
    return new InvalidParameterError(`invalid tar archive: ${err.message}`);
  }
  return err;
}

function bad(name: string, reason: string): InvalidParameterError {
  return new InvalidParameterError(`invalid tar entry ${JSON.stringify(name)}: ${reason}`);
}

/** Resolves a root-relative path inside the root, turning resolution failures into 400s. */
function resolve(ctx: Ctx, rel: string, entryName: string, followFinal: boolean): string {
  try {
    return resolveInRoot(ctx.root, rel, followFinal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "ELOOP") throw bad(entryName, (err as Error).message);
    throw err;
  }
}

/** Resolves and creates (0755, like Docker) the directory `rel`; returns its real path. */
function ensureDir(ctx: Ctx, rel: string, entryName: string): string {
  const dir = resolve(ctx, rel, entryName, true);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (!st) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  else if (!st.isDirectory()) throw bad(entryName, `${path.relative(ctx.root, dir)} is not a directory`);
  return dir;
}

function removeAll(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of stream) void chunk;
}

function paxNumber(h: Header, key: string): number | undefined {
  const v = h.pax?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function owner(ctx: Ctx, h: Header): { uid: number; gid: number } {
  if (ctx.owner) return ctx.owner;
  const uid = paxNumber(h, "uid") ?? h.uid ?? 0;
  const gid = paxNumber(h, "gid") ?? h.gid ?? 0;
  return ctx.mapOwner ? ctx.mapOwner(uid, gid) : { uid, gid };
}

function mtimeOf(h: Header): Date {
  const pax = paxNumber(h, "mtime");
  if (pax !== undefined) return new Date(pax * 1000);
  return h.mtime ?? new Date(0);
}

/** SCHILY.xattr.* (GNU tar, Go) as text; LIBARCHIVE.xattr.* (bsdtar) base64-encoded. */
function xattrsOf(h: Header): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of Object.entries(h.pax ?? {})) {
    if (key.startsWith("SCHILY.xattr.")) out.push([key.slice(13), Buffer.from(value, "utf8")]);
    else if (key.startsWith("LIBARCHIVE.xattr.")) {
      out.push([decodeURIComponent(key.slice(17)), Buffer.from(value, "base64")]);
    }
  }
  return out.filter(([name]) => !name.startsWith(OVERLAY_XATTR_PREFIX));
}

function setXattrs(p: string, h: Header): void {
  for (const [name, value] of xattrsOf(h)) {
    try {
      native().lsetxattr(p, name, value);
    } catch (err) {
      // As Docker: a filesystem without (this kind of) xattrs is not a reason to fail the layer.
      if (!IGNORED_XATTR_ERRNOS.has(nativeErrno(err) ?? -1)) throw err;
    }
  }
}

async function applyEntry(ctx: Ctx, h: Header, entry: AsyncIterable<unknown>): Promise<void> {
  let rel: string;
  try {
    rel = cleanEntryName(h.name);
  } catch (err) {
    await drain(entry);
    if (err instanceof PathEscapeError) throw bad(h.name, err.reason);
    throw err;
  }
  const base = path.posix.basename(rel);
  const parentRel = path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel);

  if (base.startsWith(WHITEOUT_PREFIX)) {
    await drain(entry);
    applyWhiteout(ctx, h, parentRel, base);
    return;
  }

  if (rel === "") {
    await drain(entry);
    if (h.type !== "directory") throw bad(h.name, "the root can only be a directory");
    applyMetadata(ctx, ctx.root, h, true);
    return;
  }

  const parent = ensureDir(ctx, parentRel, h.name);
  const target = path.join(parent, base);
  const existing = lstatOrUndefined(target);
  if (existing && !(existing.isDirectory() && h.type === "directory")) removeAll(target);

  const mode = (h.mode ?? 0o644) & 0o7777;
  switch (h.type) {
    case "directory":
      await drain(entry);
      if (!existing || !existing.isDirectory()) fs.mkdirSync(target, { mode: 0o700 });
      applyMetadata(ctx, target, h, true);
      return;
    case "file":
    case "contiguous-file":
      await writeFile(ctx, target, h, entry, mode);
      return;
    case "symlink":
      await drain(entry);
      if (!h.linkname) throw bad(h.name, "symlink without a target");
      fs.symlinkSync(h.linkname, target);
      applyMetadata(ctx, target, h, false);
      return;
    case "link": {
      await drain(entry);
      if (!h.linkname) throw bad(h.name, "hard link without a target");
      let linkRel: string;
      try {
        linkRel = cleanEntryName(h.linkname);
      } catch (err) {
        if (err instanceof PathEscapeError) throw bad(h.name, `hard link target ${JSON.stringify(h.linkname)} escapes the root`);
        throw err;
      }
      if (linkRel === "") throw bad(h.name, "hard link to the root");
      const source = resolve(ctx, linkRel, h.name, false);
      const st = lstatOrUndefined(source);
      if (!st) throw bad(h.name, `hard link target ${JSON.stringify(h.linkname)} does not exist`);
      if (st.isDirectory()) throw bad(h.name, `hard link target ${JSON.stringify(h.linkname)} is a directory`);
      fs.linkSync(source, target);
      return;
    }
    case "character-device":
    case "block-device":
    case "fifo": {
      await drain(entry);
      const kind = h.type === "fifo" ? S_IFIFO : h.type === "block-device" ? S_IFBLK : S_IFCHR;
      native().mknod(target, kind | mode, h.devmajor ?? 0, h.devminor ?? 0);
      applyMetadata(ctx, target, h, false);
      return;
    }
    default:
      await drain(entry);
      throw bad(h.name, `unsupported tar entry type ${String(h.type)}`);
  }
}

function applyWhiteout(ctx: Ctx, h: Header, parentRel: string, base: string): void {
  if (base === WHITEOUT_OPAQUE) {
    const dir = ensureDir(ctx, parentRel, h.name);
    native().lsetxattr(dir, OVERLAY_OPAQUE_XATTR, Buffer.from("y"));
    return;
  }
  // Other .wh..wh.* names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): nothing to do.
  if (base.startsWith(WHITEOUT_META_PREFIX)) return;
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === "" || name === "." || name === "..") throw bad(h.name, "invalid whiteout name");
  const parent = ensureDir(ctx, parentRel, h.name);
  const target = path.join(parent, name);
  if (lstatOrUndefined(target)) removeAll(target);
  native().mknod(target, S_IFCHR, 0, 0);
  const { uid, gid } = owner(ctx, h);
  fs.lchownSync(target, uid, gid);
}

/** Ownership first (chown clears setuid bits), then mode, xattrs, times. Never follows symlinks. */
function applyMetadata(ctx: Ctx, p: string, h: Header, isDir: boolean): void {
  const { uid, gid } = owner(ctx, h);
  fs.lchownSync(p, uid, gid);
  if (h.type !== "symlink") fs.chmodSync(p, (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777);
  setXattrs(p, h);
  const mtime = mtimeOf(h);
  if (isDir) ctx.dirTimes.push({ path: p, mtime });
  else fs.lutimesSync(p, mtime, mtime);
}

async function writeFile(ctx: Ctx, target: string, h: Header, entry: AsyncIterable<unknown>, mode: number): Promise<void> {
  // O_EXCL|O_NOFOLLOW: the path was just cleared; anything there now is not ours to follow.
  const fh = await fs.promises.open(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o600);
  try {
    let written = 0;
    for await (const chunk of entry) {
      const buf = chunk as Buffer;
      await fh.write(buf, 0, buf.length);
      written += buf.length;
    }
    ctx.size += written;
    const { uid, gid } = owner(ctx, h);
    await fh.chown(uid, gid);
    await fh.chmod(mode);
    setXattrs(target, h);
    const mtime = mtimeOf(h);
    await fh.utimes(mtime, mtime);
  } finally {
    await fh.close();
  }
}
