/**
 * The registry's filesystem storage under its root:
 *
 *   blobs/<alg>/<hex[0:2]>/<hex>                          content (layers, configs, manifests)
 *   repositories/<name>/_layers/<alg>/<hex>               the blob belongs to the repository
 *   repositories/<name>/_manifests/revisions/<alg>/<hex>  a manifest of the repository (holds its media type)
 *   repositories/<name>/_manifests/tags/<tag>             the tag's digest
 *   repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>  subject -> referrer
 *   uploads/<uuid>/{info.json,data}                       upload sessions in progress
 *   tmp/                                                  files on their way to a rename
 *
 * Every committed file is written aside, fsynced and renamed into place, so a crash leaves
 * either the old state or the new one; an interrupted upload only leaves its session.
 */
import { createHash, randomUUID, type Hash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { finished, PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { KeyedLock } from "../../lib/keyed-lock";
import { RegistryError } from "./errors";
import { parseDigest, type ParsedDigest } from "./names";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface UploadInfo {
  name: string;
  startedAt: string;
}

/** Running hash of an upload whose chunks all went through this process. */
interface UploadHash {
  hash: Hash;
  size: number;
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.stat(p);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function readText(p: string): Promise<string | null> {
  try {
    return await fsp.readFile(p, "utf8");
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Makes a rename in `dir` durable (a power loss after it keeps the new name). */
async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Counts bytes and fails past `limit`. */
class Limiter extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly onChunk?: (chunk: Buffer) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new RegistryError("SIZE_INVALID", `blob exceeds the size limit of ${this.limit} bytes`, undefined, 413));
    this.onChunk?.(chunk);
    cb(null, chunk);
  }
}

export class Storage {
  private readonly locks = new KeyedLock();
  private readonly hashes = new Map<string, UploadHash>();

  constructor(
    readonly root: string,
    readonly maxBlobSize = 64 * 1024 ** 3,
  ) {}

  async init(): Promise<void> {
    for (const dir of ["blobs", "repositories", "uploads", "tmp"]) await fsp.mkdir(path.join(this.root, dir), { recursive: true });
  }

  // ---- paths -------------------------------------------------------------------------------
  blobPath(d: ParsedDigest): string {
    return path.join(this.root, "blobs", d.algorithm, d.hex.slice(0, 2), d.hex);
  }
  repoDir(name: string): string {
    return path.join(this.root, "repositories", ...name.split("/"));
  }
  private layerLink(name: string, d: ParsedDigest): string {
    return path.join(this.repoDir(name), "_layers", d.algorithm, d.hex);
  }
  private revisionLink(name: string, d: ParsedDigest): string {
    return path.join(this.repoDir(name), "_manifests", "revisions", d.algorithm, d.hex);
  }
  private tagLink(name: string, tag: string): string {
    return path.join(this.repoDir(name), "_manifests", "tags", tag);
  }
  private referrersDir(name: string, subject: ParsedDigest): string {
    return path.join(this.repoDir(name), "_referrers", subject.algorithm, subject.hex);
  }
  private uploadDir(uuid: string): string {
    return path.join(this.root, "uploads", uuid);
  }

  /** Writes `data` to `dest` atomically (temp file, fsync, rename). */
  async writeAtomic(dest: string, data: Buffer | string): Promise<void> {
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(this.root, "tmp", randomUUID());
    const fh = await fsp.open(tmp, "w", 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await syncDir(path.dirname(dest));
  }

  // ---- blobs -------------------------------------------------------------------------------
  async blobSize(d: ParsedDigest): Promise<number | null> {
    try {
      return (await fsp.stat(this.blobPath(d))).size;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The blob's size when it exists and belongs to the repository. */
  async repoBlobSize(name: string, d: ParsedDigest): Promise<number | null> {
    if (!(await exists(this.layerLink(name, d)))) return null;
    return this.blobSize(d);
  }

  /**
   * Marks a blob as just used (its mtime): gc spares blobs younger than its grace period, so
   * a manifest put while gc runs keeps what it references.
   */
  async touchBlob(d: ParsedDigest): Promise<void> {
    const now = new Date();
    await fsp.utimes(this.blobPath(d), now, now).catch(() => undefined);
  }

  async linkBlob(name: string, d: ParsedDigest): Promise<void> {
    await this.writeAtomic(this.layerLink(name, d), d.digest);
  }

  async unlinkBlob(name: string, d: ParsedDigest): Promise<boolean> {
    try {
      await fsp.unlink(this.layerLink(name, d));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  readBlob(d: ParsedDigest, start?: number, end?: number): fs.ReadStream {
    return fs.createReadStream(this.blobPath(d), { start, end, highWaterMark: 1024 * 1024 });
  }

  // ---- uploads -----------------------------------------------------------------------------
  async startUpload(name: string): Promise<string> {
    const uuid = randomUUID();
    const dir = this.uploadDir(uuid);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, "data"), "");
    const info: UploadInfo = { name, startedAt: new Date().toISOString() };
    // A session need not survive a power loss (the client starts again): no fsync here.
    await fsp.writeFile(path.join(dir, "info.json"), JSON.stringify(info));
    this.hashes.set(uuid, { hash: createHash("sha256"), size: 0 });
    return uuid;
  }

  /** The upload's current size; BLOB_UPLOAD_UNKNOWN unless it exists for this repository. */
  async uploadSize(name: string, uuid: string): Promise<number> {
    if (!UUID_RE.test(uuid)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    const text = await readText(path.join(this.uploadDir(uuid), "info.json"));
    if (text === null) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    let info: UploadInfo;
    try {
      info = JSON.parse(text) as UploadInfo;
    } catch {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    }
    if (info.name !== name) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    try {
      return (await fsp.stat(path.join(this.uploadDir(uuid), "data"))).size;
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
      throw err;
    }
  }

  /**
   * Appends a chunk. `start` (from Content-Range) must equal the current size; `length`
   * (Content-Length) must match what arrives. A failed chunk is cut off again, so the session
   * stays where it was. Returns the new size.
   */
  async appendUpload(name: string, uuid: string, body: Readable, start?: number, length?: number): Promise<number> {
    return this.locks.run(uuid, async () => {
      const size = await this.uploadSize(name, uuid);
      if (start !== undefined && start !== size) {
        throw new RegistryError("RANGE_INVALID", `chunk starts at ${start}, upload has ${size} bytes`, undefined, 416, {
          Range: `0-${Math.max(size - 1, 0)}`,
          "Docker-Upload-UUID": uuid,
          Location: `/v2/${name}/blobs/uploads/${uuid}`,
        });
      }
      const running = this.hashes.get(uuid);
      const hash = running && running.size === size ? running : undefined;
      if (!hash) this.hashes.delete(uuid);
      const limiter = new Limiter(this.maxBlobSize - size, (chunk) => hash?.hash.update(chunk));
      const file = path.join(this.uploadDir(uuid), "data");
      // The request goes through a PassThrough so that a failed chunk does not destroy the
      // request (and its socket): the error still gets answered.
      const src = new PassThrough();
      // finished() also reports a request that was gone before we got here.
      const stopWatching = finished(body, (err) => {
        if (err) src.destroy(new Error(`the client went away mid-chunk (${err.message})`));
      });
      body.pipe(src);
      try {
        await pipeline(src, limiter, fs.createWriteStream(file, { flags: "a" }));
        if (length !== undefined && limiter.bytes !== length) {
          throw new RegistryError("SIZE_INVALID", `received ${limiter.bytes} bytes, Content-Length said ${length}`);
        }
      } catch (err) {
        this.hashes.delete(uuid);
        await fsp.truncate(file, size).catch(() => undefined);
        throw err instanceof RegistryError ? err : new RegistryError("BLOB_UPLOAD_INVALID", `upload failed: ${(err as Error).message}`);
      } finally {
        stopWatching();
        body.unpipe(src);
      }
      if (hash) hash.size = size + limiter.bytes;
      return size + limiter.bytes;
    });
  }

  /** Verifies the finished upload against `digest` and commits it as a blob of `name`. */
  async commitUpload(name: string, uuid: string, d: ParsedDigest): Promise<number> {
    return this.locks.run(uuid, async () => {
      const size = await this.uploadSize(name, uuid);
      const file = path.join(this.uploadDir(uuid), "data");
      const running = this.hashes.get(uuid);
      let actual: string;
      if (running && running.size === size && d.algorithm === "sha256") {
        actual = `sha256:${running.hash.digest("hex")}`;
      } else {
        const h = createHash(d.algorithm);
        await pipeline(fs.createReadStream(file), async function* (src) {
          for await (const chunk of src) h.update(chunk as Buffer);
        });
        actual = `${d.algorithm}:${h.digest("hex")}`;
      }
      this.hashes.delete(uuid);
      if (actual !== d.digest) {
        await this.removeUpload(uuid);
        throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", { expected: d.digest, actual });
      }
      const fh = await fsp.open(file, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const dest = this.blobPath(d);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      // Same content under the same name: a concurrent push of the same blob replaces it with
      // identical bytes, and readers holding the old file keep reading it.
      await fsp.rename(file, dest);
      await syncDir(path.dirname(dest));
      await this.linkBlob(name, d);
      await this.removeUpload(uuid);
      return size;
    });
  }

  async cancelUpload(name: string, uuid: string): Promise<void> {
    await this.locks.run(uuid, async () => {
      await this.uploadSize(name, uuid);
      this.hashes.delete(uuid);
      await this.removeUpload(uuid);
    });
  }

  private async removeUpload(uuid: string): Promise<void> {
    await fsp.rm(this.uploadDir(uuid), { recursive: true, force: true });
  }

  /** Upload sessions older than `maxAgeMs` (for gc). */
  async staleUploads(maxAgeMs: number): Promise<string[]> {
    const out: string[] = [];
    const dir = path.join(this.root, "uploads");
    for (const uuid of await fsp.readdir(dir).catch(() => [] as string[])) {
      const st = await fsp.stat(path.join(dir, uuid)).catch(() => null);
      if (st && Date.now() - st.mtimeMs > maxAgeMs) out.push(uuid);
    }
    return out;
  }

  async dropUpload(uuid: string): Promise<void> {
    if (UUID_RE.test(uuid)) await this.removeUpload(uuid);
  }

  // ---- manifests ---------------------------------------------------------------------------
  async resolveTag(name: string, tag: string): Promise<string | null> {
    const text = await readText(this.tagLink(name, tag));
    return text === null ? null : text.trim();
  }

  async getManifest(name: string, reference: string): Promise<ManifestRecord | null> {
    let digest = reference;
    if (!reference.includes(":")) {
      const resolved = await this.resolveTag(name, reference);
      if (resolved === null) return null;
      digest = resolved;
    }
    const d = parseDigest(digest);
    if (!d) return null;
    const mediaType = await readText(this.revisionLink(name, d));
    if (mediaType === null) return null;
    try {
      return { digest, mediaType, body: await fsp.readFile(this.blobPath(d)) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async hasManifest(name: string, d: ParsedDigest): Promise<boolean> {
    return (await exists(this.revisionLink(name, d))) && (await exists(this.blobPath(d)));
  }

  async putManifest(name: string, tag: string | null, d: ParsedDigest, mediaType: string, body: Buffer, subject?: ParsedDigest): Promise<void> {
    await this.writeAtomic(this.blobPath(d), body);
    await this.writeAtomic(this.revisionLink(name, d), mediaType);
    if (subject) await this.writeAtomic(path.join(this.referrersDir(name, subject), `${d.algorithm}-${d.hex}`), d.digest);
    if (tag !== null) await this.writeAtomic(this.tagLink(name, tag), d.digest);
  }

  /** Removes a manifest revision, every tag that points at it and its referrer entry. */
  async deleteManifest(name: string, d: ParsedDigest): Promise<boolean> {
    const record = await this.getManifest(name, d.digest);
    if (!record) return false;
    for (const tag of (await this.listTags(name)) ?? []) {
      if ((await this.resolveTag(name, tag)) === d.digest) await fsp.rm(this.tagLink(name, tag), { force: true });
    }
    try {
      const subject = (JSON.parse(record.body.toString("utf8")) as { subject?: { digest?: string } }).subject?.digest;
      const sd = subject ? parseDigest(subject) : null;
      if (sd) await fsp.rm(path.join(this.referrersDir(name, sd), `${d.algorithm}-${d.hex}`), { force: true });
    } catch {
      // not JSON: it had no subject
    }
    await fsp.rm(this.revisionLink(name, d), { force: true });
    return true;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    try {
      await fsp.unlink(this.tagLink(name, tag));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async repoExists(name: string): Promise<boolean> {
    const dir = this.repoDir(name);
    return (await exists(path.join(dir, "_manifests"))) || (await exists(path.join(dir, "_layers")));
  }

  /** Sorted tags, or null when the repository is unknown. */
  async listTags(name: string): Promise<string[] | null> {
    if (!(await this.repoExists(name))) return null;
    const tags = await fsp.readdir(path.join(this.repoDir(name), "_manifests", "tags")).catch(() => [] as string[]);
    return tags.sort();
  }

  /** Digests of every manifest revision of a repository. */
  async listRevisions(name: string): Promise<ParsedDigest[]> {
    const out: ParsedDigest[] = [];
    const base = path.join(this.repoDir(name), "_manifests", "revisions");
    for (const alg of await fsp.readdir(base).catch(() => [] as string[])) {
      for (const hex of await fsp.readdir(path.join(base, alg)).catch(() => [] as string[])) {
        const d = parseDigest(`${alg}:${hex}`);
        if (d) out.push(d);
      }
    }
    return out;
  }

  /** Digests of every blob linked into a repository. */
  async listLayerLinks(name: string): Promise<ParsedDigest[]> {
    const out: ParsedDigest[] = [];
    const base = path.join(this.repoDir(name), "_layers");
    for (const alg of await fsp.readdir(base).catch(() => [] as string[])) {
      for (const hex of await fsp.readdir(path.join(base, alg)).catch(() => [] as string[])) {
        const d = parseDigest(`${alg}:${hex}`);
        if (d) out.push(d);
      }
    }
    return out;
  }

  /** Every repository, sorted (directories holding _manifests or _layers). */
  async listRepos(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
      if (prefix && entries.some((e) => e.name === "_manifests" || e.name === "_layers")) out.push(prefix);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith("_")) await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(path.join(this.root, "repositories"), "");
    return out.sort();
  }

  /** Descriptors of the manifests whose subject is `subject`. */
  async referrers(name: string, subject: ParsedDigest): Promise<Descriptor[]> {
    const dir = this.referrersDir(name, subject);
    const out: Descriptor[] = [];
    for (const entry of (await fsp.readdir(dir).catch(() => [] as string[])).sort()) {
      const dash = entry.indexOf("-");
      const d = parseDigest(`${entry.slice(0, dash)}:${entry.slice(dash + 1)}`);
      if (!d) continue;
      const record = await this.getManifest(name, d.digest);
      if (!record) continue;
      let parsed: { artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string> } = {};
      try {
        parsed = JSON.parse(record.body.toString("utf8"));
      } catch {
        continue;
      }
      const desc: Descriptor = { mediaType: record.mediaType, digest: d.digest, size: record.body.length };
      const artifactType = parsed.artifactType ?? parsed.config?.mediaType;
      if (artifactType) desc.artifactType = artifactType;
      if (parsed.annotations && Object.keys(parsed.annotations).length > 0) desc.annotations = parsed.annotations;
      out.push(desc);
    }
    return out;
  }

  /** Every blob in the store (for gc). */
  async listBlobs(): Promise<ParsedDigest[]> {
    const out: ParsedDigest[] = [];
    const base = path.join(this.root, "blobs");
    for (const alg of await fsp.readdir(base).catch(() => [] as string[])) {
      for (const fan of await fsp.readdir(path.join(base, alg)).catch(() => [] as string[])) {
        for (const hex of await fsp.readdir(path.join(base, alg, fan)).catch(() => [] as string[])) {
          const d = parseDigest(`${alg}:${hex}`);
          if (d) out.push(d);
        }
      }
    }
    return out;
  }
}
