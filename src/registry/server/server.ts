/**
 * The registry's HTTP server: the OCI Distribution Spec v1.1 API under /v2/, a token endpoint
 * (/token) when token auth is configured, and /metrics.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createHash } from "node:crypto";
import { AccessPolicy, Htpasswd, parseBasic, parseBearer, parseScope, scopeString, TokenIssuer, type Access } from "./auth";
import type { RegistryConfig } from "./config";
import { RegistryError } from "./errors";
import { checkManifest, OCI_INDEX } from "./manifest";
import { Metrics } from "./metrics";
import { assertDigest, assertName, isTag, looksLikeDigest, parseDigest, type ParsedDigest } from "./names";
import { Storage } from "./storage";

type Req = http.IncomingMessage;
type Res = http.ServerResponse;

interface Ctx {
  req: Req;
  res: Res;
  /** The request's path as sent (not normalized). */
  path: string;
  /** For the query only. */
  url: URL;
  method: string;
  /** Route label for metrics ("manifests", "blobs", ...). */
  route: string;
  account: string | null;
}

const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" };

function send(res: Res, status: number, headers: Record<string, string | number>, body?: string | Buffer): void {
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { ...API_VERSION_HEADER, ...headers, ...(headers["Content-Length"] === undefined ? { "Content-Length": data?.length ?? 0 } : {}) });
  if (data && res.req.method !== "HEAD") res.end(data);
  else res.end();
}

function sendJson(res: Res, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  send(res, status, { "Content-Type": "application/json", ...headers }, JSON.stringify(value));
}

/** Reads a request body up to `limit` bytes (413 past it). */
async function readBody(req: Req, limit: number, tooLarge: RegistryError): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function hasBody(req: Req): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined) return Number(len) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

function contentLength(req: Req): number | undefined {
  const len = req.headers["content-length"];
  if (len === undefined) return undefined;
  if (!/^\d+$/.test(len)) throw new RegistryError("SIZE_INVALID", "invalid Content-Length");
  return Number(len);
}

/** "n" of a paginated list: absent, or a non-negative integer. */
function pageSize(url: URL): number | undefined {
  const n = url.searchParams.get("n");
  if (n === null || n === "") return undefined;
  if (!/^\d+$/.test(n)) throw new RegistryError("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer", { n });
  return Math.min(Number(n), 100_000);
}

function paginate(items: string[], url: URL, base: string): { page: string[]; link?: string } {
  const last = url.searchParams.get("last");
  const n = pageSize(url);
  let rest = last ? items.filter((t) => t > last) : items;
  if (n === undefined) return { page: rest };
  const page = rest.slice(0, n);
  rest = rest.slice(n);
  if (rest.length > 0 && page.length > 0) {
    return { page, link: `<${base}?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"` };
  }
  return { page };
}

export interface AccessLogEntry {
  time: string;
  remote: string;
  user: string | null;
  method: string;
  uri: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  userAgent: string;
}

export class RegistryServer {
  readonly storage: Storage;
  readonly metrics = new Metrics();
  private server: http.Server | https.Server | undefined;
  private readonly htpasswd: Htpasswd | undefined;
  private readonly issuer: TokenIssuer | undefined;
  private readonly policy: AccessPolicy;
  private readonly sockets = new Set<Socket>();
  private readonly socketMarks = new WeakMap<Socket, { read: number; written: number }>();

  constructor(
    readonly config: RegistryConfig,
    private readonly accessLog: (entry: AccessLogEntry) => void = () => undefined,
  ) {
    this.storage = new Storage(config.root, config.maxBlobSize);
    this.htpasswd = config.htpasswd ? Htpasswd.load(config.htpasswd) : undefined;
    this.issuer = config.tokenKey ? TokenIssuer.load(config.tokenKey, config.tokenIssuer, config.tokenService, config.tokenTtl) : undefined;
    this.policy = new AccessPolicy(config.acl, config.allowAnonymousPull);
  }

  private get authMode(): "none" | "basic" | "token" {
    return this.issuer ? "token" : this.htpasswd ? "basic" : "none";
  }

  get tls(): boolean {
    return Boolean(this.config.tlsCert);
  }

  async listen(): Promise<AddressInfo> {
    await this.storage.init();
    const handler = (req: Req, res: Res): void => {
      this.handle(req, res).catch((err: unknown) => {
        process.stderr.write(`registry: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}\n`);
        res.destroy();
      });
    };
    const options: http.ServerOptions = {
      headersTimeout: this.config.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: 5000,
      connectionsCheckingInterval: Math.min(1000, this.config.headersTimeoutMs),
    };
    this.server = this.config.tlsCert
      ? https.createServer({ ...options, cert: fs.readFileSync(this.config.tlsCert), key: fs.readFileSync(this.config.tlsKey!) }, handler)
      : http.createServer(options, handler);
    this.server.timeout = this.config.idleTimeoutMs;
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    const { host, port } = splitAddr(this.config.addr);
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, 2000).unref();
    });
  }

  // ---- request handling --------------------------------------------------------------------
  private async handle(req: Req, res: Res): Promise<void> {
    const started = process.hrtime.bigint();
    const socket = req.socket;
    const method = req.method ?? "GET";
    // Route on the raw path: URL parsing would resolve "a/../b" into "b" before names are checked.
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const ctx: Ctx = {
      req,
      res,
      path: q < 0 ? raw : raw.slice(0, q),
      url: new URL(q < 0 ? "/" : `/${raw.slice(q)}`, "http://registry"),
      method,
      route: "other",
      account: null,
    };
    this.metrics.inflight++;
    res.on("close", () => {
      this.metrics.inflight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Requests on a connection come one after another: what the socket carried since the
      // previous response ended belongs to this request (headers included).
      const mark = this.socketMarks.get(socket) ?? { read: 0, written: 0 };
      const bytesIn = Math.max(0, socket.bytesRead - mark.read);
      const bytesOut = Math.max(0, socket.bytesWritten - mark.written);
      this.socketMarks.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      const status = res.headersSent ? res.statusCode : 499;
      this.metrics.observe(method, ctx.route, status, seconds, bytesIn, bytesOut);
      this.accessLog({
        time: new Date().toISOString(),
        remote: socket.remoteAddress ?? "",
        user: ctx.account,
        method,
        uri: req.url ?? "",
        status,
        bytesIn,
        bytesOut,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        userAgent: String(req.headers["user-agent"] ?? ""),
      });
    });
    try {
      if (this.config.maxConcurrentRequests > 0 && this.metrics.inflight > this.config.maxConcurrentRequests) {
        throw new RegistryError("TOOMANYREQUESTS", "too many requests in flight", undefined, 429, { "Retry-After": "1" });
      }
      await this.route(ctx);
    } catch (err) {
      await this.fail(ctx, err);
    }
  }

  private async fail(ctx: Ctx, err: unknown): Promise<void> {
    const { req, res } = ctx;
    const e = err instanceof RegistryError ? err : new RegistryError("UNSUPPORTED", `internal error: ${(err as Error)?.message ?? String(err)}`, undefined, 500);
    if (e.status === 500) process.stderr.write(`registry: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}\n`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = { "Content-Type": "application/json", ...e.headers };
    // A body we did not read: a small one is drained so the client reads the answer on a live
    // connection; a large or endless one is cut off by closing the connection after answering.
    // (Answering first and closing would let the kernel reset the connection under the answer.)
    if (!req.complete) {
      const declared = Number(req.headers["content-length"]);
      if (declared <= 16 * 1024 * 1024 && !req.destroyed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          const done = (): void => {
            clearTimeout(timer);
            resolve();
          };
          req.once("end", done);
          req.once("close", done);
          req.once("error", done);
          req.resume();
        });
      }
      if (!req.complete) headers.Connection = "close";
      req.resume();
    }
    if (res.headersSent || res.destroyed) return;
    send(res, e.status, headers, e.body());
  }

  private async route(ctx: Ctx): Promise<void> {
    const p = ctx.path;
    if (p === "/metrics") {
      ctx.route = "metrics";
      if (ctx.method !== "GET" && ctx.method !== "HEAD") throw new RegistryError("UNSUPPORTED");
      // With auth configured, only a signed-in client (a scraper with Basic credentials) reads them.
      await this.authorize(ctx, [], true);
      send(ctx.res, 200, { "Content-Type": "text/plain; version=0.0.4" }, this.metrics.render());
      return;
    }
    if (p === "/token") {
      ctx.route = "token";
      await this.token(ctx);
      return;
    }
    if (p === "/v2" || p === "/v2/") {
      ctx.route = "base";
      if (ctx.method !== "GET" && ctx.method !== "HEAD") throw new RegistryError("UNSUPPORTED");
      await this.authorize(ctx, [], true);
      sendJson(ctx.res, 200, {});
      return;
    }
    if (!p.startsWith("/v2/")) throw new RegistryError("UNSUPPORTED", "not found", undefined, 404);
    const rest = p.slice(4);
    if (rest === "_catalog") {
      ctx.route = "catalog";
      if (ctx.method !== "GET") throw new RegistryError("UNSUPPORTED");
      await this.authorize(ctx, [{ type: "registry", name: "catalog", actions: ["*"] }]);
      const { page, link } = paginate(await this.storage.listRepos(), ctx.url, "/v2/_catalog");
      sendJson(ctx.res, 200, { repositories: page }, link ? { Link: link } : {});
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = /^(.+)\/tags\/list$/.exec(rest))) {
      ctx.route = "tags";
      return this.tags(ctx, m[1]);
    }
    if ((m = /^(.+)\/manifests\/([^/]+)$/.exec(rest))) {
      ctx.route = "manifests";
      return this.manifests(ctx, m[1], decode(m[2]));
    }
    if ((m = /^(.+)\/blobs\/uploads\/?$/.exec(rest))) {
      ctx.route = "uploads";
      return this.startUpload(ctx, m[1]);
    }
    if ((m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest))) {
      ctx.route = "uploads";
      return this.upload(ctx, m[1], decode(m[2]));
    }
    if ((m = /^(.+)\/blobs\/([^/]+)$/.exec(rest))) {
      ctx.route = "blobs";
      return this.blobs(ctx, m[1], decode(m[2]));
    }
    if ((m = /^(.+)\/referrers\/([^/]+)$/.exec(rest))) {
      ctx.route = "referrers";
      return this.referrers(ctx, m[1], decode(m[2]));
    }
    throw new RegistryError("UNSUPPORTED", "not found", undefined, 404);
  }

  private writable(): void {
    if (this.config.readOnly) throw new RegistryError("UNSUPPORTED", "the registry is read-only", undefined, 405);
  }

  // ---- auth --------------------------------------------------------------------------------
  private challenge(ctx: Ctx, needs: Access[], error?: string): Record<string, string> {
    if (this.authMode === "basic") return { "WWW-Authenticate": `Basic realm="${this.config.tokenService}"` };
    const realm = this.config.tokenRealm ?? `${this.tls ? "https" : "http"}://${ctx.req.headers.host ?? this.config.addr}/token`;
    let value = `Bearer realm="${realm}",service="${this.config.tokenService}"`;
    if (needs.length > 0) value += `,scope="${scopeString(needs)}"`;
    if (error) value += `,error="${error}"`;
    return { "WWW-Authenticate": value };
  }

  /**
   * Checks that the request may do `needs`; sets ctx.account. `authenticated`: the base
   * endpoint, which answers 401 to anyone without credentials when auth is on.
   */
  private async authorize(ctx: Ctx, needs: Access[], authenticated = false): Promise<void> {
    const mode = this.authMode;
    if (mode === "none") return;
    const header = ctx.req.headers.authorization;
    const unauthorized = (message: string, error?: string): RegistryError =>
      new RegistryError("UNAUTHORIZED", message, needs.length > 0 ? needs : undefined, 401, this.challenge(ctx, needs, error));
    if (mode === "basic") {
      const creds = parseBasic(header);
      if (creds) {
        if (!(await this.htpasswd!.check(creds.user, creds.password))) throw unauthorized("invalid username or password");
        ctx.account = creds.user;
      } else if (authenticated) {
        throw unauthorized("authentication required");
      }
      for (const need of needs) {
        const allowed = this.policy.allowed(ctx.account, need.type, need.name);
        if (!need.actions.every((a) => allowed.has(a))) {
          if (ctx.account === null) throw unauthorized("authentication required");
          throw new RegistryError("DENIED", "requested access to the resource is denied", need);
        }
      }
      return;
    }
    // token
    const raw = parseBearer(header);
    let granted: Access[];
    if (raw !== null) {
      const claims = this.issuer!.verify(raw);
      if (!claims) throw unauthorized("invalid or expired token", "invalid_token");
      ctx.account = claims.sub || null;
      granted = claims.access;
    } else {
      if (authenticated) throw unauthorized("authentication required");
      granted = this.policy.grant(null, needs);
    }
    for (const need of needs) {
      const ok = need.actions.every((a) => granted.some((g) => g.type === need.type && g.name === need.name && (g.actions.includes(a) || g.actions.includes("*"))));
      if (!ok) throw unauthorized(raw === null ? "authentication required" : "insufficient scope", raw === null ? undefined : "insufficient_scope");
    }
  }

  /** Whether the request could `pull` from `name` (for cross-repository mounts). */
  private async mayPull(ctx: Ctx, name: string): Promise<boolean> {
    try {
      await this.authorize(ctx, [{ type: "repository", name, actions: ["pull"] }]);
      return true;
    } catch {
      return false;
    }
  }

  private async token(ctx: Ctx): Promise<void> {
    if (!this.issuer) throw new RegistryError("UNSUPPORTED", "token auth is not configured", undefined, 404);
    let user: string | null = null;
    let scopes: string[];
    let oauth = false;
    if (ctx.method === "GET") {
      const creds = parseBasic(ctx.req.headers.authorization);
      if (creds) {
        if (!this.htpasswd || !(await this.htpasswd.check(creds.user, creds.password))) {
          throw new RegistryError("UNAUTHORIZED", "invalid username or password", undefined, 401, { "WWW-Authenticate": `Basic realm="${this.config.tokenService}"` });
        }
        user = creds.user;
      }
      scopes = ctx.url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
    } else if (ctx.method === "POST") {
      oauth = true;
      const body = new URLSearchParams((await readBody(ctx.req, 64 * 1024, new RegistryError("SIZE_INVALID", "body too large", undefined, 413))).toString("utf8"));
      if (body.get("grant_type") !== "password") {
        sendJson(ctx.res, 400, { error: "unsupported_grant_type", error_description: "only the password grant is supported" });
        return;
      }
      const username = body.get("username") ?? "";
      if (!this.htpasswd || !(await this.htpasswd.check(username, body.get("password") ?? ""))) {
        sendJson(ctx.res, 401, { error: "invalid_grant", error_description: "invalid username or password" });
        return;
      }
      user = username;
      scopes = (body.get("scope") ?? "").split(" ").filter(Boolean);
    } else {
      throw new RegistryError("UNSUPPORTED");
    }
    const requested: Access[] = [];
    for (const s of scopes) {
      const a = parseScope(s);
      if (!a) throw new RegistryError("UNSUPPORTED", `invalid scope ${JSON.stringify(s)}`, undefined, 400);
      requested.push(a);
    }
    ctx.account = user;
    const granted = this.policy.grant(user, requested);
    const t = this.issuer.issue(user ?? "", granted);
    if (oauth) {
      sendJson(ctx.res, 200, { access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt, scope: scopeString(granted), token_type: "Bearer" });
    } else {
      sendJson(ctx.res, 200, { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt });
    }
  }

  // ---- content discovery -------------------------------------------------------------------
  private async tags(ctx: Ctx, name: string): Promise<void> {
    assertName(name);
    if (ctx.method !== "GET") throw new RegistryError("UNSUPPORTED");
    await this.authorize(ctx, [{ type: "repository", name, actions: ["pull"] }]);
    const tags = await this.storage.listTags(name);
    if (tags === null) throw new RegistryError("NAME_UNKNOWN", undefined, { name });
    const { page, link } = paginate(tags, ctx.url, `/v2/${name}/tags/list`);
    sendJson(ctx.res, 200, { name, tags: page }, link ? { Link: link } : {});
  }

  private async referrers(ctx: Ctx, name: string, reference: string): Promise<void> {
    assertName(name);
    if (ctx.method !== "GET") throw new RegistryError("UNSUPPORTED");
    const subject = assertDigest(reference);
    await this.authorize(ctx, [{ type: "repository", name, actions: ["pull"] }]);
    let manifests = await this.storage.referrers(name, subject);
    const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
    const artifactType = ctx.url.searchParams.get("artifactType");
    if (artifactType) {
      manifests = manifests.filter((d) => d.artifactType === artifactType);
      headers["OCI-Filters-Applied"] = "artifactType";
    }
    send(ctx.res, 200, headers, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  }

  // ---- manifests ---------------------------------------------------------------------------
  private async manifests(ctx: Ctx, name: string, reference: string): Promise<void> {
    assertName(name);
    const byDigest = looksLikeDigest(reference);
    switch (ctx.method) {
      case "GET":
      case "HEAD": {
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull"] }]);
        if (byDigest) assertDigest(reference);
        else if (!isTag(reference)) throw new RegistryError("MANIFEST_UNKNOWN", "invalid tag", { tag: reference }, 404);
        const record = await this.storage.getManifest(name, reference);
        if (!record) {
          if (!(await this.storage.repoExists(name))) throw new RegistryError("NAME_UNKNOWN", undefined, { name });
          throw new RegistryError("MANIFEST_UNKNOWN", undefined, { reference });
        }
        send(ctx.res, 200, { "Content-Type": record.mediaType, "Docker-Content-Digest": record.digest, ETag: `"${record.digest}"` }, record.body);
        return;
      }
      case "PUT":
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
        return this.putManifest(ctx, name, reference, byDigest);
      case "DELETE": {
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["delete"] }]);
        if (byDigest) {
          const d = assertDigest(reference);
          if (!(await this.storage.deleteManifest(name, d))) throw new RegistryError("MANIFEST_UNKNOWN", undefined, { reference });
        } else {
          if (!isTag(reference) || !(await this.storage.deleteTag(name, reference))) throw new RegistryError("MANIFEST_UNKNOWN", undefined, { tag: reference });
        }
        send(ctx.res, 202, {});
        return;
      }
      default:
        throw new RegistryError("UNSUPPORTED");
    }
  }

  private async putManifest(ctx: Ctx, name: string, reference: string, byDigest: boolean): Promise<void> {
    let expected: ParsedDigest | undefined;
    if (byDigest) expected = assertDigest(reference);
    else if (!isTag(reference)) throw new RegistryError("MANIFEST_INVALID", "invalid tag", { tag: reference });
    const limit = this.config.maxManifestSize;
    const body = await readBody(ctx.req, limit, new RegistryError("SIZE_INVALID", `manifest exceeds the limit of ${limit} bytes`, { limit }, 413));
    const checked = checkManifest(body, ctx.req.headers["content-type"]);
    const algorithm = expected?.algorithm ?? "sha256";
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest("hex")}`;
    if (expected && digest !== expected.digest) {
      throw new RegistryError("DIGEST_INVALID", "manifest digest did not match its content", { expected: expected.digest, actual: digest });
    }
    const d = parseDigest(digest)!;
    for (const blob of checked.blobs) {
      if ((await this.storage.repoBlobSize(name, blob)) === null) throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", { digest: blob.digest });
    }
    for (const child of checked.manifests) {
      if (!(await this.storage.hasManifest(name, child))) throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", { digest: child.digest });
    }
    for (const d of [...checked.blobs, ...checked.manifests]) await this.storage.touchBlob(d);
    await this.storage.putManifest(name, byDigest ? null : reference, d, checked.mediaType, body, checked.subject);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, "Docker-Content-Digest": digest };
    if (checked.subject) headers["OCI-Subject"] = checked.subject.digest;
    send(ctx.res, 201, headers);
  }

  // ---- blobs -------------------------------------------------------------------------------
  private async blobs(ctx: Ctx, name: string, reference: string): Promise<void> {
    assertName(name);
    switch (ctx.method) {
      case "GET":
      case "HEAD": {
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull"] }]);
        const d = assertDigest(reference);
        const size = await this.storage.repoBlobSize(name, d);
        if (size === null) throw new RegistryError("BLOB_UNKNOWN", undefined, { digest: d.digest });
        return this.sendBlob(ctx, d, size);
      }
      case "DELETE": {
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["delete"] }]);
        const d = assertDigest(reference);
        if (!(await this.storage.unlinkBlob(name, d))) throw new RegistryError("BLOB_UNKNOWN", undefined, { digest: d.digest });
        send(ctx.res, 202, { "Docker-Content-Digest": d.digest });
        return;
      }
      default:
        throw new RegistryError("UNSUPPORTED");
    }
  }

  private sendBlob(ctx: Ctx, d: ParsedDigest, size: number): void {
    const base = { "Docker-Content-Digest": d.digest, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", ETag: `"${d.digest}"` };
    const range = ctx.req.headers.range;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const headers: Record<string, string | number> = { ...base };
    if (range !== undefined) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      const unsatisfiable = (): RegistryError =>
        new RegistryError("RANGE_INVALID", "requested range not satisfiable", { range, size }, 416, { "Content-Range": `bytes */${size}` });
      if (!m || (m[1] === "" && m[2] === "")) throw unsatisfiable();
      if (m[1] === "") {
        const suffix = Number(m[2]);
        if (suffix === 0) throw unsatisfiable();
        start = Math.max(0, size - suffix);
      } else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(Number(m[2]), size - 1);
        if (m[2] !== "" && Number(m[2]) < start) throw unsatisfiable();
      }
      if (start >= size) throw unsatisfiable();
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    }
    const length = size === 0 ? 0 : end - start + 1;
    headers["Content-Length"] = length;
    ctx.res.writeHead(status, { ...API_VERSION_HEADER, ...headers });
    if (ctx.method === "HEAD" || length === 0) {
      ctx.res.end();
      return;
    }
    const stream = this.storage.readBlob(d, start, end);
    stream.on("error", () => ctx.res.destroy());
    stream.pipe(ctx.res);
  }

  // ---- uploads -----------------------------------------------------------------------------
  private uploadHeaders(name: string, uuid: string, size: number): Record<string, string> {
    return {
      Location: `/v2/${name}/blobs/uploads/${uuid}`,
      Range: `0-${Math.max(size - 1, 0)}`,
      "Docker-Upload-UUID": uuid,
      "Blob-Upload-Session-ID": uuid,
    };
  }

  private async startUpload(ctx: Ctx, name: string): Promise<void> {
    assertName(name);
    if (ctx.method !== "POST") throw new RegistryError("UNSUPPORTED");
    this.writable();
    await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
    const q = ctx.url.searchParams;
    const mount = q.get("mount");
    const from = q.get("from");
    if (mount !== null) {
      const d = assertDigest(mount);
      if (from !== null && from !== name) {
        assertName(from);
        if ((await this.mayPull(ctx, from)) && (await this.storage.repoBlobSize(from, d)) !== null) {
          await this.storage.touchBlob(d);
          await this.storage.linkBlob(name, d);
          send(ctx.res, 201, { Location: `/v2/${name}/blobs/${d.digest}`, "Docker-Content-Digest": d.digest });
          return;
        }
      } else if ((await this.storage.repoBlobSize(name, d)) !== null) {
        send(ctx.res, 201, { Location: `/v2/${name}/blobs/${d.digest}`, "Docker-Content-Digest": d.digest });
        return;
      }
      // Not mountable: an ordinary upload session instead, as the spec says.
    }
    const digestParam = q.get("digest");
    if (digestParam !== null && mount === null) {
      const d = assertDigest(digestParam);
      const length = contentLength(ctx.req);
      const uuid = await this.storage.startUpload(name);
      try {
        await this.storage.appendUpload(name, uuid, ctx.req, undefined, length);
        await this.storage.commitUpload(name, uuid, d);
      } catch (err) {
        await this.storage.dropUpload(uuid);
        throw err;
      }
      send(ctx.res, 201, { Location: `/v2/${name}/blobs/${d.digest}`, "Docker-Content-Digest": d.digest });
      return;
    }
    const uuid = await this.storage.startUpload(name);
    send(ctx.res, 202, this.uploadHeaders(name, uuid, 0));
  }

  /** Content-Range "start-end" (optionally "bytes start-end") of a chunk. */
  private chunkRange(req: Req, name: string, uuid: string): { start: number; length: number } | undefined {
    const header = req.headers["content-range"];
    if (header === undefined) return undefined;
    const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
    const bad = (): RegistryError =>
      new RegistryError("RANGE_INVALID", `invalid Content-Range ${JSON.stringify(header)}`, undefined, 416, {
        Location: `/v2/${name}/blobs/uploads/${uuid}`,
        "Docker-Upload-UUID": uuid,
      });
    if (!m) throw bad();
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (end < start) throw bad();
    const length = end - start + 1;
    const declared = contentLength(req);
    if (declared !== undefined && declared !== length) throw bad();
    return { start, length };
  }

  private async upload(ctx: Ctx, name: string, uuid: string): Promise<void> {
    assertName(name);
    switch (ctx.method) {
      case "GET": {
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
        const size = await this.storage.uploadSize(name, uuid);
        send(ctx.res, 204, this.uploadHeaders(name, uuid, size));
        return;
      }
      case "PATCH": {
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
        await this.storage.uploadSize(name, uuid);
        const range = this.chunkRange(ctx.req, name, uuid);
        const size = await this.storage.appendUpload(name, uuid, ctx.req, range?.start, range?.length ?? contentLength(ctx.req));
        send(ctx.res, 202, this.uploadHeaders(name, uuid, size));
        return;
      }
      case "PUT": {
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
        const digestParam = ctx.url.searchParams.get("digest");
        const d = assertDigest(digestParam);
        await this.storage.uploadSize(name, uuid);
        if (hasBody(ctx.req)) {
          const range = this.chunkRange(ctx.req, name, uuid);
          await this.storage.appendUpload(name, uuid, ctx.req, range?.start, range?.length ?? contentLength(ctx.req));
        }
        await this.storage.commitUpload(name, uuid, d);
        send(ctx.res, 201, { Location: `/v2/${name}/blobs/${d.digest}`, "Docker-Content-Digest": d.digest });
        return;
      }
      case "DELETE": {
        this.writable();
        await this.authorize(ctx, [{ type: "repository", name, actions: ["pull", "push"] }]);
        await this.storage.cancelUpload(name, uuid);
        send(ctx.res, 204, {});
        return;
      }
      default:
        throw new RegistryError("UNSUPPORTED");
    }
  }
}

/** A path segment with %-escapes resolved; a malformed escape is a bad reference. */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError("DIGEST_INVALID", "malformed reference", { reference: segment });
  }
}

export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid address ${JSON.stringify(addr)} (expected HOST:PORT)`);
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port: Number(m[3]) };
}
