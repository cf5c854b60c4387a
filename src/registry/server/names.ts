/** What the distribution spec allows as repository names, tags and digests. */
import { RegistryError } from "./errors";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Algorithms whose blobs this registry can verify, with their hex lengths. */
const ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export const NAME_MAX = 255;

export function validName(name: string): boolean {
  return name.length <= NAME_MAX && NAME_RE.test(name);
}

export function assertName(name: string): string {
  if (!validName(name)) throw new RegistryError("NAME_INVALID", "invalid repository name", { name });
  return name;
}

export function isTag(ref: string): boolean {
  return TAG_RE.test(ref);
}

export interface ParsedDigest {
  digest: string;
  algorithm: "sha256" | "sha512";
  hex: string;
}

/** Parses "alg:hex"; null when it is not a digest this registry can check. */
export function parseDigest(value: string): ParsedDigest | null {
  const m = DIGEST_RE.exec(value);
  if (!m) return null;
  const [, algorithm, hex] = m;
  const len = ALGORITHMS[algorithm];
  if (len === undefined || hex.length !== len || !/^[a-f0-9]+$/.test(hex)) return null;
  return { digest: value, algorithm: algorithm as "sha256" | "sha512", hex };
}

export function assertDigest(value: string | null | undefined, code: "DIGEST_INVALID" = "DIGEST_INVALID"): ParsedDigest {
  const d = value ? parseDigest(value) : null;
  if (!d) throw new RegistryError(code, "invalid digest", { digest: value ?? null });
  return d;
}

export function looksLikeDigest(ref: string): boolean {
  return ref.includes(":");
}
