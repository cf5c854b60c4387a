import { InvalidParameterError } from "../../lib/errors";

/** What a client may authenticate with: docker login's username/password, or a token. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth refresh token from docker login (sent as the token server's refresh_token). */
  identityToken?: string;
  /** A bearer token to use as is. */
  registryToken?: string;
}

/** One WWW-Authenticate challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses the first challenge of a WWW-Authenticate header (quoted values may hold commas). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) {
    if (p[0] === "") break;
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/**
 * The API's X-Registry-Auth header: base64url (or plain base64) JSON of docker's AuthConfig.
 * Absent or empty means anonymous; unreadable is the client's error.
 */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || value.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"));
  } catch {
    throw new InvalidParameterError("invalid X-Registry-Auth header: it is not base64-encoded JSON");
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const auth = parsed as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof auth[k] === "string" && auth[k] !== "" ? (auth[k] as string) : undefined);
  const creds: RegistryCredentials = {
    username: str("username"),
    password: str("password"),
    identityToken: str("identitytoken"),
    registryToken: str("registrytoken"),
  };
  return Object.values(creds).some((v) => v !== undefined) ? creds : undefined;
}
