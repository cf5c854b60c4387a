import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { InvalidParameterError } from "./errors";

/** "sha256:" followed by 64 lowercase hex digits: the only digest form wharf stores. */
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: unknown): value is string {
  return typeof value === "string" && DIGEST_RE.test(value);
}

/** Throws InvalidParameterError unless `value` is "sha256:<64 hex>". */
export function assertDigest(value: unknown, what = "digest"): string {
  if (!isDigest(value)) {
    throw new InvalidParameterError(`invalid ${what}: ${JSON.stringify(value)} (expected sha256:<64 hex digits>)`);
  }
  return value;
}

/** "sha256:abc..." -> "abc..." (validated). */
export function digestHex(digest: string): string {
  return assertDigest(digest).slice(7);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The chain id of a layer: identifies the layer together with everything below it, so the same
 * diff on two different bases unpacks to two snapshots. chainId(L0) = diffId(L0);
 * chainId(Ln) = sha256(chainId(Ln-1) + " " + diffId(Ln)).
 */
export function chainId(parentChainId: string | undefined, diffId: string): string {
  return parentChainId ? sha256(`${parentChainId} ${diffId}`) : diffId;
}

/** Chain ids for a list of diff ids, bottom layer first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  let parent: string | undefined;
  for (const diffId of diffIds) {
    parent = chainId(parent, diffId);
    out.push(parent);
  }
  return out;
}

/**
 * A pass-through that hashes what flows through it. `digest()` and `size` are valid once the
 * stream has ended.
 */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private result: string | undefined;
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest("hex")}`;
    cb();
  }

  digest(): string {
    if (this.result === undefined) throw new Error("DigestStream: digest() before the stream ended");
    return this.result;
  }
}

/** Reads a stream to its end and returns its digest and length. */
export async function digestOfStream(input: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of input) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}
