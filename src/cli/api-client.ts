/**
 * Client of the Docker Engine API that wharfd serves. Uses node:http rather than undici:
 * measured here, `require("undici")` costs 75-90 ms (its Client alone ~30 ms) against ~4 ms
 * for node:http, and the CLI's startup is benchmarked. node:http gives the same keep-alive
 * pooling over a unix socket and the 'upgrade' event that hijacked attach needs.
 */
import * as http from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { ApiError, ConnectError } from "./errors";

/** The newest API version this client speaks; negotiated down to the daemon's. */
export const CLIENT_API_VERSION = "1.47";
/** What docker assumes of a daemon whose /_ping carries no API-Version header. */
const FALLBACK_API_VERSION = "1.24";

export type QueryValue = string | number | boolean | string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (a tar stream for load/import). */
  rawBody?: Readable | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** false for /_ping, which is not under a version prefix. */
  versioned?: boolean;
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

/**
 * Options every request gets. servername (TLS SNI) is empty because this client never speaks
 * TLS; given, it spares node's http agent an isIP() of the host, whose IPv6 regex costs ~6 ms
 * to compile on a CLI's first request.
 */
const PLAIN_HTTP = { servername: "" } as const;

/** Parses -H/DOCKER_HOST values: unix:///path, tcp://host:port (and http://). */
export function parseHost(host: string): Target {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)?(?::(\d+))?\/?$/.exec(host);
  if (m) {
    const name = (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
    return { host: name, port: m[2] ? Number(m[2]) : 2375 };
  }
  throw new ConnectError(`unable to parse docker host \`${host}\``);
}

/** "1.44" < "1.47" as numbers per component. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function encodeQuery(query: Query | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value === true ? "1" : value === false ? "0" : String(value)];
    for (const v of values) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** A name as a URL path segment the way Go's url.URL escapes it ('/', ':' and '@' stay). */
export function pathSegment(name: string): string {
  return encodeURIComponent(name).replace(/%2F/gi, "/").replace(/%3A/gi, ":").replace(/%40/g, "@");
}

/** Reads a whole response body. */
export async function readBody(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The daemon's `{"message": ...}`, or its body text, or the status line. */
function errorFromBody(status: number, statusText: string, body: Buffer): ApiError {
  const text = body.toString("utf8").trim();
  if (text) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (parsed && typeof parsed.message === "string") return new ApiError(status, parsed.message);
    } catch {
      // not JSON: the text itself is the best message there is
    }
    return new ApiError(status, text);
  }
  return new ApiError(status, `${status} ${statusText}`.trim());
}

export class ApiClient {
  private readonly target: Target;
  private readonly agent: http.Agent;
  private version: Promise<string> | undefined;

  constructor(
    readonly host: string,
    /** A fixed API version (DOCKER_API_VERSION) skips negotiation. */
    fixedVersion?: string,
  ) {
    this.target = parseHost(host);
    this.agent = new http.Agent({ keepAlive: true });
    if (fixedVersion) this.version = Promise.resolve(fixedVersion);
  }

  /** GET /_ping once; min(ours, the daemon's API-Version). */
  apiVersion(): Promise<string> {
    if (!this.version) {
      this.version = this.ping().then(({ apiVersion }) => {
        const server = apiVersion || FALLBACK_API_VERSION;
        return compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION;
      });
    }
    return this.version;
  }

  async ping(): Promise<{ body: string; apiVersion: string | undefined }> {
    const res = await this.request("GET", "/_ping", { versioned: false });
    const body = (await readBody(res)).toString("utf8");
    const header = res.headers["api-version"];
    return { body, apiVersion: Array.isArray(header) ? header[0] : header };
  }

  private async fullPath(path: string, opts: RequestOptions): Promise<string> {
    const prefix = opts.versioned === false ? "" : `/v${await this.apiVersion()}`;
    return `${prefix}${path}${encodeQuery(opts.query)}`;
  }

  private connectError(err: NodeJS.ErrnoException): Error {
    if (err.code === "EACCES") {
      return new ConnectError(
        `permission denied while trying to connect to the wharf daemon socket at ${this.host}: ${err.message}`,
      );
    }
    if (["ECONNREFUSED", "ENOENT", "ENOTSOCK", "EHOSTUNREACH", "ENOTFOUND"].includes(err.code ?? "")) {
      return new ConnectError(`Cannot connect to the wharf daemon at ${this.host}. Is the wharf daemon running?`);
    }
    return err;
  }

  /**
   * Sends a request and resolves with the response once its headers are in (the body is
   * left to the caller). A status >= 400 is read and thrown as ApiError.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const replayable = opts.rawBody === undefined || Buffer.isBuffer(opts.rawBody);
    if (opts.versioned !== false && !this.version && replayable) {
      // The first request goes out beside the version check instead of after it (a round trip
      // less for every command). A daemon older than this client refuses it, having done
      // nothing; then it is sent again with the version agreed on.
      this.apiVersion().catch(() => undefined);
      try {
        return await this.send(method, `/v${CLIENT_API_VERSION}${path}${encodeQuery(opts.query)}`, opts);
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 400 && /is too new/.test(err.daemonMessage))) throw err;
      }
    }
    return this.send(method, await this.fullPath(path, opts), opts);
  }

  private async send(method: string, fullPath: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers["Content-Type"] = "application/json";
    } else if (Buffer.isBuffer(opts.rawBody)) {
      payload = opts.rawBody;
    }
    if (opts.contentType) headers["Content-Type"] = opts.contentType;
    if (payload) headers["Content-Length"] = String(payload.length);

    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ ...this.target, ...PLAIN_HTTP, agent: this.agent, method, path: fullPath, headers }, resolve);
      req.on("error", (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      if (payload) req.end(payload);
      else if (opts.rawBody && !Buffer.isBuffer(opts.rawBody)) {
        const source = opts.rawBody;
        source.on("error", (err) => req.destroy(err));
        source.pipe(req);
      } else req.end();
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      throw errorFromBody(status, res.statusMessage ?? "", await readBody(res));
    }
    return res;
  }

  /** A request whose JSON answer is wanted. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const body = await readBody(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString("utf8")) as T;
  }

  /** A request whose answer is only its status (204/304 and the like). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    res.resume();
    await new Promise<void>((resolve) => {
      if (res.complete) resolve();
      else res.on("end", resolve).on("close", resolve);
    });
  }

  /**
   * POST with `Connection: Upgrade` / `Upgrade: tcp` (attach, exec start): resolves with the
   * raw connection after the daemon's 101. Not pooled: the socket belongs to the caller.
   */
  async hijack(path: string, query: Query, body?: unknown): Promise<Socket> {
    const fullPath = await this.fullPath(path, { query });
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      Connection: "Upgrade",
      Upgrade: "tcp",
      "Content-Type": payload ? "application/json" : "text/plain",
    };
    if (payload) headers["Content-Length"] = String(payload.length);
    return new Promise<Socket>((resolve, reject) => {
      const req = http.request({ ...this.target, ...PLAIN_HTTP, agent: false, method: "POST", path: fullPath, headers });
      req.on("upgrade", (_res, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        readBody(res).then(
          (buf) =>
            reject(
              status >= 400
                ? errorFromBody(status, res.statusMessage ?? "", buf)
                : new Error(`unexpected status ${status} from attach: the daemon did not upgrade the connection`),
            ),
          reject,
        );
      });
      req.on("error", (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      req.end(payload);
    });
  }

  /** Drops pooled keep-alive connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * Splits a stream of concatenated JSON values (the daemon's progress and event streams,
 * one object per line in practice) into parsed values.
 */
export async function* jsonValues(stream: Readable): AsyncGenerator<unknown> {
  let buf = "";
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString("utf8");
    let start = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let consumed = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") {
        if (depth === 0) start = i;
        depth++;
      } else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) {
          yield JSON.parse(buf.slice(start, i + 1));
          consumed = i + 1;
        }
      }
    }
    buf = buf.slice(consumed);
  }
}
