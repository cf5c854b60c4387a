import { registryDomain } from "../../lib/registry-domain";
import { credentialsOf, decodeJsonHeader, type RegistryCredentials } from "../distribution/auth";

/**
 * POST /build's X-Registry-Config header: base64 (or base64url) JSON of registry address →
 * docker's AuthConfig, as the docker CLI sends every credential it has for a classic build.
 * Returned by registry domain (Docker Hub's addresses all mean docker.io); `auth` (base64
 * "user:password") is read as docker does when username/password are absent.
 */
export function decodeRegistryConfig(header: string | string[] | undefined): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  const parsed = decodeJsonHeader(header, "X-Registry-Config");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return out;
  for (const [address, raw] of Object.entries(parsed as Record<string, unknown>)) {
    const creds = credentialsOf(raw, true);
    if (creds) out.set(registryDomain(address), creds);
  }
  return out;
}
