import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Path handling that never leaves a root directory: tar entry names are cleaned lexically, and
 * existing path components are resolved one by one with symlinks interpreted *inside* the root
 * (an absolute link target means root-relative, ".." stops at the root), the way a chroot would.
 */

const MAX_SYMLINK_HOPS = 40;

export class PathEscapeError extends Error {
  constructor(
    readonly entryName: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(entryName)}: ${reason}`);
  }
}

/**
 * Cleans an archive entry name to a root-relative path ("" is the root itself). A leading "/"
 * is neutralised (the name is taken relative to the root); a ".." that would climb above the
 * root is rejected.
 */
export function cleanEntryName(name: string): string {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw new PathEscapeError(name, "path escapes the root");
      out.pop();
      continue;
    }
    if (part.includes("\0")) throw new PathEscapeError(name, "path contains a NUL byte");
    out.push(part);
  }
  return out.join("/");
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Resolves root-relative `rel` to an absolute path inside `root`. Every existing component but
 * the last is resolved through symlinks within the root; the last is followed only with
 * `followFinal`. Missing components are kept as they are (the caller may create them).
 * Throws ENOTDIR when a non-directory is used as a directory and ELOOP on symlink loops.
 * `root` must be an absolute path without symlinks.
 */
export function resolveInRoot(root: string, rel: string, followFinal = false): string {
  const pending = components(rel);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const last = pending.length === 0;
    if (last && !followFinal) {
      resolved.push(part);
      break;
    }
    const candidate = path.join(root, ...resolved, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      resolved.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw errnoError("ELOOP", `too many levels of symbolic links: ${rel}`);
      const target = fs.readlinkSync(candidate);
      if (target.startsWith("/")) resolved.length = 0;
      pending.unshift(...components(target));
      continue;
    }
    if (!st.isDirectory() && !last) throw errnoError("ENOTDIR", `not a directory: ${path.join(...resolved, part)}`);
    resolved.push(part);
  }
  return resolved.length ? path.join(root, ...resolved) : root;
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  err.code = code;
  return err;
}

/** True when `p` is `root` or below it (lexically). */
export function isWithin(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !path.isAbsolute(rel));
}
