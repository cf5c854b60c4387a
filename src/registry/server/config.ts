/** The registry's settings: defaults, a JSON config file, and flags on top. */
import * as fs from "node:fs";
import type { AclEntry } from "./auth";

export interface RegistryConfig {
  addr: string;
  root: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  /** PEM private key (EC P-256 or RSA) that signs bearer tokens; enables token auth. */
  tokenKey?: string;
  tokenService: string;
  tokenIssuer: string;
  /** The token endpoint clients are sent to; default: this server's /token. */
  tokenRealm?: string;
  tokenTtl: number;
  allowAnonymousPull: boolean;
  readOnly: boolean;
  acl?: AclEntry[];
  maxManifestSize: number;
  maxBlobSize: number;
  /** 0: unlimited; past it requests get 429 TOOMANYREQUESTS. */
  maxConcurrentRequests: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  /** "json", "common" or "none". */
  accessLog: string;
}

export const DEFAULTS: RegistryConfig = {
  addr: "127.0.0.1:5000",
  root: "/var/lib/wharf/registry",
  tokenService: "wharf-registry",
  tokenIssuer: "wharf-registry",
  tokenTtl: 300,
  allowAnonymousPull: false,
  readOnly: false,
  maxManifestSize: 4 * 1024 * 1024,
  maxBlobSize: 64 * 1024 ** 3,
  maxConcurrentRequests: 0,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 120_000,
  accessLog: "json",
};

const KEYS = new Set(Object.keys(DEFAULTS).concat(["tlsCert", "tlsKey", "htpasswd", "tokenKey", "tokenRealm", "acl"]));

/** Reads a JSON config file (keys as in RegistryConfig); unknown keys are an error. */
export function loadConfigFile(file: string): Partial<RegistryConfig> {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: expected a JSON object`);
  for (const key of Object.keys(parsed)) if (!KEYS.has(key)) throw new Error(`${file}: unknown setting ${JSON.stringify(key)}`);
  const cfg = parsed as Partial<RegistryConfig>;
  if (cfg.acl !== undefined) {
    if (!Array.isArray(cfg.acl)) throw new Error(`${file}: acl must be a list`);
    for (const e of cfg.acl) {
      if (typeof e?.account !== "string" || typeof e?.name !== "string" || !Array.isArray(e?.actions)) {
        throw new Error(`${file}: acl entries need account, name and actions`);
      }
    }
  }
  return cfg;
}

export function validateConfig(cfg: RegistryConfig): RegistryConfig {
  if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey)) throw new Error("--tls-cert and --tls-key go together");
  if (!["json", "common", "none"].includes(cfg.accessLog)) throw new Error(`invalid access log format ${JSON.stringify(cfg.accessLog)}`);
  for (const k of ["tokenTtl", "maxManifestSize", "maxBlobSize", "maxConcurrentRequests", "headersTimeoutMs", "idleTimeoutMs"] as const) {
    if (!Number.isFinite(cfg[k]) || cfg[k] < 0) throw new Error(`invalid ${k}: ${cfg[k]}`);
  }
  return cfg;
}
