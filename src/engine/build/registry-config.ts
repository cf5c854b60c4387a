import { InvalidParameterError } from "../../lib/errors";
import { registryDomain } from "../../lib/registry-domain";
import type { RegistryCredentials } from "../distribution/auth";

/**
 * POST /build's X-Registry-Config header: base64 (or base64url) JSON of registry address →
 * docker's AuthConfig, as the docker CLI sends every credential it has for a classic build.
 * Returned by registry domain (Docker Hub's addresses all mean docker.io); `auth` (base64
 * "user:password") is read as docker does when username/password are absent.
 */
export function decodeRegistryConfig(header: string | string[] | undefined): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || value.trim() === "") return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"));
  } catch {
    throw new InvalidParameterError("invalid X-Registry-Config header: it is not base64-encoded JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return out;
  for (const [address, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) continue;
    const auth = raw as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof auth[k] === "string" && auth[k] !== "" ? (auth[k] as string) : undefined);
    let username = str("username");
    let password = str("password");
    const encoded = str("auth");
    if (encoded && username === undefined && password === undefined) {
      const plain = Buffer.from(encoded, "base64").toString("utf8");
      const colon = plain.indexOf(":");
      if (colon > 0) {
        username = plain.slice(0, colon);
        password = plain.slice(colon + 1);
      }
    }
    const creds: RegistryCredentials = { username, password, identityToken: str("identitytoken"), registryToken: str("registrytoken") };
    if (Object.values(creds).some((v) => v !== undefined)) out.set(registryDomain(address), creds);
  }
  return out;
}
