import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import type { Readable } from "node:stream";
import * as tls from "node:tls";
import { WharfError } from "../../lib/errors";
import { parseChallenge, type RegistryCredentials } from "./auth";

/**
 * A client for one registry (OCI Distribution Spec / Docker Registry HTTP API v2): HTTPS with
 * the system CAs plus a per-registry CA directory, plain HTTP only for insecure registries
 * (loopback and --insecure-registry, after HTTPS failed, as Docker does), and the auth the
 * registry asks for in its WWW-Authenticate challenge — Basic, or Bearer tokens from its
 * token server, fetched per scope and reused.
 */

export interface RegistryClientOptions {
  /** "host[:port]" as the registry is reached ("registry-1.docker.io" for docker.io). */
  host: string;
  /** Plain HTTP is allowed (after HTTPS failed). */
  insecure: boolean;
  credentials?: RegistryCredentials;
  /** Directories holding HOST/ca.crt (Docker's /etc/docker/certs.d layout). */
  certsDirs: string[];
  /** Bound on connecting and on each silence of a response. */
  timeoutMs?: number;
}

/** A registry's answer that is an error: its status, the spec's error code and message. */
export class RegistryError extends WharfError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    // Registry-side failures reach the API client as Docker reports them: mostly 404/401/500.
    super(message, status === 404 ? 404 : status === 401 || status === 403 ? 401 : 500);
  }
}

export interface RequestOptions {
  /** repository:NAME:ACTIONS for a bearer token's scope. */
  scope: string;
  accept?: string;
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  /** A body, made anew for each attempt (a 401 means sending it again). */
  body?: () => Buffer | Readable;
  /** Length of the body when it is a stream. */
  contentLength?: number;
  /** Non-2xx statuses that are answers, not errors (404 for "no such blob", say). */
  accepted?: number[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;

export class RegistryClient {
  private scheme: "https" | "http" | undefined;
  private readonly tokens = new Map<string, string>();
  /** Set once the registry asked for Basic auth: send it straight away from then on. */
  private basic = false;
  private readonly ca: Buffer[] | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: RegistryClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const cas: Buffer[] = [];
    for (const dir of opts.certsDirs) {
      const hostDir = path.join(dir, opts.host);
      let names: string[] = [];
      try {
        names = fs.readdirSync(hostDir).filter((n) => n.endsWith(".crt"));
      } catch {
        continue;
      }
      for (const n of names) cas.push(fs.readFileSync(path.join(hostDir, n)));
    }
    // Extra CAs are added to, not put in place of, the system's.
    this.ca = cas.length ? [...tls.rootCertificates.map((c) => Buffer.from(c)), ...cas] : undefined;
  }

  get host(): string {
    return this.opts.host;
  }

  /**
   * GET (or HEAD) `urlPath` (/v2/…) with auth, following redirects (blob storage may live
   * elsewhere). Resolves with the final response when it is 2xx; throws RegistryError otherwise.
   */
  async request(urlPath: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    let res = await this.send(urlPath, opts, this.authHeader(opts.scope));
    if (res.statusCode === 401) {
      const challenge = parseChallenge(res.headers["www-authenticate"]);
      res.resume();
      const auth = await this.authorize(challenge, opts.scope);
      if (auth) res = await this.send(urlPath, opts, auth);
      else res = await this.send(urlPath, opts, undefined);
    }
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || opts.accepted?.includes(status)) return res;
    throw await registryError(res);
  }

  /**
   * `docker login`'s check: GET /v2/ answered with the given credentials (Basic, or a token
   * the token server grants them). Throws Docker's "login attempt … failed" when refused.
   */
  async login(): Promise<void> {
    const url = `${await this.schemeFor()}://${this.opts.host}/v2/`;
    try {
      const res = await this.request("/v2/", { scope: "" });
      res.resume();
    } catch (err) {
      if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) {
        throw new RegistryError(401, err.code, `login attempt to ${url} failed with status: ${err.status} ${err.status === 401 ? "Unauthorized" : "Forbidden"}`);
      }
      throw err;
    }
  }

  private authHeader(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return `Bearer ${token}`;
    if (this.basic) return this.basicHeader();
    return undefined;
  }

  private basicHeader(): string | undefined {
    const c = this.opts.credentials;
    if (!c?.username) return undefined;
    return `Basic ${Buffer.from(`${c.username}:${c.password ?? ""}`).toString("base64")}`;
  }

  /** Answers a 401's challenge; undefined when there is nothing to answer with. */
  private async authorize(challenge: ReturnType<typeof parseChallenge>, scope: string): Promise<string | undefined> {
    if (!challenge) return undefined;
    if (challenge.scheme === "basic") {
      this.basic = true;
      return this.basicHeader();
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) return undefined;
    if (this.opts.credentials?.registryToken) return `Bearer ${this.opts.credentials.registryToken}`;
    const token = await this.fetchToken(challenge.params.realm, challenge.params.service, challenge.params.scope ?? scope);
    this.tokens.set(scope, token);
    return `Bearer ${token}`;
  }

  /** The token server's answer: {token} or {access_token} (Docker's token spec and OAuth2). */
  private async fetchToken(realm: string, service: string | undefined, scope: string): Promise<string> {
    const url = new URL(realm);
    const creds = this.opts.credentials;
    let res: http.IncomingMessage;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: creds.identityToken, client_id: "wharf", scope, ...(service ? { service } : {}) });
      res = await this.raw(url, "POST", { "Content-Type": "application/x-www-form-urlencoded" }, Buffer.from(form.toString()));
    } else {
      if (service) url.searchParams.set("service", service);
      // Several scopes (a mount reads one repository, writes another) are several parameters.
      for (const s of scope.split(" ").filter(Boolean)) url.searchParams.append("scope", s);
      const basic = this.basicHeader();
      res = await this.raw(url, "GET", basic ? { Authorization: basic } : {});
    }
    const body = await readLimited(res, MAX_ERROR_BODY);
    if ((res.statusCode ?? 0) >= 300) {
      const detail = errorText(body) ?? `token server answered ${res.statusCode}`;
      throw new RegistryError(401, "UNAUTHORIZED", `Get "${realm}": ${detail}`);
    }
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
    } catch {
      throw new RegistryError(401, "UNAUTHORIZED", `the token server at ${realm} did not answer JSON`);
    }
    const token = typeof parsed.token === "string" ? parsed.token : typeof parsed.access_token === "string" ? parsed.access_token : "";
    if (!token) throw new RegistryError(401, "UNAUTHORIZED", `the token server at ${realm} returned no token`);
    return token;
  }

  /**
   * One request to the registry, following redirects; picks the scheme on first use. `urlPath`
   * may also be an absolute URL (an upload's Location).
   */
  private async send(urlPath: string, opts: RequestOptions, authorization: string | undefined): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { "User-Agent": "wharf/0.1", ...opts.headers };
    if (opts.accept) headers.Accept = opts.accept;
    if (authorization) headers.Authorization = authorization;
    const base = `${await this.schemeFor()}://${this.opts.host}`;
    let url = new URL(urlPath, base);
    if (opts.contentLength !== undefined) headers["Content-Length"] = String(opts.contentLength);
    for (let i = 0; ; i++) {
      const res = await this.raw(url, opts.method ?? "GET", headers, opts.body?.());
      const status = res.statusCode ?? 0;
      if (!REDIRECTS.has(status) || !res.headers.location) return res;
      res.resume();
      if (i >= MAX_REDIRECTS) throw new RegistryError(502, "UNKNOWN", `too many redirects fetching ${urlPath} from ${this.opts.host}`);
      const next = new URL(res.headers.location, url);
      // Credentials stay with the registry; storage redirects carry their own signature.
      if (next.host !== url.host) delete headers.Authorization;
      url = next;
    }
  }

  /** HTTPS unless the registry is insecure and HTTPS fails there (Docker's fallback). */
  private async schemeFor(): Promise<"https" | "http"> {
    if (this.scheme) return this.scheme;
    if (!this.opts.insecure) return (this.scheme = "https");
    try {
      const res = await this.raw(new URL(`https://${this.opts.host}/v2/`), "GET", {});
      res.resume();
      this.scheme = "https";
    } catch {
      this.scheme = "http";
    }
    return this.scheme;
  }

  private raw(url: URL, method: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const isHttps = url.protocol === "https:";
      const sized = Buffer.isBuffer(body) ? { ...headers, "Content-Length": String(body.length) } : headers;
      const options: https.RequestOptions = { method, headers: sized, timeout: this.timeoutMs };
      if (isHttps && this.ca) options.ca = this.ca;
      const req = (isHttps ? https : http).request(url, options, (res) => {
        // A stalled body is as bad as a stalled connect.
        res.setTimeout(this.timeoutMs, () => res.destroy(new Error(`${method} ${url.href}: no data for ${this.timeoutMs} ms`)));
        resolve(res);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.href}: timed out after ${this.timeoutMs} ms`)));
      const verb = method.charAt(0) + method.slice(1).toLowerCase();
      req.on("error", (err) => reject(new RegistryError(502, "UNAVAILABLE", `${verb} "${url.href}": ${err.message}`)));
      if (body && !Buffer.isBuffer(body)) {
        body.on("error", (err) => req.destroy(err));
        body.pipe(req);
      } else req.end(body);
    });
  }
}

/** Reads at most `limit` bytes of a body; more is an error (a registry must not flood us). */
export async function readLimited(res: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new RegistryError(400, "SIZE_INVALID", `response from registry exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The spec's error body as Docker prints it: "manifest unknown: manifest unknown". */
function errorText(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = parsed.errors?.[0];
    if (!first) return undefined;
    const code = typeof first.code === "string" ? first.code.toLowerCase().replace(/_/g, " ") : "unknown";
    return typeof first.message === "string" && first.message ? `${code}: ${first.message}` : code;
  } catch {
    return undefined;
  }
}

async function registryError(res: http.IncomingMessage): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  const body = await readLimited(res, MAX_ERROR_BODY).catch(() => Buffer.alloc(0));
  let code = "UNKNOWN";
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: Array<{ code?: unknown }> };
    if (typeof parsed.errors?.[0]?.code === "string") code = parsed.errors[0].code;
  } catch {
    // not the spec's JSON (an HTML error page, say)
  }
  const text = errorText(body) ?? (status === 401 ? "unauthorized: authentication required" : `unexpected status ${status} ${res.statusMessage ?? ""}`.trim());
  return new RegistryError(status, code, text);
}
