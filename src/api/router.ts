import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough, type Duplex, type Readable } from "node:stream";
import type { ZodType, ZodTypeDef } from "zod";
import { InvalidParameterError } from "../lib/errors";

/** One API request after version negotiation and routing. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters; a `:name*` parameter may contain slashes (image names do). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for in the path (/v1.43/...), or the daemon's current one. */
  apiVersion: string;
}

export type RouteHandler = (ctx: RequestContext) => Promise<void>;

/**
 * A hijacking route (attach, exec start): after the handler writes the 101/200 status line
 * the raw socket carries the stream in both directions.
 */
export type HijackHandler = (ctx: RequestContext, socket: Duplex, head: Buffer) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
  hijack?: HijackHandler;
}

/** Compiles "/containers/:id/json" or "/images/:name*\/json" into a regex with named groups. */
function compile(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split("/")
    .map((segment) => {
      const m = /^:(\w+)(\*?)$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(m[1]);
      return m[2] ? "(.+)" : "([^/]+)";
    })
    .join("/");
  return { pattern: new RegExp(`^${source}/?$`), names };
}

export class Router {
  private readonly routes: Route[] = [];

  get(path: string, handler: RouteHandler): void {
    this.add("GET", path, handler);
  }
  head(path: string, handler: RouteHandler): void {
    this.add("HEAD", path, handler);
  }
  post(path: string, handler: RouteHandler, hijack?: HijackHandler): void {
    this.add("POST", path, handler, hijack);
  }
  put(path: string, handler: RouteHandler): void {
    this.add("PUT", path, handler);
  }
  delete(path: string, handler: RouteHandler): void {
    this.add("DELETE", path, handler);
  }

  private add(method: string, path: string, handler: RouteHandler, hijack?: HijackHandler): void {
    const { pattern, names } = compile(path);
    this.routes.push({ method, pattern, names, handler, hijack });
  }

  /** Routes are tried in registration order; register specific paths before greedy ones. */
  match(
    method: string,
    path: string,
  ): { handler: RouteHandler; hijack?: HijackHandler; params: Record<string, string> } | "method-not-allowed" | null {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]);
      });
      return { handler: route.handler, hijack: route.hijack, params };
    }
    return pathMatched ? "method-not-allowed" : null;
  }
}

// ---- request helpers ------------------------------------------------------------------------

const MAX_JSON_BODY = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new InvalidParameterError(`request body too large (over ${limit} bytes)`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Parses and validates a JSON body; an empty body is `{}` as Docker treats it for most endpoints. */
export async function readJson<T>(req: IncomingMessage, schema: ZodType<T, ZodTypeDef, unknown>): Promise<T> {
  const raw = (await readBody(req)).toString("utf8").trim();
  let value: unknown = {};
  if (raw !== "") {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new InvalidParameterError(`invalid JSON: ${(err as Error).message}`);
    }
  }
  if (value === null) value = {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    throw new InvalidParameterError(`invalid request: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** Docker's boolean query values: "1", "true", "True" are true; "", "0", "false" are false. */
export function boolParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null) return fallback;
  const v = value.toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "no") return false;
  return true;
}

export function intParam(query: URLSearchParams, name: string, fallback?: number): number | undefined {
  const value = query.get(name);
  if (value === null || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !/^-?\d+$/.test(value.trim())) {
    throw new InvalidParameterError(`invalid value for ${name}: ${JSON.stringify(value)}`);
  }
  return n;
}

/** `h` and `w` of a resize request, both required as Docker's strconv.Atoi demands. */
export function terminalSizeParams(query: URLSearchParams): { height: number; width: number } {
  const read = (name: string): number => {
    const value = query.get(name) ?? "";
    if (!/^\d+$/.test(value)) throw new InvalidParameterError(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
    return Number(value);
  };
  return { height: read("h"), width: read("w") };
}

/** Docker's `filters` query: JSON of {"name": ["a","b"]} (or the old {"name": {"a": true}} form). */
export function filtersParam(query: URLSearchParams): Map<string, string[]> {
  const raw = query.get("filters");
  const filters = new Map<string, string[]>();
  if (!raw) return filters;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidParameterError(`invalid filter: ${raw}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidParameterError(`invalid filter: ${raw}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v)) filters.set(key, v.map(String));
    else if (v && typeof v === "object") filters.set(key, Object.keys(v).filter((k) => (v as Record<string, unknown>)[k]));
    else throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  return filters;
}

// ---- response helpers -----------------------------------------------------------------------

/**
 * Calls `fn` once if the client goes away before this response is done. Listens on the
 * response, not the socket: a kept-alive connection carries many requests and would collect a
 * listener per request.
 */
export function onClientGone(res: ServerResponse, fn: () => void): void {
  res.once("close", () => {
    if (!res.writableFinished) fn();
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "Content-Length": 0 });
  res.end();
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    // A stream is under way: Docker reports late errors inside the stream; end it here.
    res.end();
    return;
  }
  sendJson(res, status, { message });
}

/**
 * A streamed JSON response (pull/push/load/build progress): one JSON object per line.
 * Errors after the stream started are sent as {"errorDetail": {...}, "error": "..."} as Docker does.
 */
export class JsonStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { "Content-Type": "application/json" });
  }
  write(message: Record<string, unknown>): void {
    this.res.write(JSON.stringify(message) + "\r\n");
  }
  error(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }
  end(): void {
    this.res.end();
  }
}

/**
 * The request body as a stream the engine may destroy on a bad archive without taking the
 * connection (and so the error response) down with it; a client abort still reaches it.
 */
export function requestBody(req: IncomingMessage): Readable {
  const body = new PassThrough();
  req.on("error", (err) => body.destroy(err));
  req.on("close", () => {
    if (!req.complete) body.destroy(new InvalidParameterError("the client closed the request before its body ended"));
  });
  req.pipe(body);
  return body;
}
