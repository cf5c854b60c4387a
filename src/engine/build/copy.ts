import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidParameterError } from "../../lib/errors";
import { resolveInRoot } from "../../lib/tar/resolve";
import { compileGlob, type GlobMatcher, GlobSyntaxError } from "../../lib/glob";

/**
 * COPY/ADD sources: resolution inside a root (the build context or another stage's / image's
 * root filesystem) without escaping it, Go filepath.Match globs, a content+metadata hash for
 * the build cache, and the copy itself (owners set, modes optionally forced, links kept).
 */

export interface Source {
  /** What the user wrote, cleaned, relative to the root ("" for the root itself). */
  rel: string;
  /** Absolute path inside the root (symlinks resolved inside it). */
  abs: string;
  isDir: boolean;
}

const GLOB_CHARS = /[*?[]/;

export function hasGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

/** Cleans a source path; a path that climbs above the root is refused. */
export function cleanSource(cmd: string, src: string): string {
  const out: string[] = [];
  for (const part of src.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw new InvalidParameterError(`${cmd} failed: forbidden path outside the build context: ${src} ()`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}

/** One path component's glob (Go's filepath.Match, as COPY uses it), in linear time. */
function componentGlob(pattern: string): GlobMatcher {
  try {
    return compileGlob(pattern, { strict: true });
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
    throw err;
  }
}

/** Resolves one source (globs expanded) to the paths it names, in sorted order. */
export function resolveSources(cmd: string, root: string, src: string, fromContext: boolean): Source[] {
  const rel = cleanSource(cmd, src);
  const make = (r: string): Source => {
    const abs = resolveInRoot(root, r, true);
    const st = fs.statSync(abs);
    return { rel: r, abs, isDir: st.isDirectory() };
  };
  if (!hasGlob(rel)) {
    try {
      return [make(rel)];
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
      throw new InvalidParameterError(
        fromContext
          ? `${cmd} failed: file not found in build context or excluded by .dockerignore: stat ${rel}: file does not exist`
          : `${cmd} failed: stat ${rel}: file does not exist`,
      );
    }
  }
  let candidates = [""];
  for (const part of rel.split("/")) {
    const next: string[] = [];
    for (const base of candidates) {
      if (!hasGlob(part)) {
        const r = base ? `${base}/${part}` : part;
        if (exists(root, r)) next.push(r);
        continue;
      }
      const re = componentGlob(part);
      let names: string[] = [];
      try {
        names = fs.readdirSync(resolveInRoot(root, base, true));
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    candidates = next;
  }
  return candidates.map(make);
}

function exists(root: string, rel: string): boolean {
  try {
    fs.statSync(resolveInRoot(root, rel, true));
    return true;
  } catch {
    return false;
  }
}

/** sha256 over names, types, modes, link targets and contents (not times or owners). */
export function hashSources(sources: Source[], skip?: (abs: string) => boolean): string {
  const h = createHash("sha256");
  const walk = (abs: string, name: string): void => {
    if (skip?.(abs)) return;
    const st = fs.lstatSync(abs);
    h.update(`${name}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(fs.readlinkSync(abs));
    else if (st.isFile()) h.update(fs.readFileSync(abs));
    else if (st.isDirectory()) for (const n of fs.readdirSync(abs).sort()) walk(path.join(abs, n), `${name}/${n}`);
    h.update("\0");
  };
  for (const s of sources) walk(s.abs, s.rel);
  return h.digest("hex");
}

export interface CopyOptions {
  uid: number;
  gid: number;
  /** --chmod: forced on every copied file and directory. */
  mode?: number;
  /** --exclude: source paths not copied (nor, for a directory, anything under it). */
  skip?: (srcAbs: string) => boolean;
}

/**
 * Copies `srcAbs` (a file, a link or a directory's contents when `contents`) to root-relative
 * `destRel` in `root`, resolving every destination path inside the root.
 */
export function copyInto(root: string, srcAbs: string, destRel: string, opts: CopyOptions, contents: boolean): void {
  if (opts.skip?.(srcAbs)) return;
  const st = fs.lstatSync(srcAbs);
  if (st.isDirectory()) {
    const dest = ensureDir(root, destRel, opts);
    for (const name of fs.readdirSync(srcAbs).sort()) copyInto(root, path.join(srcAbs, name), path.posix.join(destRel, name), opts, false);
    if (!contents) applyMeta(dest, st, opts);
    return;
  }
  const parent = path.posix.dirname(destRel);
  ensureDir(root, parent === "." ? "" : parent, opts);
  const dest = resolveInRoot(root, destRel, false);
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(dest);
  } catch {
    existing = undefined;
  }
  if (existing) {
    if (existing.isDirectory()) throw new InvalidParameterError(`cannot copy to non-directory: ${destRel}`);
    fs.unlinkSync(dest);
  }
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(srcAbs), dest);
    fs.lchownSync(dest, opts.uid, opts.gid);
    return;
  }
  if (!st.isFile()) return; // devices, fifos and sockets are not copied from a context
  fs.copyFileSync(srcAbs, dest);
  applyMeta(dest, st, opts);
}

function applyMeta(dest: string, st: fs.Stats, opts: CopyOptions): void {
  fs.lchownSync(dest, opts.uid, opts.gid);
  fs.chmodSync(dest, opts.mode ?? st.mode & 0o7777);
  fs.utimesSync(dest, st.atime, st.mtime);
}

/** mkdir -p inside the root; new directories are 0755 and owned as the copy. */
export function ensureDir(root: string, rel: string, opts: CopyOptions): string {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  let cur = "";
  let abs = root;
  for (const part of parts) {
    cur = cur ? `${cur}/${part}` : part;
    abs = resolveInRoot(root, cur, true);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(abs);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) throw new InvalidParameterError(`cannot create directory ${cur}: not a directory`);
      continue;
    }
    fs.mkdirSync(abs, { mode: 0o755 });
    fs.chmodSync(abs, 0o755);
    fs.lchownSync(abs, opts.uid, opts.gid);
  }
  return abs;
}

/** A local archive ADD extracts: tar, possibly gzip-compressed. */
export function isArchive(abs: string): boolean {
  const fd = fs.openSync(abs, "r");
  try {
    const buf = Buffer.alloc(262);
    const n = fs.readSync(fd, buf, 0, 262, 0);
    if (n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    return n >= 262 && buf.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    fs.closeSync(fd);
  }
}
