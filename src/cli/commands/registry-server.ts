/**
 * `wharf registry serve` and `wharf registry gc`: the built-in OCI registry. Unlike the other
 * commands these do not talk to wharfd: the server runs in this process.
 */
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import type { FlagSpec } from "../flags";
import { parseGoDuration, ramInBytes } from "../../lib/units";

const serveFlags: FlagSpec[] = [
  { name: "addr", type: "string", description: "Address to listen on (HOST:PORT)", defaultText: '"127.0.0.1:5000"' },
  { name: "root", type: "string", description: "Storage directory", defaultText: '"/var/lib/wharf/registry"' },
  { name: "config", type: "string", description: "JSON config file (same settings; flags win)" },
  { name: "tls-cert", type: "string", description: "TLS certificate (PEM); serve HTTPS" },
  { name: "tls-key", type: "string", description: "TLS private key (PEM)" },
  { name: "htpasswd", type: "string", description: "htpasswd file with bcrypt entries (basic auth; token auth's users)" },
  { name: "token-key", type: "string", description: "EC P-256 or RSA private key (PEM) signing bearer tokens; enables token auth" },
  { name: "token-service", type: "string", description: "Service name in tokens and challenges", defaultText: '"wharf-registry"' },
  { name: "token-issuer", type: "string", description: "Issuer of the tokens", defaultText: '"wharf-registry"' },
  { name: "token-realm", type: "string", description: "Token endpoint URL sent to clients (default: this server's /token)" },
  { name: "token-ttl", type: "duration", description: "Lifetime of issued tokens", defaultText: "5m0s" },
  { name: "allow-anonymous-pull", bool: true, description: "Let clients without credentials pull" },
  { name: "read-only", bool: true, description: "Refuse pushes and deletions" },
  { name: "max-manifest-size", type: "bytes", description: "Largest manifest accepted", defaultText: "4MiB" },
  { name: "max-blob-size", type: "bytes", description: "Largest blob accepted", defaultText: "64GiB" },
  { name: "max-concurrent-requests", type: "int", description: "Requests in flight before 429 (0: no limit)" },
  { name: "headers-timeout", type: "duration", description: "Time a client has to send request headers", defaultText: "20s" },
  { name: "idle-timeout", type: "duration", description: "Close connections idle this long (also mid-body)", defaultText: "2m0s" },
  { name: "access-log", type: "string", description: 'Access log on stderr: "json", "common" or "none"', defaultText: '"json"' },
];

function duration(value: string, flag: string): number {
  try {
    return parseGoDuration(value);
  } catch (err) {
    throw new StatusError(`invalid argument "${value}" for "--${flag}" flag: ${(err as Error).message}`, 125);
  }
}

function bytes(value: string, flag: string): number {
  try {
    return ramInBytes(value);
  } catch (err) {
    throw new StatusError(`invalid argument "${value}" for "--${flag}" flag: ${(err as Error).message}`, 125);
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** "23/Nov/2026:23:43:49 +0000" */
function clfTime(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export const registryServeCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Run an OCI distribution registry server",
  flags: serveFlags,
  args: { max: 0 },
  run: async (ctx, flags) => {
    const { DEFAULTS, loadConfigFile, validateConfig } = await import("../../registry/server/config");
    const { RegistryServer } = await import("../../registry/server/server");
    let cfg = { ...DEFAULTS };
    try {
      if (flags.changed("config")) cfg = { ...cfg, ...loadConfigFile(flags.string("config")) };
    } catch (err) {
      throw new StatusError(`registry: ${(err as Error).message}`, 1);
    }
    const str = (flag: string, key: "addr" | "root" | "tlsCert" | "tlsKey" | "htpasswd" | "tokenKey" | "tokenService" | "tokenIssuer" | "tokenRealm" | "accessLog"): void => {
      if (flags.changed(flag)) cfg[key] = flags.string(flag);
    };
    str("addr", "addr");
    str("root", "root");
    str("tls-cert", "tlsCert");
    str("tls-key", "tlsKey");
    str("htpasswd", "htpasswd");
    str("token-key", "tokenKey");
    str("token-service", "tokenService");
    str("token-issuer", "tokenIssuer");
    str("token-realm", "tokenRealm");
    str("access-log", "accessLog");
    if (flags.changed("token-ttl")) cfg.tokenTtl = Math.round(duration(flags.string("token-ttl"), "token-ttl") / 1000);
    if (flags.changed("allow-anonymous-pull")) cfg.allowAnonymousPull = flags.bool("allow-anonymous-pull");
    if (flags.changed("read-only")) cfg.readOnly = flags.bool("read-only");
    if (flags.changed("max-manifest-size")) cfg.maxManifestSize = bytes(flags.string("max-manifest-size"), "max-manifest-size");
    if (flags.changed("max-blob-size")) cfg.maxBlobSize = bytes(flags.string("max-blob-size"), "max-blob-size");
    if (flags.changed("max-concurrent-requests")) cfg.maxConcurrentRequests = flags.int("max-concurrent-requests");
    if (flags.changed("headers-timeout")) cfg.headersTimeoutMs = duration(flags.string("headers-timeout"), "headers-timeout");
    if (flags.changed("idle-timeout")) cfg.idleTimeoutMs = duration(flags.string("idle-timeout"), "idle-timeout");

    let server: InstanceType<typeof RegistryServer>;
    try {
      validateConfig(cfg);
      const stderr = ctx.io.stderr;
      server = new RegistryServer(cfg, (e) => {
        if (cfg.accessLog === "json") stderr.write(JSON.stringify(e) + "\n");
        else if (cfg.accessLog === "common") {
          stderr.write(`${e.remote} - ${e.user ?? "-"} [${clfTime(new Date(e.time))}] "${e.method} ${e.uri} HTTP/1.1" ${e.status} ${e.bytesOut}\n`);
        }
      });
    } catch (err) {
      throw new StatusError(`registry: ${(err as Error).message}`, 1);
    }
    let address;
    try {
      address = await server.listen();
    } catch (err) {
      throw new StatusError(`registry: listen on ${cfg.addr}: ${(err as Error).message}`, 1);
    }
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    const auth = cfg.tokenKey ? "token" : cfg.htpasswd ? "basic" : "none";
    ctx.io.stderr.write(
      `wharf registry listening on ${server.tls ? "https" : "http"}://${host}:${address.port} (root ${cfg.root}, auth ${auth}${cfg.readOnly ? ", read-only" : ""})\n`,
    );
    const proc = ctx.io.proc ?? process;
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        proc.off("SIGINT", stop);
        proc.off("SIGTERM", stop);
        resolve();
      };
      proc.on("SIGINT", stop);
      proc.on("SIGTERM", stop);
    });
    await server.close();
    return 0;
  },
};

export const registryGcCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove blobs that no manifest references",
  flags: [
    { name: "root", type: "string", description: "Storage directory", defaultText: '"/var/lib/wharf/registry"' },
    { name: "dry-run", short: "d", bool: true, description: "Only print what would be removed" },
    { name: "grace", type: "duration", description: "Keep unreferenced blobs younger than this (pushes in progress)", defaultText: "1h0m0s" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const { Storage } = await import("../../registry/server/storage");
    const { collectGarbage } = await import("../../registry/server/gc");
    const root = flags.string("root", "/var/lib/wharf/registry");
    const graceMs = flags.changed("grace") ? duration(flags.string("grace"), "grace") : 3600_000;
    const storage = new Storage(root);
    const dryRun = flags.bool("dry-run");
    const result = await collectGarbage(storage, { dryRun, graceMs, log: (line) => ctx.io.stdout.write(line + "\n") });
    ctx.io.stdout.write(
      `${dryRun ? "would remove" : "removed"} ${result.removed.length} blob(s), ${result.freedBytes} bytes; ${result.marked} referenced\n`,
    );
    return 0;
  },
};
