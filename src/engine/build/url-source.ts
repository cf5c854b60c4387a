import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { request } from "undici";
import { errorMessage } from "../../lib/errors";

/** What ADD of an http(s) URL downloaded. */
export interface Download {
  /** The downloaded file (mode 0600 as Docker's, mtime from Last-Modified when the server sent one). */
  file: string;
  /** The name the file takes in a directory destination: the URL path's last part. */
  name: string;
  /** sha256:… of the content. */
  digest: string;
  lastModified?: string;
}

const MAX_REDIRECTS = 10;
const TIMEOUT_MS = 120_000;

/**
 * Downloads `url` into `dir` for ADD (by the daemon: the client sends only the Dockerfile's
 * words). `checksum` (ADD --checksum=sha256:…) is verified before the file is used. Errors are
 * plain messages for the caller to put the Dockerfile line in front of.
 */
export async function downloadUrl(url: string, dir: string, opts: { checksum?: string; signal?: AbortSignal }): Promise<Download> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid URL ${url}`);
  }
  const expected = opts.checksum === undefined ? undefined : parseChecksum(opts.checksum);
  const name = decodeURIComponent(parsed.pathname.split("/").pop() ?? "");
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(parsed, {
      method: "GET",
      maxRedirections: MAX_REDIRECTS,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      signal: opts.signal,
    });
  } catch (err) {
    throw new Error(`failed to GET ${url}: ${describeNetworkError(err)}`);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => undefined);
    throw new Error(`failed to GET ${url} with status ${res.statusCode}${statusText(res.statusCode)}`);
  }
  const file = path.join(dir, `download-${fs.readdirSync(dir).length}`);
  const hash = createHash("sha256");
  try {
    await pipeline(
      res.body,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      fs.createWriteStream(file, { mode: 0o600 }),
    );
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw new Error(`failed to GET ${url}: ${describeNetworkError(err)}`);
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (expected && digest !== expected) {
    fs.rmSync(file, { force: true });
    throw new Error(`checksum mismatch for ${url}: expected ${expected}, got ${digest}`);
  }
  fs.chmodSync(file, 0o600);
  const header = res.headers["last-modified"];
  const lastModified = Array.isArray(header) ? header[0] : header;
  const mtime = lastModified ? new Date(lastModified) : undefined;
  if (mtime && !Number.isNaN(mtime.getTime())) fs.utimesSync(file, mtime, mtime);
  return { file, name, digest, lastModified: mtime && !Number.isNaN(mtime.getTime()) ? mtime.toISOString() : undefined };
}

/** --checksum's value: sha256:<64 hex> (the only algorithm Docker's classic and BuildKit ADD take for URLs). */
export function parseChecksum(value: string): string {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(value);
  if (!m) throw new Error(`invalid checksum digest format "${value}": expected sha256:<64 hex digits>`);
  return `sha256:${m[1].toLowerCase()}`;
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  const message = errorMessage(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

function statusText(code: number): string {
  return REASONS[code] ? ` ${REASONS[code]}` : "";
}
