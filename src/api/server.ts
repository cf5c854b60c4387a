import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Duplex } from "node:stream";
import { errorMessage, isWharfError } from "../lib/errors";
import { type RequestContext, type Router, sendError } from "./router";
import { API_VERSION, splitVersion } from "./version";

export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const COMMON_HEADERS: Record<string, string> = {
  "Api-Version": API_VERSION,
  "Docker-Experimental": "false",
  Ostype: "linux",
  Server: "wharf (linux)",
};

/**
 * The HTTP side of the Docker Engine API: version prefixes, routing, Docker-shaped errors, and
 * the hijacked connections of attach. Handlers only translate between HTTP and engine calls.
 */
/** A TCP listener's TLS: its key pair, and the CA whose client certificates it accepts (--tlsverify). */
export interface TlsOptions {
  key: Buffer;
  cert: Buffer;
  /** With a CA, clients must present a certificate it signed (mutual TLS). */
  ca?: Buffer;
}

export class ApiServer {
  /** The unix socket's server (created by listenUnix) and every TCP one. */
  private readonly servers: http.Server[] = [];
  private readonly hijacked = new Set<Duplex>();

  constructor(
    private readonly router: Router,
    private readonly log: ApiLogger,
  ) {}

  /** An HTTP(S) server with the API's handlers; each listener gets its own. */
  private newServer(tls?: TlsOptions): http.Server {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.handle(req, res);
    const server: http.Server = tls
      ? https.createServer({ keepAliveTimeout: 60_000, key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: !!tls.ca, rejectUnauthorized: !!tls.ca, minVersion: "TLSv1.2" }, onRequest)
      : http.createServer({ keepAliveTimeout: 60_000 }, onRequest);
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.handleUpgrade(req, socket, head);
    });
    server.on("clientError", (err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      this.log.debug({ err: errorMessage(err) }, "client error");
    });
    this.servers.push(server);
    return server;
  }

  /** Listens on a unix socket with mode 0660 and, when it exists, group `group`. */
  async listenUnix(socketPath: string, group: { gid?: number } = {}): Promise<void> {
    if (fs.existsSync(socketPath)) fs.unlinkSync(socketPath);
    const server = this.newServer();
    // Created under a restrictive umask so there is no moment at which the socket is world-writable.
    const oldMask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(socketPath, 0o660);
    if (group.gid !== undefined) fs.chownSync(socketPath, 0, group.gid);
  }

  /** Listens on TCP: with TLS (and client certificates when a CA is given), or plain when allowed. */
  async listenTcp(host: string, port: number, tls?: TlsOptions): Promise<void> {
    const server = this.newServer(tls);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.hijacked) socket.destroy();
    await new Promise<void>((resolve) => {
      let open = this.servers.length;
      if (open === 0) return resolve();
      for (const server of this.servers) {
        server.close(() => {
          if (--open === 0) resolve();
        });
        server.closeAllConnections();
      }
    });
  }

  private context(req: http.IncomingMessage, res: http.ServerResponse | undefined): { ctx: RequestContext; path: string } {
    const url = new URL(req.url ?? "/", "http://localhost");
    const { version, path } = splitVersion(url.pathname);
    return {
      ctx: { req, res: res as http.ServerResponse, params: {}, query: url.searchParams, apiVersion: version },
      path,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    try {
      const { ctx, path } = this.context(req, res);
      const match = this.router.match(req.method ?? "GET", path);
      if (match === null || match === "method-not-allowed") {
        sendError(res, 404, "page not found");
        return;
      }
      ctx.params = match.params;
      await match.handler(ctx);
    } catch (err) {
      this.reportError(res, req, err);
    }
  }

  private reportError(res: http.ServerResponse, req: http.IncomingMessage, err: unknown): void {
    const status = isWharfError(err) ? err.statusCode : 500;
    if (status >= 500) this.log.error({ method: req.method, url: req.url, err: errorMessage(err) }, "request failed");
    else this.log.debug({ method: req.method, url: req.url, status, err: errorMessage(err) }, "request refused");
    if (status === 304) {
      if (!res.headersSent) {
        res.writeHead(304);
        res.end();
      }
      return;
    }
    sendError(res, status, errorMessage(err));
  }

  private async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that closes its sending side (docker's CloseWrite; over TLS a close_notify) still
    // reads the output: never let that end our side too.
    socket.allowHalfOpen = true;
    this.hijacked.add(socket);
    socket.on("close", () => this.hijacked.delete(socket));
    socket.on("error", () => socket.destroy());
    try {
      const { ctx, path } = this.context(req, undefined);
      const match = this.router.match(req.method ?? "GET", path);
      if (match === null || match === "method-not-allowed" || !match.hijack) {
        writeRawError(socket, 404, "page not found");
        return;
      }
      ctx.params = match.params;
      await match.hijack(ctx, socket, head);
    } catch (err) {
      const status = isWharfError(err) ? err.statusCode : 500;
      writeRawError(socket, status, errorMessage(err));
    }
  }
}

/** An error on a connection that asked to be upgraded but was not yet. */
function writeRawError(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return;
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Switches a hijacked connection to the raw stream, as dockerd answers attach/exec. */
export function writeUpgradeHeaders(socket: Duplex, contentType: string): void {
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`,
  );
}
