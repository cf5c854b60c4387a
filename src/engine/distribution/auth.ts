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
 * A request header carrying base64url (or plain base64) JSON, as docker's X-Registry-Auth and
 * X-Registry-Config are. Absent or empty is undefined; unreadable is the client's error.
 */
export function decodeJsonHeader(header: string | string[] | undefined, name: string): unknown {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || value.trim() === "") return undefined;
  try {
    return JSON.parse(Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as unknown;
  } catch {
    throw new InvalidParameterError(`invalid ${name} header: it is not base64-encoded JSON`);
  }
}

/**
 * docker's AuthConfig object as credentials; undefined when it carries none. With
 * `readAuthField`, `auth` (base64 "user:password") stands in for a missing username and password.
 */
export function credentialsOf(raw: unknown, readAuthField = false): RegistryCredentials | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const auth = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof auth[k] === "string" && auth[k] !== "" ? (auth[k] as string) : undefined);
  let username = str("username");
  let password = str("password");
  const encoded = str("auth");
  if (readAuthField && encoded && username === undefined && password === undefined) {
    const plain = Buffer.from(encoded, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon > 0) {
      username = plain.slice(0, colon);
      password = plain.slice(colon + 1);
    }
  }
  const creds: RegistryCredentials = { username, password, identityToken: str("identitytoken"), registryToken: str("registrytoken") };
  return Object.values(creds).some((v) => v !== undefined) ? creds : undefined;
}

/** The API's X-Registry-Auth header: docker's AuthConfig; absent or empty means anonymous. */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  return credentialsOf(decodeJsonHeader(header, "X-Registry-Auth"));
}
