/**
 * How build secrets (RUN --mount=type=secret) travel from the wharf CLI to the daemon: one
 * request header of POST /build, base64 of JSON {id: base64(value)}. A header keeps them out of
 * the context upload (so out of the context dir, its hash and the cache keys); the daemon never
 * logs request headers. Node's 16 KiB header limit bounds their total size (MAX_SECRETS_HEADER).
 */
export const SECRETS_HEADER = "x-wharf-build-secrets";
export const MAX_SECRETS_HEADER = 12 * 1024;

export function encodeBuildSecrets(secrets: Map<string, Buffer>): string {
  const obj: Record<string, string> = {};
  for (const [id, value] of secrets) obj[id] = value.toString("base64");
  return Buffer.from(JSON.stringify(obj)).toString("base64");
}

/** Throws (a message without any secret in it) when the header is not what encodeBuildSecrets makes. */
export function decodeBuildSecrets(header: string | string[] | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, "base64").toString("utf8"));
  } catch {
    throw new Error(`invalid ${SECRETS_HEADER} header: not base64-encoded JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`invalid ${SECRETS_HEADER} header: not a JSON object`);
  for (const [id, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== "string" || !/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`invalid ${SECRETS_HEADER} header: bad entry for a secret id`);
    out.set(id, Buffer.from(v, "base64"));
  }
  return out;
}
