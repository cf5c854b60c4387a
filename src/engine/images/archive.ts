import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { InvalidParameterError } from "../../lib/errors";
import { rootCause } from "../../lib/tar/apply";
import { decompress } from "../../lib/tar/decompress";
import { cleanEntryName, PathEscapeError, resolveInRoot } from "../../lib/tar/resolve";

/**
 * Strict unpacking of an image archive (docker save / OCI layout) into a private temp dir.
 * Unlike a layer, an archive has no business with devices, absolute names or "..": any entry
 * that names a path outside the archive root, or goes through a symlink, rejects the whole
 * archive. Symlinks themselves are kept (docker save links shared layer.tar files) and are only
 * ever followed inside the root (see `archivePath`).
 */

function refuse(name: string, reason: string): InvalidParameterError {
  return new InvalidParameterError(`invalid archive: entry ${JSON.stringify(name)} ${reason}`);
}

export async function extractArchive(input: Readable, dir: string): Promise<void> {
  const root = fs.realpathSync(dir);
  const { stream } = await decompress(input);
  const extract = tar.extract();
  const feeding = pipeline(stream, extract);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      try {
        await extractEntry(root, h, entry);
      } finally {
        entry.resume();
      }
    }
    await feeding;
  } catch (caught) {
    extract.destroy();
    stream.destroy();
    const err = rootCause(caught, await feeding.then(() => undefined, (e: unknown) => e));
    if (err instanceof InvalidParameterError) throw err;
    if (err instanceof Error && /tar header|Unexpected end of data|incorrect header check|unexpected end of file/i.test(err.message)) {
      throw new InvalidParameterError(`invalid archive: ${err.message}`);
    }
    throw err;
  }
}

async function extractEntry(root: string, h: tar.Header, entry: AsyncIterable<unknown>): Promise<void> {
  if (h.name.startsWith("/")) throw refuse(h.name, "has an absolute path");
  let rel: string;
  try {
    rel = cleanEntryName(h.name);
  } catch (err) {
    if (err instanceof PathEscapeError) throw refuse(h.name, "escapes the archive root");
    throw err;
  }
  if (rel === "") return; // "./"
  const parts = rel.split("/");
  // Parents must be real directories: never create anything through a symlink.
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(dir);
    } catch {
      fs.mkdirSync(dir, { mode: 0o700 });
      continue;
    }
    if (!st.isDirectory()) throw refuse(h.name, "goes through a symlink or a file");
  }
  const target = path.join(root, ...parts);
  const existing = fs.existsSync(target) || isSymlink(target);
  switch (h.type) {
    case "directory":
      if (!existing) fs.mkdirSync(target, { mode: 0o700 });
      else if (!fs.lstatSync(target).isDirectory()) throw refuse(h.name, "replaces a file with a directory");
      return;
    case "file":
    case "contiguous-file": {
      if (existing) throw refuse(h.name, "appears twice");
      const fh = await fs.promises.open(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of entry) await fh.write(chunk as Buffer);
      } finally {
        await fh.close();
      }
      return;
    }
    case "symlink":
      if (existing) throw refuse(h.name, "appears twice");
      if (!h.linkname) throw refuse(h.name, "is a symlink without a target");
      fs.symlinkSync(h.linkname, target);
      return;
    case "link": {
      if (existing) throw refuse(h.name, "appears twice");
      let linkRel: string;
      try {
        linkRel = cleanEntryName(h.linkname ?? "");
      } catch {
        throw refuse(h.name, "links outside the archive root");
      }
      const source = resolveInRoot(root, linkRel, false);
      if (!fs.existsSync(source) || !fs.lstatSync(source).isFile()) throw refuse(h.name, "links to a missing or non-regular file");
      fs.linkSync(source, target);
      return;
    }
    default:
      throw refuse(h.name, `has an unsupported type (${String(h.type)})`);
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Resolves a path named by the archive's own metadata (manifest.json, index.json) to a regular
 * file inside the extracted root, following symlinks only within it.
 */
export function archivePath(root: string, name: string, what: string): string {
  if (typeof name !== "string" || name === "") throw new InvalidParameterError(`invalid archive: empty path for ${what}`);
  let rel: string;
  try {
    rel = cleanEntryName(name);
  } catch {
    throw new InvalidParameterError(`invalid archive: ${what} path ${JSON.stringify(name)} escapes the archive root`);
  }
  let resolved: string;
  try {
    resolved = resolveInRoot(root, rel, true);
  } catch (err) {
    throw new InvalidParameterError(`invalid archive: ${what} ${JSON.stringify(name)}: ${(err as Error).message}`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(resolved);
  } catch {
    throw new InvalidParameterError(`invalid archive: ${what} ${JSON.stringify(name)} is missing`);
  }
  if (!st.isFile()) throw new InvalidParameterError(`invalid archive: ${what} ${JSON.stringify(name)} is not a file`);
  return resolved;
}

const MAX_JSON = 16 * 1024 * 1024;

/** Reads a small metadata file (JSON, configs) from the archive, bounded in size. */
export function readArchiveFile(file: string, what: string): Buffer {
  const st = fs.statSync(file);
  if (st.size > MAX_JSON) throw new InvalidParameterError(`invalid archive: ${what} is too large (${st.size} bytes)`);
  return fs.readFileSync(file);
}
