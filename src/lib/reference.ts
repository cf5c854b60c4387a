import { InvalidParameterError } from "./errors";
import { compileGlob, type GlobMatcher, GlobSyntaxError } from "./glob";

/**
 * Docker image references (the distribution "reference" grammar) and Docker's normalization:
 * `busybox` is docker.io/library/busybox, shown to users in its familiar form `busybox:latest`.
 * Error messages are Docker's, because clients and scripts match on them.
 */

export interface Reference {
  /** Registry host[:port], "docker.io" for Docker Hub. */
  domain: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  /** "algorithm:hex" as given (validated). */
  digest?: string;
}

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";
const NAME_TOTAL_LENGTH_MAX = 255;

// ---- the grammar (github.com/distribution/reference, regexp.go) ---------------------------
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_TAG_RE = new RegExp(`^${tagPat}$`);
const ANCHORED_IDENTIFIER_RE = /^[a-f0-9]{64}$/;

const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function invalid(message: string): InvalidParameterError {
  return new InvalidParameterError(message);
}

/** Validates "algorithm:hex" as go-digest does; returns it unchanged. */
export function parseDigest(value: string): string {
  const i = value.indexOf(":");
  if (i <= 0 || i === value.length - 1) throw invalid("invalid checksum digest format");
  const algorithm = value.slice(0, i);
  const hex = value.slice(i + 1);
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) {
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(algorithm)) throw invalid("invalid checksum digest format");
    throw invalid("unsupported digest algorithm");
  }
  if (hex.length !== length) throw invalid("invalid checksum digest length");
  if (!/^[a-f0-9]+$/.test(hex)) throw invalid("invalid checksum digest format");
  return value;
}

/** Parses a fully qualified reference ("domain/path[:tag][@digest]"), no normalization. */
export function parse(s: string): Reference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === "") throw invalid("repository name must have at least one component");
    if (REFERENCE_RE.test(s.toLowerCase())) throw invalid("repository name must be lowercase");
    throw invalid("invalid reference format");
  }
  const [, name, tag, digest] = m;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const nm = ANCHORED_NAME_RE.exec(name);
  if (!nm) throw invalid("invalid reference format");
  const ref: Reference = { domain: nm[1] ?? "", path: nm[2] };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = parseDigest(digest);
  return ref;
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf("/");
  let domain: string;
  let remainder: string;
  const first = i === -1 ? "" : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Docker's ParseNormalizedNamed: accepts familiar names ("busybox", "user/app:1",
 * "localhost:5000/app@sha256:...") and returns the fully qualified reference.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(":");
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const ref = parse(`${domain}/${remainder}`);
  if (!ref.domain && !ref.path) throw invalid(`reference ${s} has no name`);
  return ref;
}

export type AnyReference = { kind: "digest"; digest: string } | { kind: "named"; ref: Reference };

/**
 * Docker's ParseAnyReference: a 64-hex string or "sha256:<hex>" is an image id (digest
 * reference); anything else is a normalized name.
 */
export function parseAnyReference(s: string): AnyReference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) return { kind: "digest", digest: `sha256:${s}` };
  try {
    return { kind: "digest", digest: parseDigest(s) };
  } catch {
    // Not a complete digest: "sha256:abc" is then the name "sha256" with tag "abc", as in Docker.
  }
  return { kind: "named", ref: parseNormalizedNamed(s) };
}

/** "docker.io/library/busybox" */
export function fullName(ref: Reference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** "docker.io/library/busybox:latest@sha256:..." */
export function fullString(ref: Reference): string {
  return fullName(ref) + (ref.tag ? `:${ref.tag}` : "") + (ref.digest ? `@${ref.digest}` : "");
}

/** "busybox", "user/app", "localhost:5000/app" */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes("/")) return rest;
  }
  return ref.path;
}

/** "busybox:latest", "busybox@sha256:..." */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag ? `:${ref.tag}` : "") + (ref.digest ? `@${ref.digest}` : "");
}

export function isNameOnly(ref: Reference): boolean {
  return !ref.tag && !ref.digest;
}

/** Adds ":latest" to a reference that has neither tag nor digest. */
export function tagNameOnly(ref: Reference): Reference {
  return isNameOnly(ref) ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** The repository only (no tag, no digest). */
export function trimNamed(ref: Reference): Reference {
  return { domain: ref.domain, path: ref.path };
}

export function withTag(ref: Reference, tag: string): Reference {
  if (!ANCHORED_TAG_RE.test(tag)) throw invalid("invalid tag format");
  const out: Reference = { domain: ref.domain, path: ref.path, tag };
  if (ref.digest) out.digest = ref.digest;
  return out;
}

export function withDigest(ref: Reference, digest: string): Reference {
  const out: Reference = { domain: ref.domain, path: ref.path, digest: parseDigest(digest) };
  if (ref.tag) out.tag = ref.tag;
  return out;
}

/** Normalizes a familiar string to its fully qualified form with the default tag added. */
export function normalize(s: string): string {
  return fullString(tagNameOnly(parseNormalizedNamed(s)));
}

/** The familiar form of a fully qualified (or familiar) reference string. */
export function familiarize(s: string): string {
  return familiarString(parseNormalizedNamed(s));
}

/**
 * Docker's reference.FamiliarMatch: shell-glob `pattern` (path.Match syntax) against the
 * familiar string, then against the familiar name alone.
 */
export function familiarMatch(pattern: string, ref: Reference): boolean {
  const re = compileFilterGlob(pattern);
  return re.test(familiarString(ref)) || re.test(familiarName(ref));
}

/** Go's path.Match syntax; a malformed pattern is Docker's "syntax error in pattern". */
function compileFilterGlob(pattern: string): GlobMatcher {
  try {
    return compileGlob(pattern, { strict: true });
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw invalid("syntax error in pattern");
    throw err;
  }
}

/**
 * Docker's httputils.RepoTagReference for the API's `repo` + `tag` query pair (tag, import):
 * the tag parameter wins over one in `repo`; no tag means "latest"; digests are refused.
 * Returns undefined when `repo` is empty.
 */
export function repoTagReference(repo: string, tag: string): Reference | undefined {
  if (repo === "") return undefined;
  const ref = parseNormalizedNamed(repo);
  if (ref.digest) throw invalid("cannot import digest reference");
  if (tag !== "") return withTag(ref, tag);
  return tagNameOnly(ref);
}
