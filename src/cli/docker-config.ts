/**
 * Registry credentials where docker keeps them: `auths` in $DOCKER_CONFIG/config.json (or
 * ~/.docker/config.json), "auth" being base64 of "user:password". Other keys in the file are
 * kept as they are; the file is written 0600 through a temp file and a rename.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { registryDomain } from "../lib/registry-domain";

/** Docker Hub's key in `auths`, whatever name the user gave it. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

export interface StoredCredentials {
  username: string;
  password: string;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return path.join(env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker"), "config.json");
}

/** The `auths` key for a registry domain ("docker.io" → Docker Hub's URL). */
export function authKey(domain: string): string {
  return registryDomain(domain) === "docker.io" ? DOCKER_HUB_KEY : domain;
}

type ConfigFile = Record<string, unknown> & { auths?: Record<string, { auth?: string } & Record<string, unknown>> };

function readConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as ConfigFile) : {};
  } catch (err) {
    throw new Error(`loading config file ${file}: ${(err as Error).message}`);
  }
}

function writeConfig(file: string, config: ConfigFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function loadCredentials(env: NodeJS.ProcessEnv, domain: string): StoredCredentials | undefined {
  const entry = readConfig(configPath(env)).auths?.[authKey(domain)];
  if (!entry?.auth) return undefined;
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function storeCredentials(env: NodeJS.ProcessEnv, domain: string, creds: StoredCredentials): string {
  const file = configPath(env);
  const config = readConfig(file);
  config.auths = { ...config.auths, [authKey(domain)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } };
  writeConfig(file, config);
  return file;
}

/** False when there was nothing to remove. */
export function removeCredentials(env: NodeJS.ProcessEnv, domain: string): boolean {
  const file = configPath(env);
  const config = readConfig(file);
  const key = authKey(domain);
  if (!config.auths?.[key]) return false;
  delete config.auths[key];
  writeConfig(file, config);
  return true;
}

/** The X-Registry-Auth header value for a registry domain, when credentials are stored for it. */
export function registryAuthHeader(env: NodeJS.ProcessEnv, domain: string): string | undefined {
  const creds = loadCredentials(env, domain);
  if (!creds) return undefined;
  return Buffer.from(JSON.stringify({ username: creds.username, password: creds.password, serveraddress: authKey(domain) })).toString("base64url");
}

/**
 * The X-Registry-Config header of a classic build (POST /build): every stored credential, by
 * its `auths` key, as the docker CLI sends them (the daemon picks the one a FROM needs).
 */
export function registryConfigHeader(env: NodeJS.ProcessEnv): string | undefined {
  const auths = readConfig(configPath(env)).auths ?? {};
  const out: Record<string, { username: string; password: string; serveraddress: string }> = {};
  for (const key of Object.keys(auths)) {
    const creds = loadCredentials(env, key);
    if (creds) out[key] = { ...creds, serveraddress: key };
  }
  return Object.keys(out).length ? Buffer.from(JSON.stringify(out)).toString("base64url") : undefined;
}
