import { createHash, randomBytes, type Hash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { assertDigest, digestHex } from "../lib/digest";
import { InvalidParameterError } from "../lib/errors";

/**
 * Blobs by digest under DATAROOT/content/blobs/sha256/<hex>. A blob is written to a temp file in
 * the same directory, fsynced, checked against the expected digest, then renamed into place, so
 * a blob that exists is always complete and correct. Failed or aborted writes remove their
 * temp file; temp files left by a crash are removed when the store opens.
 */
export class ContentStore {
  readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = path.join(dataRoot, "content", "blobs", "sha256");
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.removeTempFiles();
  }

  path(digest: string): string {
    return path.join(this.dir, digestHex(digest));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  /** Size in bytes, or undefined when absent. */
  size(digest: string): number | undefined {
    try {
      return fs.statSync(this.path(digest)).size;
    } catch {
      return undefined;
    }
  }

  /** Small blobs (configs, manifests) are read whole. */
  readSync(digest: string): Buffer {
    return fs.readFileSync(this.path(digest));
  }

  async read(digest: string): Promise<Buffer> {
    return fs.promises.readFile(this.path(digest));
  }

  createReadStream(digest: string): fs.ReadStream {
    return fs.createReadStream(this.path(digest));
  }

  /** Stores a buffer; with `expected`, refuses content that does not match it. */
  async put(data: Buffer, expected?: string): Promise<{ digest: string; size: number }> {
    const writer = this.writer();
    try {
      await writer.write(data);
      return await writer.commit(expected);
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  /** Stores a stream; with `expected`, refuses content that does not match it. */
  async ingest(input: Readable, expected?: string): Promise<{ digest: string; size: number }> {
    const writer = this.writer();
    try {
      for await (const chunk of input) await writer.write(chunk as Buffer);
      return await writer.commit(expected);
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  /** A streaming writer: write(), then commit() or abort(). */
  writer(): BlobWriter {
    return new BlobWriter(this);
  }

  /** Removes a blob; absent is fine. */
  async delete(digest: string): Promise<void> {
    await fs.promises.rm(this.path(digest), { force: true });
  }

  /** All stored digests (for garbage collection and tests). */
  list(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`);
  }

  /** @internal temp file name for a writer. */
  tempPath(): string {
    return path.join(this.dir, `.tmp-${randomBytes(8).toString("hex")}`);
  }

  private removeTempFiles(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (name.startsWith(".tmp-")) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }
}

export class BlobWriter {
  private readonly hash: Hash = createHash("sha256");
  private readonly temp: string;
  private fh: fs.promises.FileHandle | undefined;
  private opening: Promise<fs.promises.FileHandle> | undefined;
  private done = false;
  size = 0;

  constructor(private readonly store: ContentStore) {
    this.temp = store.tempPath();
  }

  private async handle(): Promise<fs.promises.FileHandle> {
    if (this.fh) return this.fh;
    this.opening ??= fs.promises.open(this.temp, "wx", 0o600);
    this.fh = await this.opening;
    return this.fh;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.done) throw new Error("BlobWriter: write after commit/abort");
    const fh = await this.handle();
    this.hash.update(chunk);
    this.size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }

  /** Verifies (when `expected` is given), fsyncs and renames into place. */
  async commit(expected?: string, expectedSize?: number): Promise<{ digest: string; size: number }> {
    if (this.done) throw new Error("BlobWriter: commit after commit/abort");
    this.done = true;
    const fh = await this.handle();
    try {
      const digest = `sha256:${this.hash.digest("hex")}`;
      if (expected !== undefined && assertDigest(expected) !== digest) {
        throw new InvalidParameterError(`digest mismatch: expected ${expected}, got ${digest}`);
      }
      if (expectedSize !== undefined && expectedSize !== this.size) {
        throw new InvalidParameterError(`size mismatch for ${digest}: expected ${expectedSize} bytes, got ${this.size}`);
      }
      await fh.sync();
      await fh.close();
      this.fh = undefined;
      await fs.promises.rename(this.temp, this.store.path(digest));
      await syncDir(this.store.dir);
      return { digest, size: this.size };
    } catch (err) {
      await this.cleanup();
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    if (this.opening && !this.fh) {
      try {
        this.fh = await this.opening;
      } catch {
        // never opened: nothing to close
      }
    }
    if (this.fh) {
      await this.fh.close().catch(() => undefined);
      this.fh = undefined;
    }
    await fs.promises.rm(this.temp, { force: true });
  }
}

/** fsync a directory so a rename in it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
